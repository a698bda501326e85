// Picks from the ring table: read-only, no allocation, one call per batch. The table and how it
// is built are in ring.ts; the TypeScript twin of both is src/core/ring/TsRingTable.ts.

import { Ring } from './layout';
import { keyHash } from './hash';

/** Scans longer than this use a binary search within the bucket (adversarial clustering). */
const SCAN_LIMIT: u32 = 16;

/** First index in [lo, hi) whose position is >= h, or hi. */
export function lowerBound(pos: usize, lo: u32, hi: u32, h: u32): u32 {
  let n = hi - lo;
  while (n > 0) {
    const half = n >> 1;
    if (load<u32>(pos + (<usize>(lo + half) << 2)) < h) {
      lo += half + 1;
      n -= half + 1;
    } else {
      n = half;
    }
  }
  return lo;
}

/** Index of the first point with position >= h; `count` means wrap (slot[count] = slot[0]). */
// @ts-ignore: decorator
@inline function find(pos: usize, index: usize, shift: u32, h: u32): u32 {
  const b = <usize>(h >> shift) << 2;
  let lo = load<u32>(index + b);
  const hi = load<u32>(index + b, 4);
  if (hi - lo > SCAN_LIMIT) return lowerBound(pos, lo, hi, h);
  // Two branch-free steps settle almost every bucket (one point on average); the loop after
  // them runs only for a crowded bucket, so its branch is well predicted.
  lo += <u32>(load<u32>(pos + (<usize>lo << 2)) < h);
  lo += <u32>(load<u32>(pos + (<usize>lo << 2)) < h);
  while (load<u32>(pos + (<usize>lo << 2)) < h) lo++;
  return lo;
}

/** Slots of pre-hashed keys: out[i] = slot of hashes[i], or -1 on an empty ring. */
export function ringLookupHashed(ring: usize, hashes: usize, n: u32, out: usize): void {
  const r = changetype<Ring>(ring);
  if (r.count == 0) {
    memory.fill(out, 0xff, <usize>n << 2);
    return;
  }
  const pos = r.pos, slot = r.slot, index = r.index, shift = r.shift;
  for (let i: usize = 0; i < <usize>n; i++) {
    const at = find(pos, index, shift, load<u32>(hashes + (i << 2)));
    store<u32>(out + (i << 2), load<u32>(slot + (<usize>at << 2)));
  }
}

/** The same by a plain binary search over all points: kept to measure the index against. */
export function ringLookupHashedBinary(ring: usize, hashes: usize, n: u32, out: usize): void {
  const r = changetype<Ring>(ring);
  if (r.count == 0) {
    memory.fill(out, 0xff, <usize>n << 2);
    return;
  }
  const pos = r.pos, slot = r.slot, count = r.count;
  for (let i: usize = 0; i < <usize>n; i++) {
    const at = lowerBound(pos, 0, count, load<u32>(hashes + (i << 2)));
    store<u32>(out + (i << 2), load<u32>(slot + (<usize>at << 2)));
  }
}

/** Slots of n keys given as UTF-8 bytes with offsets[n + 1] (layout.ts). */
export function ringLookupKeys(ring: usize, bytes: usize, offsets: usize, n: u32, out: usize): void {
  const r = changetype<Ring>(ring);
  if (r.count == 0) {
    memory.fill(out, 0xff, <usize>n << 2);
    return;
  }
  // Two passes: all hashes, then all lookups. A short key's xxh32 is a chain of dependent
  // multiplies; with nothing else in the loop the CPU overlaps the chains of consecutive keys,
  // which the cache misses of interleaved lookups prevented (measured: 38 -> 24 ns a key).
  const mode = r.mode;
  let start = load<u32>(offsets);
  for (let i: usize = 0; i < <usize>n; i++) {
    const end = load<u32>(offsets + ((i + 1) << 2));
    store<u32>(out + (i << 2), keyHash(mode, bytes + <usize>start, end - start));
    start = end;
  }
  ringLookupHashed(ring, out, n, out);
}

/** Position of a key in the ring's hash mode. */
export function ringHashKey(ring: usize, ptr: usize, len: u32): u32 {
  return keyHash(changetype<Ring>(ring).mode, ptr, len);
}

/** Slot of one key, or -1 on an empty ring. */
export function ringLookupKey(ring: usize, ptr: usize, len: u32): i32 {
  const r = changetype<Ring>(ring);
  if (r.count == 0) return -1;
  const at = find(r.pos, r.index, r.shift, keyHash(r.mode, ptr, len));
  return load<i32>(r.slot + (<usize>at << 2));
}

/** ringWalk from a key's hash: getN in one call (hashing and walking crossed the boundary twice). */
export function ringWalkKey(ring: usize, ptr: usize, len: u32, n: u32, out: usize): u32 {
  return ringWalk(ring, keyHash(changetype<Ring>(ring).mode, ptr, len), n, out);
}

/**
 * Up to `n` distinct slots clockwise from hash `h`, written to `out`; returns how many.
 * Each slot is marked with the walk's epoch, so no per-call clearing is needed.
 */
export function ringWalk(ring: usize, h: u32, n: u32, out: usize): u32 {
  const r = changetype<Ring>(ring);
  const count = r.count;
  if (count == 0 || n == 0) return 0;
  let epoch = r.epoch + 1;
  if (epoch == 0) {
    memory.fill(r.seen, 0, <usize>r.seenCap << 2);
    epoch = 1;
  }
  r.epoch = epoch;
  const seen = r.seen, slot = r.slot;
  let at = find(r.pos, r.index, r.shift, h);
  if (at == count) at = 0;
  let found: u32 = 0;
  for (let step: u32 = 0; step < count && found < n; step++) {
    const s = load<u32>(slot + (<usize>at << 2));
    const mark = seen + (<usize>s << 2);
    if (load<u32>(mark) != epoch) {
      store<u32>(mark, epoch);
      store<u32>(out + (<usize>found << 2), s);
      found++;
    }
    if (++at == count) at = 0;
  }
  return found;
}

/** Whether slot s may take `cost`: eligible, below its bound ceil(share * capacity), within its limit. */
// @ts-ignore: decorator
@inline function admits(s: u32, loads: usize, capacities: usize, limits: usize, eligible: usize, share: f64, cost: f64): bool {
  const used = load<f64>(loads + (<usize>s << 3));
  return load<u8>(eligible + <usize>s) != 0 && used < Math.ceil(share * load<f64>(capacities + (<usize>s << 3))) && used + cost <= load<f64>(limits + (<usize>s << 3));
}

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, 2018), weighted by
 * capacity: clockwise from `h`, the first eligible node whose in-flight cost is still below its
 * bound ceil(c * (total + cost) * capacity / totalCapacity) (for unit costs: the paper's "load
 * + 1 within the bound") and whose load + cost stays within its absolute limit. Returns its
 * slot, or -1 when no node may take it (the caller's admission control decides). Per-slot
 * arrays: load, capacity and limit f64, eligible u8 (0 skips the node).
 *
 * Each node is examined once (epoch marks), so the walk is O(points) at worst and usually stops
 * at the key's owner. A node over its bound passes the key to its clockwise neighbours, so an
 * overload spreads along the ring instead of cascading onto one node.
 */
export function ringWalkBounded(ring: usize, h: u32, loads: usize, capacities: usize, limits: usize, eligible: usize, c: f64, total: f64, totalCapacity: f64, cost: f64): i32 {
  const r = changetype<Ring>(ring);
  const count = r.count;
  if (count == 0) return -1;
  let epoch = r.epoch + 1;
  if (epoch == 0) {
    memory.fill(r.seen, 0, <usize>r.seenCap << 2);
    epoch = 1;
  }
  r.epoch = epoch;
  // NOTE: the bound is ceil(share * capacity), share computed once; the TS twin does the same.
  const share = c * (total + cost) / totalCapacity;
  const seen = r.seen, slot = r.slot;
  let at = find(r.pos, r.index, r.shift, h);
  if (at == count) at = 0;
  for (let step: u32 = 0; step < count; step++) {
    const s = load<u32>(slot + (<usize>at << 2));
    const mark = seen + (<usize>s << 2);
    if (load<u32>(mark) != epoch) {
      store<u32>(mark, epoch);
      if (admits(s, loads, capacities, limits, eligible, share, cost)) return <i32>s;
    }
    if (++at == count) at = 0;
  }
  return -1;
}

/**
 * BoundedLoad's pick in one call: hashes the key, walks with bound factor `c`, and when the
 * bounds leave no node, walks again within the limits alone. Writes the chosen slot (-1: none)
 * and the key's owner (the first slot clockwise, -1 on an empty ring) to out[0] and out[1]:
 * the caller tells "ring owner" from "moved" without hashing the key a second time.
 */
export function ringPickBounded(ring: usize, ptr: usize, len: u32, loads: usize, capacities: usize, limits: usize, eligible: usize, c: f64, total: f64, totalCapacity: f64, cost: f64, out: usize): i32 {
  return ringPickBoundedHash(ring, keyHash(changetype<Ring>(ring).mode, ptr, len), loads, capacities, limits, eligible, c, total, totalCapacity, cost, out);
}

/** ringPickBounded for a key already hashed (JavaScript hashes an ASCII key from its characters). */
export function ringPickBoundedHash(ring: usize, h: u32, loads: usize, capacities: usize, limits: usize, eligible: usize, c: f64, total: f64, totalCapacity: f64, cost: f64, out: usize): i32 {
  const r = changetype<Ring>(ring);
  if (r.count == 0) {
    store<i32>(out, -1);
    store<i32>(out, -1, 4);
    return -1;
  }
  let at = find(r.pos, r.index, r.shift, h);
  if (at == r.count) at = 0;
  const owner = load<u32>(r.slot + (<usize>at << 2));
  store<u32>(out, owner, 4);
  // The owner takes most keys: the test the walk would make first (admits, with the walk's own
  // share), made without the walk's second search and marks.
  if (admits(owner, loads, capacities, limits, eligible, c * (total + cost) / totalCapacity, cost)) {
    store<u32>(out, owner);
    return <i32>owner;
  }
  let s = ringWalkBounded(ring, h, loads, capacities, limits, eligible, c, total, totalCapacity, cost);
  if (s < 0) s = ringWalkBounded(ring, h, loads, capacities, limits, eligible, Infinity, total, totalCapacity, cost);
  store<i32>(out, s);
  return s;
}

// Lines: keys as text, one per line ('\n'; a '\r' before it is not part of the key), so that a
// file or a buffer of keys is split, hashed and looked up where it lies, by any thread.

const NEWLINE: u8 = 10;
const RETURN: u8 = 13;

/** Lines in bytes[0, len): each '\n' ends one, and a last line without one counts too. */
export function countLines(bytes: usize, len: u32): u32 {
  let n: u32 = 0;
  let i: u32 = 0;
  const nl = i8x16.splat(NEWLINE);
  for (; i + 16 <= len; i += 16) n += popcnt<u32>(i8x16.bitmask(i8x16.eq(v128.load(bytes + i), nl)));
  for (; i < len; i++) n += <u32>(load<u8>(bytes + i) == NEWLINE);
  if (len != 0 && load<u8>(bytes + len - 1) != NEWLINE) n++;
  return n;
}

/** Hash of the line bytes[start, end) without a trailing '\r'. */
// @ts-ignore: decorator
@inline function lineHash(mode: u32, bytes: usize, start: u32, end: u32): u32 {
  if (end > start && load<u8>(bytes + end - 1) == RETURN) end--;
  return keyHash(mode, bytes + start, end - start);
}

/** Slots of the lines of bytes[0, len) (countLines of them) into out; returns how many. */
export function ringLookupLines(ring: usize, bytes: usize, len: u32, out: usize): u32 {
  const r = changetype<Ring>(ring);
  const mode = r.mode;
  const nl = i8x16.splat(NEWLINE);
  let k: u32 = 0;
  let start: u32 = 0;
  let i: u32 = 0;
  // 16 bytes compared at once; each set bit of the mask is a line end.
  for (; i + 16 <= len; i += 16) {
    let mask = i8x16.bitmask(i8x16.eq(v128.load(bytes + i), nl));
    while (mask) {
      const end = i + ctz<u32>(mask);
      store<u32>(out + (<usize>(k++) << 2), lineHash(mode, bytes, start, end));
      start = end + 1;
      mask &= mask - 1;
    }
  }
  for (; i < len; i++) {
    if (load<u8>(bytes + i) != NEWLINE) continue;
    store<u32>(out + (<usize>(k++) << 2), lineHash(mode, bytes, start, i));
    start = i + 1;
  }
  if (start < len) store<u32>(out + (<usize>(k++) << 2), lineHash(mode, bytes, start, len));
  ringLookupHashed(ring, out, k, out);
  return k;
}
