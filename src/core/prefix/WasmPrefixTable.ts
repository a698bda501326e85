// The Wasm engine of PrefixIndex (assembly/prefixIndex.ts). The current chain lives in a buffer
// of the core's memory that the table owns, so a route's hash, match and record read it in place.
import { heapU32, heapU8, scratch, wasmCore, type CoreExports } from '../wasm.js';
import type { Cutting, PrefixTable } from './PrefixTable.js';

const registry = new FinalizationRegistry<{ table: number; chain: number; out: number }>((p) => {
  const core = wasmCore();
  core.pixFree(p.table);
  core.free(p.chain);
  core.free(p.out);
});

const encoder = new TextEncoder();

export class WasmPrefixTable implements PrefixTable {
  readonly #core: CoreExports;
  readonly #owned: { table: number; chain: number; out: number };
  #chainCap = 0;
  #outCap = 0;
  readonly #token = {};

  constructor(ttlMs: number) {
    this.#core = wasmCore();
    this.#owned = { table: this.#core.pixNew(ttlMs), chain: 0, out: 0 };
    this.#reserve(512, 64);
    registry.register(this, this.#owned, this.#token);
  }

  // Grows the chain buffer (u64s) and the match output (u32s) to hold at least this many.
  #reserve(blocks: number, slots: number): void {
    if (blocks > this.#chainCap) {
      const cap = Math.max(blocks, this.#chainCap * 2);
      const ptr = this.#core.alloc(cap * 8);
      if (this.#owned.chain) this.#core.free(this.#owned.chain);
      this.#owned.chain = ptr;
      this.#chainCap = cap;
    }
    if (slots + 1 > this.#outCap) {
      const cap = Math.max(slots + 1, this.#outCap * 2);
      const ptr = this.#core.alloc(cap * 4);
      if (this.#owned.out) this.#core.free(this.#owned.out);
      this.#owned.out = ptr;
      this.#outCap = cap;
    }
  }

  setCapacity(slot: number, blocks: number): void {
    this.#core.pixSetCapacity(this.#owned.table, slot, blocks);
  }

  count(slot: number, now: number): number {
    return this.#core.pixCount(this.#owned.table, slot, now);
  }

  // Where #stage put the prompt: its pointer, its length (bytes of text, or token ids), and the most blocks it can make.
  #ptr = 0;
  #len = 0;
  #blocks = 0;
  // The scratch region as last viewed (a new view only when the region or the memory changed).
  #view: Uint8Array = new Uint8Array(0);

  // Copies the prompt into the scratch region.
  #stage(prompt: string | Uint32Array, cutting: Cutting, max: number): void {
    if (typeof prompt === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      this.#blocks = Math.min(max, Math.floor(prompt.length / cutting.blockChars) + 1);
      this.#reserve(this.#blocks, 0);
      const need = prompt.length * 3;
      this.#ptr = scratch(need);
      const heap = heapU8();
      if (this.#view.buffer !== heap.buffer || this.#view.byteOffset !== this.#ptr || this.#view.length < need) this.#view = heap.subarray(this.#ptr, this.#ptr + Math.max(need, 1 << 16));
      this.#len = encoder.encodeInto(prompt, this.#view).written;
      return;
    }
    this.#blocks = Math.min(max, Math.floor(prompt.length / cutting.blockTokens));
    this.#reserve(this.#blocks, 0);
    this.#ptr = scratch(prompt.byteLength);
    heapU8().set(new Uint8Array(prompt.buffer, prompt.byteOffset, prompt.byteLength), this.#ptr);
    this.#len = prompt.length;
  }

  hashPrompt(prompt: string | Uint32Array, cutting: Cutting, seed: bigint, max: number): number {
    this.#stage(prompt, cutting, max);
    return typeof prompt === 'string'
      ? this.#core.prefixChainText(this.#ptr, this.#len, cutting.blockChars, seed, this.#owned.chain, this.#blocks)
      : this.#core.prefixChainTokens(this.#ptr, this.#len, cutting.blockTokens, seed, this.#owned.chain, this.#blocks);
  }

  // Copies the match output (slots + extra u32s) out of the core's memory, without a view.
  #copyOut(out: Uint32Array, count: number): void {
    const heap = heapU32();
    const from = this.#owned.out >>> 2;
    for (let i = 0; i < count; i++) out[i] = heap[from + i]!;
  }

  setChain(blocks: ArrayLike<bigint>): number {
    this.#reserve(blocks.length, 0);
    const view = new BigUint64Array(this.#core.memory.buffer, this.#owned.chain, blocks.length);
    for (let i = 0; i < blocks.length; i++) view[i] = blocks[i]!;
    return blocks.length;
  }

  hashAndMatch(prompt: string | Uint32Array, cutting: Cutting, seed: bigint, max: number, now: number, out: Uint32Array, slots: number): number {
    this.#reserve(0, slots);
    this.#stage(prompt, cutting, max);
    const { table, chain, out: at } = this.#owned;
    const n = typeof prompt === 'string'
      ? this.#core.pixMatchText(table, this.#ptr, this.#len, cutting.blockChars, seed, chain, this.#blocks, now, at, slots)
      : this.#core.pixMatchTokens(table, this.#ptr, this.#len, cutting.blockTokens, seed, chain, this.#blocks, now, at, slots);
    this.#copyOut(out, slots + 1);
    return n;
  }

  match(n: number, now: number, out: Uint32Array, slots: number): number {
    this.#reserve(0, slots);
    const best = this.#core.pixMatch(this.#owned.table, this.#owned.chain, n, now, this.#owned.out, slots);
    this.#copyOut(out, slots);
    return best;
  }

  record(slot: number, n: number, now: number): void {
    this.#core.pixRecord(this.#owned.table, slot, this.#owned.chain, n, now);
  }

  remove(slot: number, n: number): void {
    this.#core.pixRemove(this.#owned.table, slot, this.#owned.chain, n);
  }

  word(i: number): number {
    return heapU32()[(this.#owned.chain >>> 2) + 2 * i]!;
  }

  chain(n: number): BigUint64Array {
    return new BigUint64Array(heapU8().buffer, this.#owned.chain, n).slice();
  }

  bytes(): number {
    return this.#core.pixBytes(this.#owned.table) + this.#chainCap * 8 + this.#outCap * 4;
  }

  dispose(): void {
    registry.unregister(this.#token);
    const { table, chain, out } = this.#owned;
    this.#core.pixFree(table);
    this.#core.free(chain);
    this.#core.free(out);
  }
}
