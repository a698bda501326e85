// The Wasm engine: a ring table in the core's linear memory (assembly/ring.ts). Each method
// copies its input into the shared scratch region, makes one call, and copies the result out:
// one boundary crossing per batch, never per key.
import { encodeKey } from '../keys.js';
import { lookupInWindows } from '../stagedKeys.js';
import type { HashMode } from '../hash.js';
import { heapI32, heapU32, heapU8, scratch, tieResolvers, wasmCore, type CoreExports } from '../wasm.js';
import type { LoadArrays, RingTable, TieBefore } from './RingTable.js';

// Frees a table's memory when its HashRing is collected without dispose().
const registry = new FinalizationRegistry<number>((ring) => {
  tieResolvers.delete(ring);
  wasmCore().ringFree(ring);
});

export class WasmRingTable implements RingTable {
  private readonly core: CoreExports;
  /** The table's address in the core's memory (assembly/layout.ts, Ring). */
  readonly ring: number;
  private readonly token = {};

  constructor(mode: HashMode, tieBefore: TieBefore) {
    this.core = wasmCore();
    this.ring = this.core.ringNew(mode);
    tieResolvers.set(this.ring, tieBefore);
    registry.register(this, this.ring, this.token);
  }

  get count(): number {
    return this.core.ringCount(this.ring);
  }

  insert(specs: Uint32Array, n: number, ids: Uint8Array): number {
    const specBytes = n * 16;
    const ptr = scratch(specBytes + ids.length);
    heapU32().set(specs.subarray(0, n * 4), ptr >>> 2);
    heapU8().set(ids, ptr + specBytes);
    return this.core.ringInsert(this.ring, ptr, n, ptr + specBytes);
  }

  remove(slot: number): number {
    return this.core.ringRemove(this.ring, slot);
  }

  clear(): void {
    this.core.ringClear(this.ring);
  }

  hashKey(key: string): number {
    const ptr = scratch(key.length * 3);
    return this.core.ringHashKey(this.ring, ptr, encodeKey(key, heapU8(), ptr)) >>> 0;
  }

  lookupKey(key: string): number {
    const ptr = scratch(key.length * 3);
    return this.core.ringLookupKey(this.ring, ptr, encodeKey(key, heapU8(), ptr));
  }

  lookupKeys(keys: readonly string[], out: Int32Array): void {
    lookupInWindows(keys, out, (k, n) => this.core.ringLookupKeys(this.ring, k.bytes, k.offsets, n, k.out));
  }

  lookupHashed(hashes: Uint32Array, out: Int32Array): void {
    const n = hashes.length;
    const ptr = scratch(n * 8);
    heapU32().set(hashes, ptr >>> 2);
    const outPtr = ptr + n * 4;
    this.core.ringLookupHashed(this.ring, ptr, n, outPtr);
    out.set(heapI32().subarray(outPtr >>> 2, (outPtr >>> 2) + n));
  }

  walkKey(key: string, n: number, out: Int32Array): number {
    const ptr = scratch(n * 4 + key.length * 3);
    const keyAt = ptr + n * 4;
    const found = this.core.ringWalkKey(this.ring, keyAt, encodeKey(key, heapU8(), keyAt), n, ptr);
    const heap = heapI32();
    for (let i = 0, at = ptr >>> 2; i < found; i++) out[i] = heap[at + i]!;
    return found;
  }

  walk(hash: number, n: number, out: Int32Array): number {
    const ptr = scratch(n * 4);
    const found = this.core.ringWalk(this.ring, hash, n, ptr);
    // A few slots: copied one by one (a subarray view would be an allocation per call).
    const heap = heapI32();
    for (let i = 0, at = ptr >>> 2; i < found; i++) out[i] = heap[at + i]!;
    return found;
  }

  loadArrays(): LoadArrays {
    return new WasmLoadArrays(this.core);
  }

  pickBounded(key: string, arrays: LoadArrays, c: number, total: number, totalCapacity: number, cost: number, out: Int32Array): number {
    const a = arrays as WasmLoadArrays;
    const ptr = scratch(key.length * 3 + 8);
    const slot = this.core.ringPickBounded(this.ring, ptr + 8, encodeKey(key, heapU8(), ptr + 8), a.loadPtr, a.capacityPtr, a.limitPtr, a.eligiblePtr, c, total, totalCapacity, cost, ptr);
    out[0] = slot;
    out[1] = heapI32()[(ptr >>> 2) + 1]!;
    return slot;
  }

  points(): { pos: Uint32Array; slot: Uint32Array } {
    const n = this.count;
    const pos = this.core.ringPositions(this.ring) >>> 2;
    const slot = this.core.ringSlots(this.ring) >>> 2;
    const heap = heapU32();
    return { pos: heap.slice(pos, pos + n), slot: heap.slice(slot, slot + n) };
  }

  dispose(): void {
    registry.unregister(this.token);
    tieResolvers.delete(this.ring);
    this.core.ringFree(this.ring);
  }
}

/** LoadArrays in the core's memory, so the walk reads them in place. */
class WasmLoadArrays implements LoadArrays {
  loadPtr = 0;
  capacityPtr = 0;
  limitPtr = 0;
  eligiblePtr = 0;
  private slots = 0;
  private views?: { load: Float64Array; capacity: Float64Array; limit: Float64Array; eligible: Uint8Array };

  constructor(private readonly core: CoreExports) {
    this.reserve(16);
  }

  reserve(slots: number): void {
    if (slots <= this.slots) return;
    const n = Math.max(slots, this.slots * 2);
    // Allocate all before freeing any, so a failure leaves the old ones intact; views are taken
    // after, as an allocation may grow memory.
    const ptrs = { loadPtr: this.core.alloc(n * 8), capacityPtr: this.core.alloc(n * 8), limitPtr: this.core.alloc(n * 8), eligiblePtr: this.core.alloc(n) };
    const fresh = this.viewsAt(ptrs, n);
    fresh.load.fill(0);
    fresh.capacity.fill(0);
    fresh.limit.fill(Infinity);
    fresh.eligible.fill(1);
    if (this.slots) {
      const old = this.viewsAt(this, this.slots);
      fresh.load.set(old.load);
      fresh.capacity.set(old.capacity);
      fresh.limit.set(old.limit);
      fresh.eligible.set(old.eligible);
      this.free();
    }
    Object.assign(this, ptrs, { slots: n });
    this.views = undefined;
  }

  private viewsAt(p: { loadPtr: number; capacityPtr: number; limitPtr: number; eligiblePtr: number }, n: number) {
    const buffer = this.core.memory.buffer;
    return {
      load: new Float64Array(buffer, p.loadPtr, n),
      capacity: new Float64Array(buffer, p.capacityPtr, n),
      limit: new Float64Array(buffer, p.limitPtr, n),
      eligible: new Uint8Array(buffer, p.eligiblePtr, n),
    };
  }

  // Memory growth detaches the old buffer and empties its views: then take new ones.
  private current() {
    if (!this.views || this.views.load.length === 0) this.views = this.viewsAt(this, this.slots);
    return this.views;
  }

  get load(): Float64Array {
    return this.current().load;
  }

  get capacity(): Float64Array {
    return this.current().capacity;
  }

  get limit(): Float64Array {
    return this.current().limit;
  }

  get eligible(): Uint8Array {
    return this.current().eligible;
  }

  private free(): void {
    this.core.free(this.loadPtr);
    this.core.free(this.capacityPtr);
    this.core.free(this.limitPtr);
    this.core.free(this.eligiblePtr);
  }

  dispose(): void {
    if (this.slots) this.free();
    this.slots = 0;
  }
}
