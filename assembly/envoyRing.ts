// Envoy's ring_hash load balancer, exactly (source/extensions/load_balancing_policies/ring_hash/
// ring_hash_lb.cc): nodes in their given order each get points while a running count stays
// below a running target (target += scale * normalized weight); point i of a node is
// xxHash64(id + "_" + i) as a 64-bit position; points sorted ascending; a key hashed with
// xxHash64 goes to the first point at or after its hash, wrapping. The TypeScript twin is
// src/core/ring/TsEnvoyRing.ts.
//
// Input per node (in order): spec u32 x 3 (slot, id offset, id length), normalized weight f64.
// Output: pos u64[count] ascending, slot u32[count].
import { xxh64 } from './prefix';

/**
 * Generates and sorts the ring. `key` is scratch for one point's hash key (id + "_" + 20 digits),
 * `tpos`/`tslot` scratch of the output's size, `counts` u32[65536]. Returns the point count.
 */
export function envoyRingBuild(specs: usize, ids: usize, weights: usize, n: u32, scale: f64, pos: usize, slot: usize, key: usize, tpos: usize, tslot: usize, counts: usize): u32 {
  let count: u32 = 0;
  let current: f64 = 0;
  let target: f64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const spec = specs + <usize>i * 12;
    const s = load<u32>(spec);
    const len = load<u32>(spec, 8);
    memory.copy(key, ids + <usize>load<u32>(spec, 4), len);
    store<u8>(key + <usize>len, 0x5f); // '_'
    target += scale * load<f64>(weights + (<usize>i << 3));
    let j: u64 = 0;
    while (current < target) {
      const digits = writeDecimal(key + <usize>len + 1, j);
      store<u64>(pos + (<usize>count << 3), xxh64(key, len + 1 + digits, 0));
      store<u32>(slot + (<usize>count << 2), s);
      count++;
      j++;
      current += 1;
    }
  }
  sortPoints(pos, slot, count, tpos, tslot, counts);
  return count;
}

// Writes v in decimal at p (as absl::StrCat does); returns the digits written.
function writeDecimal(p: usize, v: u64): u32 {
  let digits: u32 = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  for (let k = digits; k > 0; k--) {
    store<u8>(p + <usize>(k - 1), <u8>(0x30 + <u32>(v % 10)));
    v /= 10;
  }
  return digits;
}

// LSD radix sort of (pos, slot) pairs by pos: four stable passes of 16 bits.
function sortPoints(pos: usize, slot: usize, n: u32, tpos: usize, tslot: usize, counts: usize): void {
  let srcPos = pos, srcSlot = slot, dstPos = tpos, dstSlot = tslot;
  for (let shift: u64 = 0; shift < 64; shift += 16) {
    memory.fill(counts, 0, 65536 << 2);
    for (let i: u32 = 0; i < n; i++) {
      const d = <usize>((load<u64>(srcPos + (<usize>i << 3)) >> shift) & 0xffff);
      store<u32>(counts + (d << 2), load<u32>(counts + (d << 2)) + 1);
    }
    let sum: u32 = 0;
    for (let d: usize = 0; d < 65536; d++) {
      const c = load<u32>(counts + (d << 2));
      store<u32>(counts + (d << 2), sum);
      sum += c;
    }
    for (let i: u32 = 0; i < n; i++) {
      const p = load<u64>(srcPos + (<usize>i << 3));
      const d = <usize>((p >> shift) & 0xffff);
      const at = load<u32>(counts + (d << 2));
      store<u32>(counts + (d << 2), at + 1);
      store<u64>(dstPos + (<usize>at << 3), p);
      store<u32>(dstSlot + (<usize>at << 2), load<u32>(srcSlot + (<usize>i << 2)));
    }
    const a = srcPos, b = srcSlot;
    srcPos = dstPos;
    srcSlot = dstSlot;
    dstPos = a;
    dstSlot = b;
  }
  // Four passes: the result is back in pos and slot.
}

/**
 * A bucket index over the sorted points for batch lookups: index[b] is the first point at or
 * after b << (64 - bits), index[1 << bits] = count (bits from 1 to 31). A lookup then searches one
 * bucket (a point or two) instead of the whole ring: a binary search over 2,000 points was
 * four-fifths of a pre-hashed batch lookup, its branches mispredicted half the time.
 */
export function envoyRingIndexBuild(pos: usize, count: u32, index: usize, bits: u32): void {
  const buckets: u32 = 1 << bits;
  const shift: u64 = 64 - <u64>bits;
  let p: u32 = 0;
  for (let b: u32 = 0; b < buckets; b++) {
    const start: u64 = (<u64>b) << shift;
    while (p < count && load<u64>(pos + (<usize>p << 3)) < start) p++;
    store<u32>(index + (<usize>b << 2), p);
  }
  store<u32>(index + (<usize>buckets << 2), count);
}

// The index of the first point at or after h (0 past the last: the ring wraps), through the
// bucket index: it lies in h's bucket or is the next bucket's first.
// @ts-ignore: decorator
@inline
function find(pos: usize, count: u32, index: usize, bits: u32, h: u64): u32 {
  const b = <usize>(h >> (64 - <u64>bits));
  let lo = load<u32>(index + (b << 2)), hi = load<u32>(index + ((b + 1) << 2));
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (load<u64>(pos + (<usize>mid << 3)) < h) lo = mid + 1;
    else hi = mid;
  }
  return lo == count ? 0 : lo;
}

/** The point index of one hash (find's, for a single lookup). */
export function envoyRingIndex(pos: usize, count: u32, index: usize, bits: u32, h: u64): u32 {
  return find(pos, count, index, bits, h);
}

/** Slots of n keys (UTF-8 back to back, u32 offsets[n + 1]) into out (i32), through the bucket index. */
export function envoyRingLookupKeys(pos: usize, slot: usize, count: u32, index: usize, bits: u32, bytes: usize, offsets: usize, n: u32, out: usize): void {
  let start = load<u32>(offsets);
  for (let i: usize = 0; i < <usize>n; i++) {
    const end = load<u32>(offsets + ((i + 1) << 2));
    const at = find(pos, count, index, bits, xxh64(bytes + <usize>start, end - start, 0));
    store<i32>(out + (i << 2), load<i32>(slot + (<usize>at << 2)));
    start = end;
  }
}

/** Slots of n pre-hashed keys (u64) into out, through the bucket index. */
export function envoyRingLookupHashed(pos: usize, slot: usize, count: u32, index: usize, bits: u32, hashes: usize, n: u32, out: usize): void {
  for (let i: usize = 0; i < <usize>n; i++) {
    const at = find(pos, count, index, bits, load<u64>(hashes + (i << 3)));
    store<i32>(out + (i << 2), load<i32>(slot + (<usize>at << 2)));
  }
}

/** The point index of one key. */
export function envoyRingKeyIndex(pos: usize, count: u32, index: usize, bits: u32, ptr: usize, len: u32): u32 {
  return find(pos, count, index, bits, xxh64(ptr, len, 0));
}
