// The consistent-hash ring table and its build (insert/remove, on membership change); picks from
// it are in ringLookup.ts. The TypeScript twin of both is src/core/ring/TsRingTable.ts.
//
// Construction (README, "Ring construction"): a node owns `count` points; in MODE_XXH32
// point i sits at xxh32(id + '_' + i), in MODE_SHA1 at the top 32 bits of sha1(id + ':' + i), in
// MODE_KETAMA each md5(id + '-' + i) gives four little-endian points (the npm hashring package).
// Points order by (position, node, i); a key maps to the first point at or after its hash,
// wrapping to the first point.
//
// Lookup: a bucket index over the top `bits` bits of the position narrows the search to the
// points of one bucket (about one on average, as bits grows with the ring), then a short scan
// finds the first point >= hash. Measured against a plain binary search (bench/ring.bench.ts,
// "lookup strategy"), the index wins at every size from 1,600 to 1,000,000 points.
//
// Insert: the new points are generated, radix-sorted, and merged into the table from the back,
// in place: O(points) moves and no re-sort of the ring. Equal positions of different nodes ask
// JavaScript which node goes first (env.tieBefore), as only JavaScript holds the ids; with 32-bit
// positions that happens about once per 2^32 / points^2... a handful of times in a million-point
// ring, never on the request path.

import { Ring, SPEC_WORDS } from './layout';
import { md5, sha1, xxh32, MODE_KETAMA, MODE_SHA1 } from './hash';
import { lowerBound } from './ringLookup';
import { radixSort } from './sort';

// @ts-ignore: decorator
@external("env", "tieBefore")
declare function tieBefore(ring: usize, newSlot: u32, oldSlot: u32): bool;

const MIN_BITS: u32 = 4;
const MAX_BITS: u32 = 20;

/** heap.realloc, but from nothing too (TLSF's realloc needs a block). */
function resize(ptr: usize, bytes: usize): usize {
  return ptr ? heap.realloc(ptr, bytes) : heap.alloc(bytes);
}

export function alloc(size: usize): usize {
  return heap.alloc(size);
}

export function free(ptr: usize): void {
  heap.free(ptr);
}

export function ringNew(mode: u32): usize {
  const r = changetype<Ring>(heap.alloc(offsetof<Ring>()));
  r.mode = mode;
  r.count = 0;
  r.cap = 0;
  r.pos = heap.alloc(4);
  r.slot = heap.alloc(4);
  r.shift = 32 - MIN_BITS;
  r.indexCap = 0;
  r.index = 0;
  r.seen = 0;
  r.seenCap = 0;
  r.epoch = 0;
  store<u32>(r.pos, 0xffffffff);
  store<u32>(r.slot, 0);
  rebuildIndex(r);
  return changetype<usize>(r);
}

export function ringFree(ring: usize): void {
  const r = changetype<Ring>(ring);
  heap.free(r.pos);
  heap.free(r.slot);
  heap.free(r.index);
  if (r.seen) heap.free(r.seen);
  heap.free(ring);
}

export function ringCount(ring: usize): u32 {
  return changetype<Ring>(ring).count;
}

export function ringPositions(ring: usize): usize {
  return changetype<Ring>(ring).pos;
}

export function ringSlots(ring: usize): usize {
  return changetype<Ring>(ring).slot;
}

export function ringClear(ring: usize): void {
  const r = changetype<Ring>(ring);
  r.count = 0;
  store<u32>(r.pos, 0xffffffff);
  store<u32>(r.slot, 0);
  rebuildIndex(r);
}

// ---- build ----------------------------------------------------------------------------------

// Scratch for a batch of new points; grows to the largest batch seen.
let newCap: u32 = 0;
let newPos: usize = 0;
let newSlot: usize = 0;
let tmpPos: usize = 0;
let tmpSlot: usize = 0;
let textCap: usize = 0;
let text: usize = 0;

function reserveNew(n: u32): void {
  if (n <= newCap) return;
  const bytes = <usize>n << 2;
  newPos = resize(newPos, bytes);
  newSlot = resize(newSlot, bytes);
  tmpPos = resize(tmpPos, bytes);
  tmpSlot = resize(tmpSlot, bytes);
  newCap = n;
}

function reserveText(n: usize): void {
  if (n <= textCap) return;
  text = resize(text, n);
  textCap = n;
}

/** Writes `v` in decimal at `p`; returns the number of digits (as JavaScript's String(v)). */
function writeDecimal(p: usize, v: u32): u32 {
  let digits: u32 = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  let at = p + digits;
  do {
    at--;
    store<u8>(at, 48 + v % 10);
    v /= 10;
  } while (v);
  return digits;
}

/** Points generated for one node, appended at newPos/newSlot[at..]; returns the new `at`. */
function generate(mode: u32, slot: u32, id: usize, idLen: u32, count: u32, at: u32): u32 {
  reserveText(<usize>idLen + 12);
  memory.copy(text, id, idLen);
  const sep: u8 = mode == MODE_KETAMA ? 45 /* - */ : mode == MODE_SHA1 ? 58 /* : */ : 95 /* _ */;
  store<u8>(text + <usize>idLen, sep);
  const digitsAt = text + <usize>idLen + 1;
  for (let i: u32 = 0; i < count; i++) {
    const len = idLen + 1 + writeDecimal(digitsAt, i);
    if (mode == MODE_KETAMA) {
      const d = md5(text, len);
      for (let j: usize = 0; j < 4; j++) {
        store<u32>(newPos + (<usize>at << 2), load<u32>(d + (j << 2)));
        store<u32>(newSlot + (<usize>at << 2), slot);
        at++;
      }
    } else {
      const h = mode == MODE_SHA1 ? bswap<u32>(load<u32>(sha1(text, len))) : xxh32(text, len, 0);
      store<u32>(newPos + (<usize>at << 2), h);
      store<u32>(newSlot + (<usize>at << 2), slot);
      at++;
    }
  }
  return at;
}

/**
 * Adds the points of `n` nodes described by the specs (layout.ts) and returns how many were
 * added. Nodes must come in tie order (by id; for MODE_KETAMA in insertion order): points of the
 * batch that share a position keep that order.
 */
export function ringInsert(ring: usize, specs: usize, n: u32, ids: usize): u32 {
  const r = changetype<Ring>(ring);
  let total: u32 = 0;
  let maxSlot: u32 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const s = specs + ((<usize>k * SPEC_WORDS) << 2);
    const c = load<u32>(s, 12);
    total += r.mode == MODE_KETAMA ? c << 2 : c;
    maxSlot = max(maxSlot, load<u32>(s));
  }
  // Every allocation happens before the table changes, so a failed one leaves it intact.
  reserveNew(total);
  reserveSeen(r, maxSlot + 1);
  reserveTable(r, r.count + total);
  let at: u32 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const s = specs + ((<usize>k * SPEC_WORDS) << 2);
    at = generate(r.mode, load<u32>(s), ids + <usize>load<u32>(s, 4), load<u32>(s, 8), load<u32>(s, 12), at);
  }
  radixSort(newPos, newSlot, tmpPos, tmpSlot, total);
  merge(r, total);
  finish(r, total, 1);
  return total;
}

/**
 * Merges the sorted newPos/newSlot[0..k) into the table in place, from the back. Each new point
 * finds its place by binary search and the old points above it move up in one memory.copy, so
 * adding one node's 160 points to a 160,000-point ring costs 160 searches and one pass of copying.
 */
function merge(r: Ring, k: u32): void {
  const pos = r.pos, slot = r.slot, ring = changetype<usize>(r);
  let end = r.count; // old points [0, end) are still in place
  for (let j = <i32>k - 1; j >= 0; j--) {
    const np = load<u32>(newPos + (<usize>j << 2));
    const ns = load<u32>(newSlot + (<usize>j << 2));
    let at = lowerBound(pos, 0, end, np);
    // NOTE: equal positions order by node; the new point goes before the first old point whose
    // node it precedes (old points of one position are already in node order).
    while (at < end && load<u32>(pos + (<usize>at << 2)) == np && !tieBefore(ring, ns, load<u32>(slot + (<usize>at << 2)))) at++;
    const to = <usize>(at + <u32>j + 1) << 2;
    const bytes = <usize>(end - at) << 2;
    memory.copy(pos + to, pos + (<usize>at << 2), bytes);
    memory.copy(slot + to, slot + (<usize>at << 2), bytes);
    store<u32>(pos + (<usize>(at + <u32>j) << 2), np);
    store<u32>(slot + (<usize>(at + <u32>j) << 2), ns);
    end = at;
  }
  r.count += k;
}


/** First i in [from, n) with slots[i] == slot, or n; four slots per compare. */
function nextOf(slots: usize, from: u32, n: u32, slot: u32): u32 {
  let i = from;
  const want = i32x4.splat(slot);
  while (i + 4 <= n && !v128.any_true(i32x4.eq(v128.load(slots + (<usize>i << 2)), want))) i += 4;
  while (i < n && load<u32>(slots + (<usize>i << 2)) != slot) i++;
  return i;
}

/** Removes every point of `slot`; returns how many. */
export function ringRemove(ring: usize, slot: u32): u32 {
  const r = changetype<Ring>(ring);
  const pos = r.pos, slots = r.slot, n = r.count;
  let k: u32 = 0;
  for (let i = nextOf(slots, 0, n, slot); i < n; i = nextOf(slots, i + 1, n, slot)) k++;
  if (k == 0) return 0;
  reserveNew(k);
  // Keep the runs between removed points, moving each with one memory.copy; the removed
  // positions (ascending) go to newPos for the index patch.
  let w: u32 = 0;
  let m: u32 = 0;
  let from: u32 = 0;
  while (from < n) {
    const hit = nextOf(slots, from, n, slot);
    const run = <usize>(hit - from) << 2;
    if (w != from) {
      memory.copy(pos + (<usize>w << 2), pos + (<usize>from << 2), run);
      memory.copy(slots + (<usize>w << 2), slots + (<usize>from << 2), run);
    }
    w += hit - from;
    if (hit == n) break;
    store<u32>(newPos + (<usize>m << 2), load<u32>(pos + (<usize>hit << 2)));
    m++;
    from = hit + 1;
  }
  r.count = w;
  finish(r, m, -1);
  return k;
}

function reserveTable(r: Ring, n: u32): void {
  if (n <= r.cap) return;
  let cap = max<u32>(r.cap + (r.cap >> 1), n);
  cap = max<u32>(cap, 64);
  const bytes = (<usize>cap + 1) << 2;
  r.pos = resize(r.pos, bytes);
  r.slot = resize(r.slot, bytes);
  r.cap = cap;
}

function reserveSeen(r: Ring, n: u32): void {
  if (n <= r.seenCap) return;
  const cap = max<u32>(n, r.seenCap << 1);
  r.seen = resize(r.seen, <usize>cap << 2);
  memory.fill(r.seen + (<usize>r.seenCap << 2), 0, <usize>(cap - r.seenCap) << 2);
  r.seenCap = cap;
}

/** Index bits for n points: about one point per bucket, 2^bits > n. */
// @ts-ignore: decorator
@inline function bitsFor(n: u32): u32 {
  return min<u32>(MAX_BITS, max<u32>(MIN_BITS, 32 - clz<u32>(n)));
}

/**
 * Restores the sentinels and brings the bucket index up to date after newPos[0..k) (ascending)
 * were added (sign 1) or removed (sign -1): patched in place when the bucket count stays,
 * rebuilt otherwise.
 */
function finish(r: Ring, k: u32, sign: i32): void {
  const n = r.count;
  store<u32>(r.pos + (<usize>n << 2), 0xffffffff);
  store<u32>(r.slot + (<usize>n << 2), n ? load<u32>(r.slot) : 0);
  if (bitsFor(n) == 32 - r.shift && r.index) patchIndex(r, k, sign);
  else rebuildIndex(r);
}

/**
 * index[b] counts the points below b << shift, so a point at p counts in every b > p >> shift.
 * Between two consecutive changed points the delta is constant: one vector add per 4 buckets.
 */
function patchIndex(r: Ring, k: u32, sign: i32): void {
  const shift = r.shift, index = r.index;
  const end: u32 = (1 << (32 - shift)) + 1;
  for (let j: u32 = 0; j < k; j++) {
    const from = (load<u32>(newPos + (<usize>j << 2)) >> shift) + 1;
    const to = j + 1 < k ? (load<u32>(newPos + (<usize>(j + 1) << 2)) >> shift) + 1 : end;
    addRange(index, from, to, sign * <i32>(j + 1));
  }
}

/** index[from..to) += delta. */
function addRange(index: usize, from: u32, to: u32, delta: i32): void {
  let b = from;
  const d = i32x4.splat(delta);
  while (b + 4 <= to) {
    const p = index + (<usize>b << 2);
    v128.store(p, i32x4.add(v128.load(p), d));
    b += 4;
  }
  while (b < to) {
    const p = index + (<usize>b << 2);
    store<i32>(p, load<i32>(p) + delta);
    b++;
  }
}

/** A bucket histogram of the (sorted) points and its prefix sum: no data-dependent branches. */
function rebuildIndex(r: Ring): void {
  const n = r.count;
  const bits = bitsFor(n);
  const buckets: u32 = 1 << bits;
  if (buckets + 1 > r.indexCap) {
    r.index = resize(r.index, (<usize>buckets + 1) << 2);
    r.indexCap = buckets + 1;
  }
  const shift = 32 - bits;
  r.shift = shift;
  const pos = r.pos, index = r.index;
  memory.fill(index, 0, (<usize>buckets + 1) << 2);
  for (let j: u32 = 0; j < n; j++) {
    const at = index + ((<usize>(load<u32>(pos + (<usize>j << 2)) >> shift) + 1) << 2);
    store<u32>(at, load<u32>(at) + 1);
  }
  let sum: u32 = 0;
  for (let b: u32 = 0; b <= buckets; b++) {
    const at = index + (<usize>b << 2);
    sum += load<u32>(at);
    store<u32>(at, sum);
  }
}

/**
 * Replaces the table with n points: ascending positions and their owning slots, as read from
 * another table (a snapshot published to a worker thread). `slots` bounds the slot numbers, for
 * getN's marks. The caller vouches for the order: ties were resolved by the table it came from.
 */
export function ringLoad(ring: usize, pos: usize, slot: usize, n: u32, slots: u32): void {
  const r = changetype<Ring>(ring);
  reserveTable(r, n);
  reserveSeen(r, slots);
  memory.copy(r.pos, pos, <usize>n << 2);
  memory.copy(r.slot, slot, <usize>n << 2);
  r.count = n;
  store<u32>(r.pos + (<usize>n << 2), 0xffffffff);
  store<u32>(r.slot + (<usize>n << 2), n ? load<u32>(r.slot) : 0);
  rebuildIndex(r);
}
