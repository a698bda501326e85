// The endpoints that may take a request (the filters' output) and what the scorers know of each,
// in arrays reused from decision to decision (no allocation on the route path).
import type { Endpoint } from '../endpoints.js';

export class Candidates {
  n = 0;
  readonly endpoints: Endpoint[] = [];
  /** Blocks of the prompt each one holds cached. */
  matched = new Float64Array(16);
  /** In-flight tokens, on an average endpoint's scale (tokens x mean capacity / its capacity). */
  load = new Float64Array(16);
  /** Requests waiting: the engine's report when fresh, else the router's requests in flight there. */
  queue = new Float64Array(16);
  /** Share of the KV cache in use from the engine's report; NaN when unknown. */
  kvUsage = new Float64Array(16);
  /** ttft: tokens ahead of the prompt plus its uncached ones, and the predicted TTFT, ms. */
  tokens = new Float64Array(16);
  ttft = new Float64Array(16);

  reset(capacity: number): void {
    this.n = 0;
    if (this.matched.length >= capacity) return;
    const size = capacity * 2;
    for (const k of ['matched', 'load', 'queue', 'kvUsage', 'tokens', 'ttft'] as const) this[k] = new Float64Array(size);
  }

  /** The candidate with the highest value of `by` (ties: lower load, then earlier). */
  best(by: Float64Array): number {
    let best = -1;
    for (let i = 0; i < this.n; i++) if (best < 0 || by[i]! > by[best]! || (by[i] === by[best] && this.load[i]! < this.load[best]!)) best = i;
    return best;
  }

  /** The candidate with the lowest value of `by` (ties: more cached, then earlier). */
  least(by: Float64Array): number {
    let best = -1;
    for (let i = 0; i < this.n; i++) if (best < 0 || by[i]! < by[best]! || (by[i] === by[best] && this.matched[i]! > this.matched[best]!)) best = i;
    return best;
  }
}

/** What the deciders know of the prompt. */
export interface PromptShape {
  /** Full blocks of the prompt (0: no prompt, or shorter than a block). */
  blocks: number;
  /** Its tokens (estimated for text). */
  tokens: number;
  tokensPerBlock: number;
}

/** A decision: a candidate's index, or -1 for a cold miss (the bounded-load ring decides), and why. */
export interface Decision {
  index: number;
  reason: string;
}
