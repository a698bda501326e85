// Where budgets' buckets live: this process's memory, or Redis shared by every sidecar replica.
import { adjust, charge, type BucketShape, type GcraResult } from './gcra.js';

/** A store of GCRA buckets, keyed by tenant and model. */
export interface BudgetStore {
  /** Charges `tokens` when they fit (reserve) or moves the bucket by them, fit or not (adjust). `now`: the caller's clock, or undefined for the store's own. */
  update(key: string, tokens: number, mode: 'reserve' | 'adjust', shape: BucketShape, now?: number): Promise<GcraResult>;
  close(): Promise<void>;
}

// Buckets kept before the full ones are swept out.
const kSweepAt = 100_000;

/** Buckets in this process: exact for one sidecar, one budget per replica for several. */
export class LocalBudgetStore implements BudgetStore {
  readonly #tats = new Map<string, number>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  update(key: string, tokens: number, mode: 'reserve' | 'adjust', shape: BucketShape, now = this.#clock()): Promise<GcraResult> {
    const r = (mode === 'reserve' ? charge : adjust)(this.#tats.get(key), now, tokens, shape);
    if (r.ok) this.#tats.set(key, r.tat);
    if (this.#tats.size > kSweepAt) for (const [k, tat] of this.#tats) if (tat <= now) this.#tats.delete(k);
    return Promise.resolve(r);
  }

  async close(): Promise<void> {
    this.#tats.clear();
  }
}
