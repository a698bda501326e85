// What a service's engines last said of themselves (scraped from their metrics, or pushed with
// reportLoad): requests waiting and running, KV cache in use, LoRA adapters loaded. Each report
// has an age; past `staleMs` it is stale, a state of its own: routed around as saturated, or
// ignored (routed as if never reported), by the service's choice.
import type { ServiceConfig } from './config.js';

/** An engine's report as kept. NaN: not reported. */
export interface EngineReport {
  queueLength: number;
  running: number;
  kvUsage: number;
  /** LoRA adapters running and waiting (vllm:lora_requests_info), and how many it holds at once; undefined when not reported. */
  adapters: { running: readonly string[]; waiting: readonly string[]; max: number } | undefined;
  /** When it was reported (mesh clock, ms). */
  at: number;
}

/** How a service reads its engines' reports. */
export interface EngineSettings {
  staleMs: number;
  stale: 'saturated' | 'ignore';
  maxQueue: number;
  maxKvUsage: number;
  /** The sidecar scrapes this service: an endpoint never scraped since it joined is stale after staleMs too. */
  scraped: boolean;
  /**
   * The saturation filter runs: the service scrapes its engines or sets `engines`. Reports pushed
   * from code alone feed the policies' scores without it: at saturation every engine crosses the
   * thresholds in turn, and a filter that follows them herds requests away from their caches
   * (measured: shared-prefix at 160 req/s loses a third of its hit rate).
   */
  filter: boolean;
}

/** A report older than this (ms) is not used, unless the service says otherwise (engines.staleMs). */
export const kReportStaleMs = 5_000;

export function engineSettings(s: Readonly<ServiceConfig>): EngineSettings {
  const scraped = s.metrics !== undefined;
  const e = s.engines ?? {};
  return {
    staleMs: e.staleMs ?? (scraped ? Math.max(1000, 5 * (s.metrics?.intervalMs ?? 200)) : kReportStaleMs),
    stale: e.stale ?? 'saturated',
    maxQueue: e.maxQueue ?? 5,
    maxKvUsage: e.maxKvUsage ?? 0.8,
    scraped,
    filter: scraped || s.engines !== undefined,
  };
}

/** What the saturation filter and the LoRA affinity filter see of an endpoint now. */
export type EngineState = 'fresh' | 'stale' | 'unknown';

export class EngineReports {
  settings: EngineSettings;
  readonly #reports = new Map<string, EngineReport>();
  // When each endpoint joined (scraped services: the age of one never scraped).
  readonly #joined = new Map<string, number>();

  constructor(settings: EngineSettings) {
    this.settings = settings;
  }

  /** Whether any endpoint has reported, or the service is scraped: only then do the filters run. */
  get active(): boolean {
    return this.settings.scraped || this.#reports.size > 0;
  }

  /** Whether any endpoint has reported: until then a reader has nothing to look up. */
  get reported(): boolean {
    return this.#reports.size > 0;
  }

  set(id: string, report: Omit<EngineReport, 'at'>, at: number): void {
    this.#reports.set(id, { ...report, at });
  }

  /** The endpoint's state at `now`. */
  state(id: string, now: number): EngineState {
    const r = this.#reports.get(id);
    const since = r?.at ?? (this.settings.scraped ? this.#joined.get(id) : undefined);
    if (since === undefined) return 'unknown';
    if (now - since > this.settings.staleMs) return 'stale';
    return r ? 'fresh' : 'unknown';
  }

  /** The endpoint's report, if fresh at `now`. */
  fresh(id: string, now: number): EngineReport | undefined {
    const r = this.#reports.get(id);
    return r && now - r.at <= this.settings.staleMs ? r : undefined;
  }

  /** Requests waiting and running in the endpoint's report, if fresh at `now`. */
  queued(id: string, now: number): number | undefined {
    const r = this.fresh(id, now);
    if (!r) return undefined;
    return (Number.isNaN(r.queueLength) ? 0 : r.queueLength) + (Number.isNaN(r.running) ? 0 : r.running);
  }

  /** Above a threshold now, or stale when stale counts as saturated. */
  saturated(id: string, now: number): boolean {
    const state = this.state(id, now);
    if (state === 'stale') return this.settings.stale === 'saturated';
    if (state !== 'fresh') return false;
    const r = this.#reports.get(id)!;
    return r.queueLength > this.settings.maxQueue || r.kvUsage > this.settings.maxKvUsage;
  }

  /**
   * LoRA affinity tier for an adapter (llm-d's): 0 it is running or waiting there, 1 there is room
   * to load it, 2 neither or not known.
   */
  loraTier(id: string, adapter: string, now: number): 0 | 1 | 2 {
    const a = this.fresh(id, now)?.adapters;
    if (!a) return 2;
    if (a.running.includes(adapter) || a.waiting.includes(adapter)) return 0;
    return a.running.length + a.waiting.length < a.max ? 1 : 2;
  }

  /** The service's endpoints now: reports of others are forgotten, new ones start their age. */
  keep(ids: Iterable<string>, now: number): void {
    const live = new Set(ids);
    for (const id of live) if (!this.#joined.has(id)) this.#joined.set(id, now);
    for (const id of this.#joined.keys()) if (!live.has(id)) this.#joined.delete(id);
    for (const id of this.#reports.keys()) if (!live.has(id)) this.#reports.delete(id);
  }
}
