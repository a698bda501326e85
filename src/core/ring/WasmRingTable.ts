// The Wasm engine: a ring table in the core's linear memory (assembly/ring.ts). Each method
// copies its input into the shared scratch region, makes one call, and copies the result out:
// one boundary crossing per batch, never per key. One ASCII key's get crosses none: it is
// hashed and looked up here, through views of the table (lookupKey).
import { encodeKey, kShortKey } from '../keys.js';
import { lookupInWindows } from '../stagedKeys.js';
import { MODE_XXH32, xxh32Ascii, xxh32AsciiShort, type HashMode } from '../hash.js';
import { CompactBuilder, kCompactFrom, type CompactIndex } from './CompactIndex.js';
import { heapI32, heapU32, heapU8, scratch, tieResolvers, wasmCore, type CoreExports } from '../wasm.js';
import { SCAN_LIMIT, type LoadArrays, type RingTable, type TieBefore } from './RingTable.js';

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
  // A big table's compact copy for one-key lookups (CompactIndex), dropped at every change. Its
  // build starts once the table has answered as many single lookups as it has points since its
  // last change (the whole build costs about that many lookups' worth) and goes kBuildStep
  // points a lookup, so that no one lookup pays it all.
  #compact: CompactIndex | undefined;
  #building: CompactBuilder | undefined;
  #lookups = 0;
  // Where the table's arrays are (word offsets), read after every change: a get would otherwise
  // read them from the Ring struct on each call.
  readonly #at: TableAt = { count: 0, pos: 0, slot: 0, index: 0, shift: 0 };
  // kCompactFrom points or more: single lookups go to the compact copy once it is built.
  #big = false;
  // Not empty and not big: lookupKey's own path (slotOfHashSmall).
  #small = false;
  // Keys shorter than this are hashed in JavaScript by lookupKey (0 in the modes the core hashes).
  readonly #shortBelow: number;

  constructor(
    private readonly mode: HashMode,
    tieBefore: TieBefore,
  ) {
    this.core = wasmCore();
    this.ring = this.core.ringNew(mode);
    this.#shortBelow = mode === MODE_XXH32 ? 16 : 0;
    tieResolvers.set(this.ring, tieBefore);
    registry.register(this, this.ring, this.token);
    this.#changed();
  }

  get count(): number {
    return this.#at.count;
  }

  insert(specs: Uint32Array, n: number, ids: Uint8Array): number {
    const specBytes = n * 16;
    const ptr = scratch(specBytes + ids.length);
    heapU32().set(specs.subarray(0, n * 4), ptr >>> 2);
    heapU8().set(ids, ptr + specBytes);
    try {
      return this.core.ringInsert(this.ring, ptr, n, ptr + specBytes);
    } finally {
      this.#changed();
    }
  }

  remove(slot: number): number {
    try {
      return this.core.ringRemove(this.ring, slot);
    } finally {
      this.#changed();
    }
  }

  clear(): void {
    this.core.ringClear(this.ring);
    this.#changed();
  }

  // After any call that may change the table (or move its arrays): the copy goes, the offsets
  // are read again.
  #changed(): void {
    this.#compact = undefined;
    this.#building = undefined;
    this.#lookups = 0;
    const u = heapU32(), r = this.ring >>> 2, at = this.#at;
    at.count = u[r + kCount]!;
    at.pos = u[r + kPos]! >>> 2;
    at.slot = u[r + kSlot]! >>> 2;
    at.index = u[r + kIndex]! >>> 2;
    at.shift = u[r + kShift]!;
    this.#big = at.count >= kCompactFrom;
    this.#small = at.count > 0 && !this.#big;
  }

  /** The key's position, hashed here from its characters; -1: hash it in the core (not ASCII, longer than kShortKey, or not xxh32). */
  #asciiHash(key: string): number {
    return this.mode === MODE_XXH32 && key.length <= kShortKey ? xxh32Ascii(key) : -1;
  }

  /**
   * The slot owning hash h: the compact copy's search once there is one, else the table's. The
   * copy's case alone here, the rest in #slotOfHashInTable: with both in this method, a get's
   * loop ran out of V8's inlining budget and called the copy's search (and inlined the table's
   * search twice, the copy's build too).
   */
  #slotOfHash(h: number): number {
    const compact = this.#compact;
    return compact !== undefined ? compact.slotOf(h) : this.#slotOfHashInTable(h);
  }

  #slotOfHashInTable(h: number): number {
    if (this.#big) this.#buildCompact(this.#at);
    return slotOfHash(heapU32(), this.#at, h);
  }

  #buildCompact(at: TableAt): void {
    const building = this.#building;
    if (building === undefined) {
      if (++this.#lookups >= at.count) this.#building = new CompactBuilder(at.count);
      return;
    }
    this.#compact = building.step(heapU32(), at.pos, at.slot, kBuildStep);
    if (this.#compact === undefined && !building.failed) return;
    // Done, or no copy can be made of this table: not again before its next change.
    this.#building = undefined;
    this.#lookups = -Infinity;
  }

  hashKey(key: string): number {
    const h = this.#asciiHash(key);
    if (h >= 0) return h;
    const ptr = scratch(key.length * 3);
    return this.core.ringHashKey(this.ring, ptr, encodeKey(key, heapU8(), ptr)) >>> 0;
  }

  lookupKey(key: string): number {
    // One key is hashed from its characters and looked up through views of the table, here: the
    // lookup is three loads, and crossing into the core with the key copied there cost more
    // than the hash and the loads together. Keys past ASCII and the other modes go to the core.
    // The common case (a short key; a small table's search) in this one method, the rest in
    // others: V8 inlines calls into a caller up to a budget of bytecode, and a get spread over
    // more layers ran out of it in a caller's loop and called the hash (56 ns a get at 1,600
    // points, 45 with the whole path inlined). pickBounded repeats these lines rather than share
    // them through two small methods: with those, a get measured 1.21-1.37x consistent-hash's
    // instead of 1.50-1.56x (three runs each, alternated).
    const h = key.length < this.#shortBelow ? xxh32AsciiShort(key) : this.#asciiHash(key);
    if (h < 0) return this.#lookupInCore(key);
    return this.#small ? slotOfHashSmall(heapU32(), this.#at, h) : this.#slotOfHash(h);
  }

  #lookupInCore(key: string): number {
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
    const h = this.#asciiHash(key);
    if (h >= 0) return this.walk(h, n, out);
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
    // As in lookupKey (and why its lines are repeated here): the common path in this method, the
    // rest called out, so that a route inlines all of it.
    const h = key.length < this.#shortBelow ? xxh32AsciiShort(key) : this.#asciiHash(key);
    if (h < 0) return this.#pickBoundedInCore(key, a, c, total, totalCapacity, cost, out);
    // The owner takes most keys: its lookup and ringPickBounded's first test of it (admits)
    // made here, over views; the core walks only when the owner is over its bound.
    const owner = this.#small ? slotOfHashSmall(heapU32(), this.#at, h) : this.#slotOfHash(h);
    if (owner >= 0 && a.admits(owner, (c * (total + cost)) / totalCapacity, cost)) {
      out[0] = out[1] = owner;
      return owner;
    }
    return this.#pickBoundedWalk(h, a, c, total, totalCapacity, cost, out);
  }

  #pickBoundedWalk(h: number, a: WasmLoadArrays, c: number, total: number, totalCapacity: number, cost: number, out: Int32Array): number {
    const at = scratch(8);
    const slot = this.core.ringPickBoundedHash(this.ring, h, a.loadPtr, a.capacityPtr, a.limitPtr, a.eligiblePtr, c, total, totalCapacity, cost, at);
    out[0] = slot;
    out[1] = heapI32()[(at >>> 2) + 1]!;
    return slot;
  }

  #pickBoundedInCore(key: string, a: WasmLoadArrays, c: number, total: number, totalCapacity: number, cost: number, out: Int32Array): number {
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
    this.#compact = undefined;
    this.#at.count = 0;
    registry.unregister(this.token);
    tieResolvers.delete(this.ring);
    this.core.ringFree(this.ring);
  }
}

// Points (then buckets) of the compact copy built per lookup: about 17 µs of work a lookup here.
const kBuildStep = 1024;

// Word offsets of the Ring fields the lookup reads (assembly/layout.ts, Ring).
const kCount = 1, kPos = 3, kSlot = 4, kShift = 5, kIndex = 6;

/** Word offsets of a table's arrays in the core's memory, its point count and bucket shift. */
export interface TableAt {
  count: number;
  pos: number;
  slot: number;
  index: number;
  shift: number;
}

/** ringLookupKey's find over a view of the core's memory: the slot owning hash h, or -1. */
export function slotOfHash(u: Uint32Array, at: TableAt, h: number): number {
  if (at.count === 0) return -1;
  const pos = at.pos, slot = at.slot;
  const b = at.index + (h >>> at.shift);
  const lo = u[b]!;
  // The first two points at or after the bucket's start and their owners, all read before any
  // is compared: on a big ring each is a cache miss, and loads that wait on nothing but the
  // index miss together (measured at 160,000 points: 440 -> 310 ns a get). When lo is the
  // sentinel (count), p0 is 0xFFFFFFFF and p1, s1 (past the table, maybe undefined) are unused.
  const p0 = u[pos + lo]!, s0 = u[slot + lo]!, p1 = u[pos + lo + 1]!, s1 = u[slot + lo + 1]!;
  if (h <= p0) return s0;
  if (h <= p1) return s1;
  return searchBucket(u, pos, slot, lo + 2, u[b + 1]!, h);
}

/**
 * slotOfHash for a table that is not empty and has fewer than kCompactFrom points (a table that
 * fits in cache: its first point is read alone, with no second read alongside to overlap misses).
 * Kept lean for the same budget as lookupKey: a get at 1,600 points measured 1.42-1.61x
 * consistent-hash's with slotOfHash (four runs), 1.50-1.58x with this (eight runs).
 */
export function slotOfHashSmall(u: Uint32Array, at: TableAt, h: number): number {
  const b = at.index + (h >>> at.shift), lo = u[b]!;
  if (h <= u[at.pos + lo]!) return u[at.slot + lo]!;
  return searchBucket(u, at.pos, at.slot, lo + 1, u[b + 1]!, h);
}

// The rest of a bucket, past the points read first (rare on a ring of 160 points a node): a
// function of its own keeps slotOfHash and slotOfHashSmall small enough that V8 inlines a whole
// get into its caller.
function searchBucket(u: Uint32Array, pos: number, slot: number, lo: number, hi: number, h: number): number {
  if (hi - lo > SCAN_LIMIT) {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (u[pos + mid]! < h) lo = mid + 1;
      else hi = mid;
    }
  } else {
    // pos[count] is 0xFFFFFFFF: the scan stops there at the latest.
    while (u[pos + lo]! < h) lo++;
  }
  return u[slot + lo]!;
}

interface LoadViews {
  readonly load: Float64Array;
  readonly capacity: Float64Array;
  readonly limit: Float64Array;
  readonly eligible: Uint8Array;
}

const kNoViews: LoadViews = { load: new Float64Array(0), capacity: new Float64Array(0), limit: new Float64Array(0), eligible: new Uint8Array(0) };

/** LoadArrays in the core's memory, so the walk reads them in place. */
class WasmLoadArrays implements LoadArrays {
  loadPtr = 0;
  capacityPtr = 0;
  limitPtr = 0;
  eligiblePtr = 0;
  private slots = 0;
  // Empty until first used, and after a reserve or a growth of memory (which detaches them).
  private views: LoadViews = kNoViews;

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
    this.views = kNoViews;
  }

  private viewsAt(p: { loadPtr: number; capacityPtr: number; limitPtr: number; eligiblePtr: number }, n: number): LoadViews {
    const buffer = this.core.memory.buffer;
    return {
      load: new Float64Array(buffer, p.loadPtr, n),
      capacity: new Float64Array(buffer, p.capacityPtr, n),
      limit: new Float64Array(buffer, p.limitPtr, n),
      eligible: new Uint8Array(buffer, p.eligiblePtr, n),
    };
  }

  /** ringPickBounded's test of one node (assembly/ringLookup.ts, admits, the same f64 math). */
  admits(s: number, share: number, cost: number): boolean {
    const v = this.current();
    const used = v.load[s]!;
    return v.eligible[s] !== 0 && used < Math.ceil(share * v.capacity[s]!) && used + cost <= v.limit[s]!;
  }

  // Memory growth detaches the old buffer and empties its views: then take new ones (in a method
  // of their own, so that the test alone is inlined into a route's pick and release).
  private current(): LoadViews {
    const v = this.views;
    return v.load.length !== 0 ? v : this.renew();
  }

  private renew(): LoadViews {
    return (this.views = this.viewsAt(this, this.slots));
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
