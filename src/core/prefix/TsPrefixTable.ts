// The TypeScript twin of assembly/prefixIndex.ts, written as the contract it implements rather
// than as its run tree: per slot, a Map of held blocks whose insertion order is the LRU order
// (first = least recent); a chain is touched last block first; removing a block removes the
// blocks that follow it (each block remembers the one before it in its chain). The same results
// as the core for the same calls (test/core/prefixIndex.test.ts).
import { prefixChainText, prefixChainTokens } from '../prefixHash.js';
import type { Cutting, PrefixTable } from './PrefixTable.js';

const encoder = new TextEncoder();

export class TsPrefixTable implements PrefixTable {
  readonly #ttl: number;
  // Per slot: capacity, and block hash -> stamp (ms, wrapping u32 like the core's).
  readonly #cap: number[] = [];
  // Per slot: block hash -> when touched (ms, wrapping u32 like the core's) and the block before it.
  readonly #held: Map<bigint, { stamp: number; parent: bigint | undefined }>[] = [];
  #chain: bigint[] = [];

  constructor(ttlMs: number) {
    this.#ttl = ttlMs;
  }

  setCapacity(slot: number, blocks: number): void {
    const held = (this.#held[slot] ??= new Map());
    for (const h of held.keys()) {
      if (held.size <= blocks) break;
      held.delete(h);
    }
    this.#cap[slot] = blocks;
  }

  count(slot: number, now: number): number {
    if (!this.#held[slot]) return 0;
    this.#expire(slot, now);
    return this.#held[slot]!.size;
  }

  hashPrompt(prompt: string | Uint32Array, cutting: Cutting, seed: bigint, max: number): number {
    this.#chain = typeof prompt === 'string' ? prefixChainText(encoder.encode(prompt), cutting.blockChars, seed, max) : prefixChainTokens(prompt, cutting.blockTokens, seed, max);
    return this.#chain.length;
  }

  setChain(blocks: ArrayLike<bigint>): number {
    this.#chain = Array.from(blocks);
    return this.#chain.length;
  }

  hashAndMatch(prompt: string | Uint32Array, cutting: Cutting, seed: bigint, max: number, now: number, out: Uint32Array, slots: number): number {
    const n = this.hashPrompt(prompt, cutting, seed, max);
    out[slots] = this.match(n, now, out, slots);
    return n;
  }

  match(n: number, now: number, out: Uint32Array, slots: number): number {
    let best = 0;
    for (let s = 0; s < slots; s++) {
      let k = 0;
      if ((this.#cap[s] ?? 0) !== 0 && n !== 0) {
        this.#expire(s, now);
        if (this.#held[s]!.size !== 0) k = this.#heldPrefix(this.#held[s]!, n);
      }
      out[s] = k;
      if (k > best) best = k;
    }
    return best;
  }

  record(slot: number, n: number, now: number): void {
    const cap = this.#cap[slot] ?? 0;
    if (cap === 0) return;
    this.#expire(slot, now);
    const held = this.#held[slot]!;
    for (let i = Math.min(n, cap) - 1; i >= 0; i--) {
      const h = this.#chain[i]!;
      if (!held.delete(h) && held.size >= cap) held.delete(held.keys().next().value!);
      held.set(h, { stamp: now >>> 0, parent: i ? this.#chain[i - 1] : undefined });
    }
  }

  remove(slot: number, n: number): void {
    const held = this.#held[slot];
    if (!held) return;
    for (let i = 0; i < n; i++) {
      if (!held.has(this.#chain[i]!)) continue;
      // The block, then whatever follows a removed block, until nothing does.
      const gone = new Set([this.#chain[i]!]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const [h, b] of held) if (!gone.has(h) && b.parent !== undefined && gone.has(b.parent)) grew = gone.add(h) !== undefined;
      }
      for (const h of gone) held.delete(h);
    }
  }

  word(i: number): number {
    return Number(this.#chain[i]! & 0xffffffffn);
  }

  chain(n: number): BigUint64Array {
    return BigUint64Array.from(this.#chain.slice(0, n));
  }

  bytes(): number {
    // V8 takes about 80 bytes a Map entry with a BigInt key.
    return this.#held.reduce((sum, held) => sum + (held?.size ?? 0) * 80, 0);
  }

  dispose(): void {}

  #expire(slot: number, now: number): void {
    if (this.#ttl === 0) return;
    const held = this.#held[slot]!;
    for (const [h, { stamp }] of held) {
      if (((now - stamp) >>> 0) <= this.#ttl) return;
      held.delete(h);
    }
  }

  // Blocks 0, 1, 3, 7, ... until one is missing, then bisection (assembly/prefixIndex.ts held()).
  #heldPrefix(held: Map<bigint, unknown>, n: number): number {
    let lo = 0, hi = n, probe = 0, step = 1;
    while (probe < n) {
      if (!held.has(this.#chain[probe]!)) {
        hi = probe;
        break;
      }
      lo = probe + 1;
      probe += step;
      step *= 2;
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (held.has(this.#chain[mid]!)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
