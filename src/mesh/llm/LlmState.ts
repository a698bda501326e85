// What a prefix-cache or ttft service knows of its engines beyond one config snapshot: their
// caches (PrefixTracker), their TTFT fits, and their latest load reports.
import type { EngineName } from '../../core/options.js';
import type { Endpoint } from '../endpoints.js';
import { PrefixTracker } from './PrefixTracker.js';
import type { PrefixSettings, TtftSettings } from './settings.js';
import { TtftFit } from './TtftFit.js';
import type { EngineReport, EngineReports } from '../EngineReports.js';


export class LlmState {
  tracker: PrefixTracker;
  readonly #fits = new Map<string, TtftFit>();
  /** The service's engine reports (the mesh's, shared with the filters). */
  engines: EngineReports | undefined;

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

  /** The endpoint's report, if fresh at `now`. */
  report(id: string, now: number): EngineReport | undefined {
    return this.engines?.fresh(id, now);
  }

  /** Forgets endpoints no longer in the service. */
  keep(ids: ReadonlySet<string>): void {
    for (const id of this.#fits.keys()) if (!ids.has(id)) this.#fits.delete(id);
  }

  dispose(): void {
    this.tracker.dispose();
  }
}
