// The Wasm engine of a HashRing in Envoy's mode (assembly/envoyRing.ts): positions and slots in
// the core's memory.
import { encodeKey, unitsOf } from '../keys.js';
import { lookupInWindows } from '../stagedKeys.js';
import { heapI32, heapU32, heapU8, scratch, wasmCore, type CoreExports } from '../wasm.js';
import type { EnvoyNode, EnvoyRingTable } from './EnvoyRingTable.js';

interface Owned {
  pos: number;
  slot: number;
  /** The lookups' bucket index (assembly/envoyRing.ts, envoyRingIndexBuild). */
  index: number;
}

function freeOwned(core: CoreExports, p: Owned): void {
  if (p.pos) core.free(p.pos);
  if (p.slot) core.free(p.slot);
  if (p.index) core.free(p.index);
  p.pos = p.slot = p.index = 0;
}

const registry = new FinalizationRegistry<Owned>((p) => freeOwned(wasmCore(), p));

/**
 * Bits of the bucket index for `count` points: about a bucket a point (a search of a bucket is a
 * point or two), at most 2^20 buckets (4 MB) for Envoy's largest rings of 8M points.
 */
const indexBits = (count: number) => Math.min(20, Math.max(1, Math.ceil(Math.log2(Math.max(2, count)))));

export class WasmEnvoyRing implements EnvoyRingTable {
  readonly #core: CoreExports;
  readonly #owned: Owned = { pos: 0, slot: 0, index: 0 };
  #count = 0;
  #bits = 1;
  readonly #token = {};

  constructor() {
    this.#core = wasmCore();
    registry.register(this, this.#owned, this.#token);
  }

  get count(): number {
    return this.#count;
  }

  build(nodes: readonly EnvoyNode[], scale: number): void {
    const core = this.#core;
    const cap = Math.ceil(scale) + nodes.length + 1;
    // The index sized for the most points the ring may have (cap), allocated with the points.
    const bits = indexBits(cap);
    const pos = core.alloc(cap * 8), slot = core.alloc(cap * 4), index = core.alloc(((1 << bits) + 1) * 4);
    // Scratch: specs (12 a node), weights (8), the point key (id + "_" + 20 digits), the sort's temporaries and counts.
    const n = nodes.length;
    const idBytes = nodes.reduce((sum, x) => sum + x.bytes.length, 0);
    const maxId = nodes.reduce((m, x) => Math.max(m, x.bytes.length), 0);
    const specsAt = 0, weightsAt = (n * 12 + 7) & ~7, keyAt = weightsAt + n * 8, idsAt = keyAt + ((maxId + 32 + 7) & ~7);
    const tposAt = (idsAt + idBytes + 7) & ~7, tslotAt = tposAt + cap * 8, countsAt = tslotAt + ((cap * 4 + 7) & ~7);
    const base = scratch(countsAt + 65536 * 4);
    const u32 = heapU32(), u8 = heapU8(), f64 = new Float64Array(u8.buffer, base + weightsAt, n);
    let at = 0;
    nodes.forEach((x, i) => {
      u32[((base + specsAt) >>> 2) + i * 3] = x.slot;
      u32[((base + specsAt) >>> 2) + i * 3 + 1] = at;
      u32[((base + specsAt) >>> 2) + i * 3 + 2] = x.bytes.length;
      u8.set(x.bytes, base + idsAt + at);
      at += x.bytes.length;
      f64[i] = x.weight;
    });
    const count = core.envoyRingBuild(base + specsAt, base + idsAt, base + weightsAt, n, scale, pos, slot, base + keyAt, base + tposAt, base + tslotAt, base + countsAt);
    core.envoyRingIndexBuild(pos, count, index, bits);
    freeOwned(core, this.#owned);
    Object.assign(this.#owned, { pos, slot, index });
    this.#count = count;
    this.#bits = bits;
  }

  indexOfKey(key: string): number {
    if (this.#count === 0) return -1;
    const ptr = scratch(key.length * 3 + 8);
    const len = encodeKey(key, heapU8(), ptr);
    return this.#core.envoyRingKeyIndex(this.#owned.pos, this.#count, this.#owned.index, this.#bits, ptr, len);
  }

  indexOfHash(hash: bigint): number {
    return this.#count === 0 ? -1 : this.#core.envoyRingIndex(this.#owned.pos, this.#count, this.#owned.index, this.#bits, hash);
  }

  lookupKeys(keys: readonly string[], out: Int32Array): void {
    if (this.#count === 0) {
      unitsOf(keys);
      return void out.fill(-1, 0, keys.length);
    }
    lookupInWindows(keys, out, (k, n) => this.#core.envoyRingLookupKeys(this.#owned.pos, this.#owned.slot, this.#count, this.#owned.index, this.#bits, k.bytes, k.offsets, n, k.out));
  }

  lookupHashed(hashes: BigUint64Array, out: Int32Array): void {
    const n = hashes.length;
    if (this.#count === 0) return void out.fill(-1, 0, n);
    const ptr = scratch(n * 12 + 8);
    new BigUint64Array(heapU8().buffer, ptr, n).set(hashes);
    const outPtr = ptr + n * 8;
    this.#core.envoyRingLookupHashed(this.#owned.pos, this.#owned.slot, this.#count, this.#owned.index, this.#bits, ptr, n, outPtr);
    out.set(heapI32().subarray(outPtr >>> 2, (outPtr >>> 2) + n));
  }

  points(): { pos: BigUint64Array; slot: Int32Array } {
    const buffer = heapU8().buffer;
    return { pos: new BigUint64Array(buffer, this.#owned.pos, this.#count).slice(), slot: new Int32Array(buffer, this.#owned.slot, this.#count).slice() };
  }

  dispose(): void {
    registry.unregister(this.#token);
    freeOwned(this.#core, this.#owned);
  }
}
