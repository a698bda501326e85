// The engine interface of a PrefixIndex: slots (endpoints) holding chain-hashed KV blocks in LRU
// order with a TTL. WasmPrefixTable runs assembly/prefixIndex.ts; TsPrefixTable is its twin, with
// identical results for identical calls (test/core/prefixIndex.test.ts checks it on random
// operation sequences).
//
// A table owns a buffer of block hashes, the "current chain": hash*() fills it, match() and
// record() read it. A route hashes once, matches, and records its pick from the same buffer.

/** How a prompt is cut into blocks and seeded (see promptBlocks). */
export interface Cutting {
  /** Characters a block of text holds. */
  readonly blockChars: number;
  /** Token ids a block of a Uint32Array prompt holds. */
  readonly blockTokens: number;
}

export interface PrefixTable {
  /** Sets the blocks a slot holds at most; 0 frees the slot and drops its blocks. */
  setCapacity(slot: number, blocks: number): void;
  /** Blocks the slot holds at `now` (expired ones dropped first). */
  count(slot: number, now: number): number;
  /** Hashes a prompt into the current chain (at most `max` blocks); returns how many. */
  hashPrompt(prompt: string | Uint32Array, cutting: Cutting, seed: bigint, max: number): number;
  /** Makes `blocks` the current chain. */
  setChain(blocks: ArrayLike<bigint>): number;
  /** Hashes a prompt, then match(); one call into the core. Returns the chain's length. */
  hashAndMatch(prompt: string | Uint32Array, cutting: Cutting, seed: bigint, max: number, now: number, out: Uint32Array, slots: number): number;
  /** For each slot below `slots`, the leading blocks of the first `n` of the chain it holds, into out[slot]; returns the most. */
  match(n: number, now: number, out: Uint32Array, slots: number): number;
  /** The slot holds the chain's first `n` blocks, touched at `now`. */
  record(slot: number, n: number, now: number): void;
  /** The slot no longer holds the chain's first `n` blocks. */
  remove(slot: number, n: number): void;
  /** The low 32 bits of the chain's i-th hash (no allocation). */
  word(i: number): number;
  /** The chain's first `n` hashes (a copy). */
  chain(n: number): BigUint64Array;
  /** Bytes the table takes (Wasm: exact; the twin: an estimate of its Maps). */
  bytes(): number;
  dispose(): void;
}
