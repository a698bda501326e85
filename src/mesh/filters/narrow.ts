// The filters a request passes before its policy picks, in order:
//   model       endpoints that serve the model it names (hard: none serving it is UNKNOWN_MODEL)
//   saturation  endpoints whose engines are not saturated (queue or KV cache above thresholds, or
//               stale reports), unless all are; then a sheddable request (priority < 0) is shed
//   lora        for an adapter: endpoints running it, else with room to load it, else any
// Each narrows the `allowed` predicate the policy already honours; a service whose endpoints list
// no models and whose engines never reported skips them all.
import { show, WasmeshError } from '../../core/WasmeshError.js';
import type { Endpoint } from '../endpoints.js';
import type { EngineReports } from '../EngineReports.js';
import { adapterOf, serves } from './models.js';
import { preferTier, type Allowed } from './tiers.js';

/** What the filters read of a request. */
export interface FilterInput {
  service: string;
  model?: string | undefined;
  adapter?: string | undefined;
  priority?: number | undefined;
}

export function narrow(endpoints: ReadonlyMap<string, Endpoint>, allowed: Allowed, request: FilterInput, engines: EngineReports | undefined, modelled: boolean, now: number): Allowed {
  let adapter = request.adapter;
  if (modelled && request.model !== undefined) {
    const model = request.model;
    const base = allowed;
    allowed = (e) => serves(e.models, model) && (!base || base(e));
    let any = false;
    for (const e of endpoints.values()) if (serves(e.models, model)) (any = true), (adapter ??= adapterOf(e.models, model));
    if (!any) throw new WasmeshError('UNKNOWN_MODEL', `no endpoint of service ${show(request.service)} serves model ${show(model)}`);
  }
  if (!engines?.active) return allowed;
  if (!engines.settings.filter) return adapter === undefined ? allowed : preferTier(endpoints.values(), allowed, (e) => engines.loraTier(e.id, adapter, now)).allowed;
  const saturation = preferTier(endpoints.values(), allowed, (e) => (engines.saturated(e.id, now) ? 1 : 0));
  if (saturation.all && saturation.best === 1 && (request.priority ?? 0) < 0) {
    throw new WasmeshError('OVERLOADED', `shed: every eligible endpoint of service ${show(request.service)} is saturated and the request's priority is ${request.priority}`);
  }
  allowed = saturation.allowed;
  if (adapter !== undefined) allowed = preferTier(endpoints.values(), allowed, (e) => engines.loraTier(e.id, adapter, now)).allowed;
  return allowed;
}
