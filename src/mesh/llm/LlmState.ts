// What a prefix-cache or ttft service knows of its engines beyond one config snapshot: their
// caches (PrefixTracker), their TTFT fits, and their latest load reports.
import type { EngineName } from '../../core/options.js';
import type { Endpoint } from '../endpoints.js';
import { PrefixTracker } from './PrefixTracker.js';
import type { PrefixSettings, TtftSettings } from './settings.js';
import { TtftFit } from './TtftFit.js';

/** An engine's own report of its load, as kept. */
export interface EngineReport {
  queueLength: number;
  kvUsage: number;
  at: number;
}

/** A report older than this (ms) is not used: the engine's state has moved on. */
export const kReportStaleMs = 5_000;

export class LlmState {
  tracker: PrefixTracker;
  readonly #fits = new Map<string, TtftFit>();
  readonly #reports = new Map<string, EngineReport>();

  constructor(prefix: PrefixSettings, engine: EngineName, clock: () => number) {
    this.tracker = new PrefixTracker(prefix, engine, clock);
  }

  /** The endpoint's TTFT fit, started from the catalog on first use. */
  fit(e: Endpoint, s: TtftSettings): TtftFit {
    let fit = this.#fits.get(e.id);
    if (!fit) this.#fits.set(e.id, (fit = new TtftFit(s.baseMs, 1000 / (e.capacity * s.prefillRate))));
    return fit;
  }

  fitOf(id: string): TtftFit | undefined {
    return this.#fits.get(id);
  }

  setReport(id: string, queueLength: number, kvUsage: number, at: number): void {
    this.#reports.set(id, { queueLength, kvUsage, at });
  }

  /** The endpoint's report, if fresh at `now`. */
  report(id: string, now: number): EngineReport | undefined {
    const r = this.#reports.get(id);
    return r && now - r.at <= kReportStaleMs ? r : undefined;
  }

  /** Forgets endpoints no longer in the service. */
  keep(ids: ReadonlySet<string>): void {
    for (const id of this.#fits.keys()) if (!ids.has(id)) this.#fits.delete(id);
    for (const id of this.#reports.keys()) if (!ids.has(id)) this.#reports.delete(id);
  }

  dispose(): void {
    this.tracker.dispose();
  }
}
