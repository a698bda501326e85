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
      const used = load<f64>(loads + (<usize>s << 3));
      if (load<u8>(eligible + <usize>s) && used < Math.ceil(share * load<f64>(capacities + (<usize>s << 3))) && used + cost <= load<f64>(limits + (<usize>s << 3))) return <i32>s;
    }
    if (++at == count) at = 0;
  }
  return -1;
}
