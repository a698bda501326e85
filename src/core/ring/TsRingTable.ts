// The pure-TypeScript twin of assembly/ring.ts and ringLookup.ts, function for function.
// Typed arrays stand in for linear memory, with the same sentinels and bucket index.
import { DIGEST, keyHash, md5, sha1, xxh32, MODE_KETAMA, MODE_SHA1, type HashMode } from '../hash.js';
import { encodeKey, encodeKeys } from '../keys.js';
import { HeapLoadArrays, SCAN_LIMIT, SPEC_WORDS, type LoadArrays, type RingTable, type TieBefore } from './RingTable.js';
import { radixSort } from './sort.js';

const MIN_BITS = 4;
const MAX_BITS = 20;
const digest = new DataView(DIGEST.buffer);

let newPos = new Uint32Array(64);
let newSlot = new Uint32Array(64);
let tmpPos = new Uint32Array(64);
let tmpSlot = new Uint32Array(64);
let text = new Uint8Array(64);
let keyBytes = new Uint8Array(256);

function reserveNew(n: number): void {
  if (n <= newPos.length) return;
  newPos = new Uint32Array(n);
  newSlot = new Uint32Array(n);
  tmpPos = new Uint32Array(n);
  tmpSlot = new Uint32Array(n);
}

/** Index bits for n points: about one point per bucket, 2^bits > n. */
function bitsFor(n: number): number {
  return Math.min(MAX_BITS, Math.max(MIN_BITS, 32 - Math.clz32(n)));
}

/** First index in [lo, hi) whose position is >= h, or hi. */
function lowerBound(pos: Uint32Array, lo: number, hi: number, h: number): number {
  let n = hi - lo;
  while (n > 0) {
    const half = n >>> 1;
    if (pos[lo + half]! < h) {
      lo += half + 1;
      n -= half + 1;
    } else {
      n = half;
    }
  }
  return lo;
}

/** First i in [from, n) with slots[i] === slot, or n. */
function nextOf(slots: Uint32Array, from: number, n: number, slot: number): number {
  const i = slots.indexOf(slot, from);
  return i < 0 || i > n ? n : i;
}

let hashScratch = new Uint32Array(1024);
function reserveHashes(n: number): Uint32Array {
  if (n > hashScratch.length) hashScratch = new Uint32Array(Math.max(n, hashScratch.length * 2));
  return hashScratch;
}

function reserveKeyBytes(n: number): Uint8Array {
  if (n > keyBytes.length) keyBytes = new Uint8Array(Math.max(n, keyBytes.length * 2));
  return keyBytes;
}

/** Writes `v` in decimal at text[p..]; returns the number of digits (as String(v)). */
function writeDecimal(p: number, v: number): number {
  let digits = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
  let at = p + digits;
  do {
    at--;
    text[at] = 48 + (v % 10);
    v = Math.floor(v / 10);
  } while (v);
  return digits;
}

/** Points generated for one node, appended at newPos/newSlot[at..]; returns the new `at`. */
function generate(mode: HashMode, slot: number, ids: Uint8Array, id: number, idLen: number, count: number, at: number): number {
  if (text.length < idLen + 12) text = new Uint8Array(idLen + 12);
  text.set(ids.subarray(id, id + idLen));
  text[idLen] = mode === MODE_KETAMA ? 45 : mode === MODE_SHA1 ? 58 : 95;
  const digitsAt = idLen + 1;
  for (let i = 0; i < count; i++) {
    const len = idLen + 1 + writeDecimal(digitsAt, i);
    if (mode === MODE_KETAMA) {
      md5(text, 0, len);
      for (let j = 0; j < 4; j++) {
        newPos[at] = digest.getUint32(j << 2, true);
        newSlot[at] = slot;
        at++;
      }
    } else {
      let h: number;
      if (mode === MODE_SHA1) {
        sha1(text, 0, len);
        h = digest.getUint32(0, false);
      } else {
        h = xxh32(text, 0, len, 0);
      }
      newPos[at] = h;
      newSlot[at] = slot;
      at++;
    }
  }
  return at;
}

export class TsRingTable implements RingTable {
  readonly mode: HashMode;
  count = 0;
  private cap = 0;
  private pos = new Uint32Array(1).fill(0xffffffff);
  private slot = new Uint32Array(1);
  private shift = 32 - MIN_BITS;
  private index = new Uint32Array(0);
  private seen = new Uint32Array(0);
  private epoch = 0;
  private readonly tieBefore: TieBefore;

  constructor(mode: HashMode, tieBefore: TieBefore) {
    this.mode = mode;
    this.tieBefore = tieBefore;
    this.rebuildIndex();
  }

  clear(): void {
    this.count = 0;
    this.pos[0] = 0xffffffff;
    this.slot[0] = 0;
    this.rebuildIndex();
  }

  // ---- build ----

  insert(specs: Uint32Array, n: number, ids: Uint8Array): number {
    let total = 0;
    let maxSlot = 0;
    for (let k = 0; k < n; k++) {
      const c = specs[k * SPEC_WORDS + 3]!;
      total += this.mode === MODE_KETAMA ? c * 4 : c;
      maxSlot = Math.max(maxSlot, specs[k * SPEC_WORDS]!);
    }
    reserveNew(total);
    this.reserveSeen(maxSlot + 1);
    this.reserveTable(this.count + total);
    let at = 0;
    for (let k = 0; k < n; k++) {
      const s = k * SPEC_WORDS;
      at = generate(this.mode, specs[s]!, ids, specs[s + 1]!, specs[s + 2]!, specs[s + 3]!, at);
    }
    radixSort(newPos, newSlot, tmpPos, tmpSlot, total);
    this.merge(total);
    this.finish(total, 1);
    return total;
  }

  /** Merges the sorted newPos/newSlot[0..k) into the table in place, from the back. */
  private merge(k: number): void {
    const pos = this.pos, slot = this.slot;
    let end = this.count;
    for (let j = k - 1; j >= 0; j--) {
      const np = newPos[j]!;
      const ns = newSlot[j]!;
      let at = lowerBound(pos, 0, end, np);
      // NOTE: equal positions order by node; the new point goes before the first old point whose
      // node it precedes (old points of one position are already in node order).
      while (at < end && pos[at] === np && !this.tieBefore(ns, slot[at]!)) at++;
      pos.copyWithin(at + j + 1, at, end);
      slot.copyWithin(at + j + 1, at, end);
      pos[at + j] = np;
      slot[at + j] = ns;
      end = at;
    }
    this.count += k;
  }

  remove(slot: number): number {
    const pos = this.pos, slots = this.slot, n = this.count;
    let k = 0;
    for (let i = nextOf(slots, 0, n, slot); i < n; i = nextOf(slots, i + 1, n, slot)) k++;
    if (k === 0) return 0;
    reserveNew(k);
    let w = 0;
    let m = 0;
    let from = 0;
    while (from < n) {
      const hit = nextOf(slots, from, n, slot);
      if (w !== from) {
        pos.copyWithin(w, from, hit);
        slots.copyWithin(w, from, hit);
      }
      w += hit - from;
      if (hit === n) break;
      newPos[m++] = pos[hit]!;
      from = hit + 1;
    }
    this.count = w;
    this.finish(m, -1);
    return k;
  }

  private reserveTable(n: number): void {
    if (n <= this.cap) return;
    const cap = Math.max(this.cap + (this.cap >>> 1), n, 64);
    const pos = new Uint32Array(cap + 1);
    const slot = new Uint32Array(cap + 1);
    pos.set(this.pos.subarray(0, this.count));
    slot.set(this.slot.subarray(0, this.count));
    this.pos = pos;
    this.slot = slot;
    this.cap = cap;
  }

  private reserveSeen(n: number): void {
    if (n <= this.seen.length) return;
    const seen = new Uint32Array(Math.max(n, this.seen.length * 2));
    seen.set(this.seen);
    this.seen = seen;
  }

  /** Restores the sentinels and patches or rebuilds the index after newPos[0..k) changed. */
  private finish(k: number, sign: number): void {
    const n = this.count;
    this.pos[n] = 0xffffffff;
    this.slot[n] = n ? this.slot[0]! : 0;
    if (bitsFor(n) === 32 - this.shift && this.index.length) this.patchIndex(k, sign);
    else this.rebuildIndex();
  }

  private patchIndex(k: number, sign: number): void {
    const shift = this.shift, index = this.index;
    const end = (1 << (32 - shift)) + 1;
    for (let j = 0; j < k; j++) {
      const from = (newPos[j]! >>> shift) + 1;
      const to = j + 1 < k ? (newPos[j + 1]! >>> shift) + 1 : end;
      const delta = sign * (j + 1);
      for (let b = from; b < to; b++) index[b] = index[b]! + delta;
    }
  }

  private rebuildIndex(): void {
    const n = this.count;
    const bits = bitsFor(n);
    const buckets = 1 << bits;
    if (buckets + 1 > this.index.length) this.index = new Uint32Array(buckets + 1);
    const shift = 32 - bits;
    this.shift = shift;
    const pos = this.pos, index = this.index;
    index.fill(0, 0, buckets + 1);
    for (let j = 0; j < n; j++) index[(pos[j]! >>> shift) + 1]!++;
    let sum = 0;
    for (let b = 0; b <= buckets; b++) {
      sum += index[b]!;
      index[b] = sum;
    }
  }

  // ---- pick ----

  /** Index of the first point with position >= h; `count` means wrap (slot[count] = slot[0]). */
  private find(h: number): number {
    const pos = this.pos, index = this.index;
    const b = h >>> this.shift;
    let lo = index[b]!;
    const hi = index[b + 1]!;
    if (hi - lo > SCAN_LIMIT) return lowerBound(pos, lo, hi, h);
    lo += +(pos[lo]! < h);
    lo += +(pos[lo]! < h);
    while (pos[lo]! < h) lo++;
    return lo;
  }

  lookupHashed(hashes: Uint32Array, out: Int32Array): void {
    const n = hashes.length;
    if (this.count === 0) {
      out.fill(-1, 0, n);
      return;
    }
    const slot = this.slot;
    for (let i = 0; i < n; i++) out[i] = slot[this.find(hashes[i]!)]!;
  }

  lookupKeys(keys: readonly string[], out: Int32Array): void {
    const n = keys.length;
    if (this.count === 0) {
      out.fill(-1, 0, n);
      return;
    }
    const offsets = encodeKeys(keys, reserveKeyBytes);
    const bytes = keyBytes, mode = this.mode;
    // Two passes, all hashes then all lookups, as the Wasm core does (see its comment).
    const hashes = reserveHashes(n);
    let start = offsets[0]!;
    for (let i = 0; i < n; i++) {
      const end = offsets[i + 1]!;
      hashes[i] = keyHash(mode, bytes, start, end - start);
      start = end;
    }
    this.lookupHashed(hashes.subarray(0, n), out);
  }

  hashKey(key: string): number {
    const bytes = reserveKeyBytes(key.length * 3);
    return keyHash(this.mode, bytes, 0, encodeKey(key, bytes, 0));
  }

  lookupKey(key: string): number {
    if (this.count === 0) return -1;
    return this.slot[this.find(this.hashKey(key))]!;
  }

  walkKey(key: string, n: number, out: Int32Array): number {
    return this.walk(this.hashKey(key), n, out);
  }

  walk(hash: number, n: number, out: Int32Array): number {
    const count = this.count;
    if (count === 0 || n === 0) return 0;
    let epoch = (this.epoch + 1) >>> 0;
    if (epoch === 0) {
      this.seen.fill(0);
      epoch = 1;
    }
    this.epoch = epoch;
    const seen = this.seen, slot = this.slot;
    let at = this.find(hash);
    if (at === count) at = 0;
    let found = 0;
    for (let step = 0; step < count && found < n; step++) {
      const s = slot[at]!;
      if (seen[s] !== epoch) {
        seen[s] = epoch;
        out[found++] = s;
      }
      if (++at === count) at = 0;
    }
    return found;
  }

  loadArrays(): LoadArrays {
    return new HeapLoadArrays();
  }

  pickBounded(key: string, arrays: LoadArrays, c: number, total: number, totalCapacity: number, cost: number, out: Int32Array): number {
    if (this.count === 0) return (out[0] = out[1] = -1);
    const h = this.hashKey(key);
    let at = this.find(h);
    if (at === this.count) at = 0;
    out[1] = this.slot[at]!;
    let s = this.boundedWalk(h, arrays, c, total, totalCapacity, cost);
    if (s < 0) s = this.boundedWalk(h, arrays, Infinity, total, totalCapacity, cost);
    return (out[0] = s);
  }

  // ringWalkBounded: clockwise from `hash`, the first eligible node below its bound and within its limit; -1 if none.
  private boundedWalk(hash: number, arrays: LoadArrays, c: number, total: number, totalCapacity: number, cost: number): number {
    const count = this.count;
    if (count === 0) return -1;
    let epoch = (this.epoch + 1) >>> 0;
    if (epoch === 0) {
      this.seen.fill(0);
      epoch = 1;
    }
    this.epoch = epoch;
    // NOTE: the bound is ceil(share * capacity), share computed once, as in the Wasm core.
    const share = (c * (total + cost)) / totalCapacity;
    const { load, capacity, limit, eligible } = arrays;
    const seen = this.seen, slot = this.slot;
    let at = this.find(hash);
    if (at === count) at = 0;
    for (let step = 0; step < count; step++) {
      const s = slot[at]!;
      if (seen[s] !== epoch) {
        seen[s] = epoch;
        const used = load[s]!;
        if (eligible[s] && used < Math.ceil(share * capacity[s]!) && used + cost <= limit[s]!) return s;
      }
      if (++at === count) at = 0;
    }
    return -1;
  }

  points(): { pos: Uint32Array; slot: Uint32Array } {
    return { pos: this.pos.slice(0, this.count), slot: this.slot.slice(0, this.count) };
  }

  dispose(): void {}
}
