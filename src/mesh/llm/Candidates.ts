// The endpoints that may take a request (the filters' output) and what the scorers know of each,
// in arrays reused from decision to decision (no allocation on the route path).
import type { Endpoint } from '../endpoints.js';

export class Candidates {
  n = 0;
  readonly endpoints: Endpoint[] = [];
  /** Blocks of the prompt each one holds cached. */
  matched = new Float64Array(16);
  /**
   * In-flight tokens, on an average endpoint's scale (tokens x mean capacity / its capacity); the
   * filter writes each one's tokens as they are and the scores rescale them.
   */
  load = new Float64Array(16);
  /** Requests waiting: the engine's report when fresh, else the router's requests in flight there. */
  queue = new Float64Array(16);
  /** Share of the KV cache in use from the engine's report; NaN when unknown. */
  kvUsage = new Float64Array(16);
  /** ttft: tokens ahead of the prompt plus its uncached ones, and the predicted TTFT, ms. */
  tokens = new Float64Array(16);
  ttft = new Float64Array(16);
  /** A hash of each one's id (the same in every router): rendezvous hashing's input. */
  idHash = new Float64Array(16);

  reset(capacity: number): void {
    this.n = 0;
    if (this.matched.length >= capacity) return;
    const size = capacity * 2;
    for (const k of ['matched', 'load', 'queue', 'kvUsage', 'tokens', 'ttft', 'idHash'] as const) this[k] = new Float64Array(size);
  }

  /** The candidate with the highest value of `by` (ties: lower load, then earlier). */
  best(by: Float64Array): number {
    let best = -1;
    for (let i = 0; i < this.n; i++) if (best < 0 || by[i]! > by[best]! || (by[i] === by[best] && this.load[i]! < this.load[best]!)) best = i;
    return best;
  }

  /**
   * Among the candidates whose `by` equals `value`, the one weighted rendezvous hashing on `key`
   * ranks first (Thaler and Ravishankar; weight: capacity), or its second when the first carries
   * more than `margin` beyond it. Every router given the same key and the same tied set ranks them
   * alike, whatever it saw before.
   */
  rendezvous(by: Float64Array, value: number, key: number, margin: number): number {
    let a = -1, b = -1, sa = Infinity, sb = Infinity;
    for (let i = 0; i < this.n; i++) {
      if (by[i] !== value) continue;
      const u = (fmix32((key ^ this.idHash[i]!) >>> 0) + 0.5) / 4294967296;
      const score = -Math.log(u) / this.endpoints[i]!.capacity;
      if (score < sa) [b, sb, a, sa] = [a, sa, i, score];
      else if (score < sb) [b, sb] = [i, score];
    }
    return b >= 0 && this.load[a]! - this.load[b]! > margin ? b : a;
  }

  /** The candidate with the lowest value of `by` (ties: more cached, then earlier). */
  least(by: Float64Array): number {
    let best = -1;
    for (let i = 0; i < this.n; i++) if (best < 0 || by[i]! < by[best]! || (by[i] === by[best] && this.matched[i]! > this.matched[best]!)) best = i;
    return best;
  }
}

/** murmur3's 32-bit finalizer: a well-mixed u32 of a u32. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** What the deciders know of the prompt. */
export interface PromptShape {
  /** Full blocks of the prompt (0: no prompt, or shorter than a block). */
  blocks: number;
  /** Its tokens (estimated for text). */
  tokens: number;
  tokensPerBlock: number;
  /** Low 32 bits of the hash of the first block the best match lacks (its last block when it has them all). */
  divergence: number;
}

/** A decision: a candidate's index, or -1 for a cold miss (the bounded-load ring decides), and why. */
export interface Decision {
  index: number;
  reason: string;
}
