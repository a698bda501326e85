// The Wasm engine of Maglev (assembly/maglev.ts): the table lives in the core's memory.
import { encodeKey, unitsOf } from '../keys.js';
import { lookupInWindows } from '../stagedKeys.js';
import { heapI32, heapU32, heapU8, scratch, wasmCore, type CoreExports } from '../wasm.js';
import type { MaglevNode, MaglevTable } from './MaglevTable.js';

const registry = new FinalizationRegistry<{ table: number }>((p) => {
  if (p.table) wasmCore().free(p.table);
});

export class WasmMaglevTable implements MaglevTable {
  readonly #core: CoreExports;
  readonly #owned = { table: 0 };
  #m = 0;
  #empty = true;
  readonly #token = {};

  constructor() {
    this.#core = wasmCore();
    registry.register(this, this.#owned, this.#token);
  }

  build(nodes: readonly MaglevNode[], m: number, maxWeight: number): void {
    const core = this.#core;
    if (m !== this.#m) {
      const table = core.alloc(m * 4);
      if (this.#owned.table) core.free(this.#owned.table);
      this.#owned.table = table;
      this.#m = m;
    }
    // Scratch: specs (12 bytes a node), weights (8), state (24), a byte per entry (taken), then the ids.
    const n = nodes.length;
    const idBytes = nodes.reduce((sum, x) => sum + x.bytes.length, 0);
    const bitBytes = (m + 7) & ~7;
    const base = scratch(n * 44 + bitBytes + idBytes + 8);
    const specs = base, weights = base + n * 12 + (n * 12 % 8 ? 4 : 0), state = weights + n * 8, bits = state + n * 24, ids = bits + bitBytes;
    const u32 = heapU32(), u8 = heapU8(), f64 = new Float64Array(u8.buffer, weights, n);
    let at = 0;
    nodes.forEach((x, i) => {
      u32[(specs >>> 2) + i * 3] = x.slot;
      u32[(specs >>> 2) + i * 3 + 1] = at;
      u32[(specs >>> 2) + i * 3 + 2] = x.bytes.length;
      u8.set(x.bytes, ids + at);
      at += x.bytes.length;
      f64[i] = x.weight;
    });
    core.maglevBuild(specs, ids, weights, n, m, maxWeight, this.#owned.table, state, bits);
    this.#empty = n === 0;
  }

  indexOf(key: string): number {
    const ptr = scratch(key.length * 3 + 8);
    const len = encodeKey(key, heapU8(), ptr);
    return this.#core.maglevIndex(this.#m, ptr, len);
  }

  lookupKey(key: string): number {
    if (this.#empty) return -1;
    const ptr = scratch(key.length * 3 + 8);
    const len = encodeKey(key, heapU8(), ptr);
    return this.#core.maglevLookupKey(this.#owned.table, this.#m, ptr, len);
  }

  lookupKeys(keys: readonly string[], out: Int32Array): void {
    if (this.#empty) {
      unitsOf(keys);
      return void out.fill(-1, 0, keys.length);
    }
    lookupInWindows(keys, out, (k, n) => this.#core.maglevLookupKeys(this.#owned.table, this.#m, k.bytes, k.offsets, n, k.out));
  }

  lookupHashed(hashes: BigUint64Array, out: Int32Array): void {
    const n = hashes.length;
    if (this.#empty) return void out.fill(-1, 0, n);
    const ptr = scratch(n * 12 + 8);
    new BigUint64Array(heapU8().buffer, ptr, n).set(hashes);
    const outPtr = ptr + n * 8;
    this.#core.maglevLookupHashed(this.#owned.table, this.#m, ptr, n, outPtr);
    out.set(heapI32().subarray(outPtr >>> 2, (outPtr >>> 2) + n));
  }

  slots(): Int32Array {
    return heapI32().slice(this.#owned.table >>> 2, (this.#owned.table >>> 2) + this.#m);
  }

  dispose(): void {
    registry.unregister(this.#token);
    if (this.#owned.table) this.#core.free(this.#owned.table);
    this.#owned.table = 0;
  }
}
