// What a router sees of the engines: their metrics as vLLM exports them
// (vllm:num_requests_waiting, vllm:num_requests_running, vllm:kv_cache_usage_perc,
// vllm:prefix_cache_hits / _queries), sampled every scrape interval, so a value is as old as the
// last scrape and stale past a limit, not the simulator's truth.
import type { Engine } from './Engine.js';

/** One engine's metrics as last scraped. */
export interface EngineSample {
  waiting: number;
  running: number;
  /** Fraction of the KV cache in use. */
  kvUsage: number;
  prefixHits: number;
  prefixQueries: number;
  /** When it was scraped, seconds. */
  at: number;
}

export class MetricsScraper {
  readonly #engines: readonly Engine[];
  readonly #samples: EngineSample[];
  readonly intervalS: number;
  readonly staleS: number;
  /** When the next scrape is due. */
  next: number;
  /** Mean KV usage over the scrapes, per engine (for the results). */
  readonly kvUsageSum: Float64Array;
  /** Requests waiting or running, summed over engines and scrapes (Little's L, over scrapes). */
  inSystemSum = 0;
  scrapes = 0;

  constructor(engines: readonly Engine[], intervalS: number, staleS: number) {
    this.#engines = engines;
    this.intervalS = intervalS;
    this.staleS = staleS;
    this.next = intervalS;
    this.#samples = engines.map(() => ({ waiting: 0, running: 0, kvUsage: 0, prefixHits: 0, prefixQueries: 0, at: -Infinity }));
    this.kvUsageSum = new Float64Array(engines.length);
  }

  /** Whether a scrape comes before `at`. */
  due(at: number): boolean {
    return this.next <= at;
  }

  /** Samples every engine at `now`. */
  scrape(now: number): void {
    this.#engines.forEach((e, i) => {
      const s = this.#samples[i]!;
      s.waiting = e.waiting;
      s.running = e.running;
      s.kvUsage = e.kvUsage;
      s.prefixHits = e.prefixHits;
      s.prefixQueries = e.prefixQueries;
      s.at = now;
      this.kvUsageSum[i]! += e.kvUsage;
      this.inSystemSum += e.waiting + e.running;
    });
    this.scrapes++;
    this.next = now + this.intervalS;
  }

  /** An engine's last sample, its age at `now`, and whether it is stale. */
  read(index: number, now: number): { sample: EngineSample; ageS: number; stale: boolean } {
    const sample = this.#samples[index]!;
    const ageS = now - sample.at;
    return { sample, ageS, stale: ageS > this.staleS };
  }
}
