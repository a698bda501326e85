// Endpoint state derived from config: capacity from the catalog (or measured throughput).
import { kAcceleratorCatalog, type AcceleratorSpec } from './catalog.js';
import type { EndpointConfig, MeshConfig } from './config.js';

/** An endpoint as the balancers see it. */
export interface Endpoint {
  readonly id: string;
  readonly address: string;
  readonly zone: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly accelerator: string;
  readonly count: number;
  /** Capacity units: measured throughput, else count x the catalog's per-device capacity. */
  readonly capacity: number;
  /** Memory of one device, GiB (config, else the catalog). */
  readonly memoryGiB: number;
  /** Most in-flight cost it takes (admission control); Infinity when unlimited. */
  readonly maxInflight: number;
  /** Most requests in flight at once (circuit breaker); Infinity when unlimited. */
  readonly maxRequests: number;
  /** Models and adapters ("base:adapter") it serves; every model when undefined. */
  readonly models: readonly string[] | undefined;
}

/** What a request needs from an endpoint. */
export interface Requirements {
  /** Accepted accelerator types; any when absent. */
  accelerator?: readonly string[];
  /** Least device memory, GiB. */
  minMemoryGiB?: number;
}

export function catalogOf(config: Readonly<MeshConfig>): Readonly<Record<string, AcceleratorSpec>> {
  const extra = Object.fromEntries(Object.entries(config.catalog ?? {}).map(([k, v]) => [k, { ...v, source: 'mesh config' }]));
  return { ...kAcceleratorCatalog, ...extra };
}

export function endpointOf(e: EndpointConfig, catalog: Readonly<Record<string, AcceleratorSpec>>): Endpoint {
  const spec = catalog[e.resources.accelerator]!;
  return Object.freeze({
    id: e.id,
    address: e.address,
    zone: e.zone,
    labels: Object.freeze({ ...(e.labels ?? {}) }),
    accelerator: e.resources.accelerator,
    count: e.resources.count,
    capacity: e.resources.throughput ?? e.resources.count * spec.capacity,
    memoryGiB: e.resources.memoryGiB ?? spec.memoryGiB,
    maxInflight: e.maxInflight ?? Infinity,
    maxRequests: e.maxRequests ?? Infinity,
    models: e.models ? Object.freeze([...e.models]) : undefined,
  });
}

export function meets(e: Endpoint, r: Requirements | undefined): boolean {
  if (!r) return true;
  if (r.accelerator && !r.accelerator.includes(e.accelerator)) return false;
  return r.minMemoryGiB === undefined || e.memoryGiB >= r.minMemoryGiB;
}
