// A compact read-only copy of a big ring table, for looking up one key at a time.
//
// A ring of 160,000 points keeps 2.3 MB of index, positions and owners; a lookup makes two loads
// in a row into it (the bucket, then its points), and past the core's L2 cache (about 1 MB) a load
// that waits on another costs ~180 ns on the machines this was measured on, several times the
// rest of a get. This copy keeps the same search in well under 1 MB: at least 2^16 buckets, so
// that the points of a bucket share their top 16 bits and only the low 16 of each position are
// kept, and 16-bit owners. A batch streams its keys through the core's own table instead.
//
// It is built from the table's arrays on demand (HashRing's get decides when) and thrown away
// at the table's next change: a copy is never patched, so it cannot drift from the table.
import { SCAN_LIMIT } from './RingTable.js';

/**
 * Rings below this many points fit the caches as they are: the core's table is 2^(bits) index
 * entries and 8 bytes a point, about 1 MB (a core's L2) at 65,536 points. The copy costs about
 * 17 ns a point to build (2.9 ms at 160,000 points) and 0.9 MB at 160,000 points, 4.9 MB at 1M.
 */
export const kCompactFrom = 65_536;
const kMinBits = 16;

export class CompactIndex {
  readonly #shift: number;
  // index[b] = first point with position >= b << shift; index[buckets] = count.
  readonly #index: Uint32Array;
  // Low 16 bits of each position, and each point's owner; [count] is the wrap to point 0.
  readonly #low: Uint16Array;
  readonly #owner: Uint16Array;

  /** Made by CompactBuilder (or `of`), from arrays it filled. */
  constructor(shift: number, index: Uint32Array, low: Uint16Array, owner: Uint16Array) {
    this.#shift = shift;
    this.#index = index;
    this.#low = low;
    this.#owner = owner;
  }

  /**
   * The copy of `count` points at pos[0..count) (ascending) owned by slot[0..count), read from
   * views at word offsets, in one go; undefined when an owner does not fit 16 bits (65,535
   * nodes or more).
   */
  static of(u: Uint32Array, pos: number, slot: number, count: number): CompactIndex | undefined {
    return new CompactBuilder(count).step(u, pos, slot, Infinity);
  }

  /** The slot owning hash h: the owner of the first point at or after h, clockwise. */
  slotOf(h: number): number {
    const b = h >>> this.#shift;
    const index = this.#index, low = this.#low;
    let lo = index[b]!;
    let hi = index[b + 1]!;
    // The bucket's points share h's top bits: comparing the low 16 bits orders them as in full.
    const l = h & 0xffff;
    if (hi - lo > SCAN_LIMIT) {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (low[mid]! < l) lo = mid + 1;
        else hi = mid;
      }
    } else {
      while (lo < hi && low[lo]! < l) lo++;
    }
    // Past the bucket's last point: the next point is the first of a later bucket (or the wrap).
    return this.#owner[lo]!;
  }
}

/**
 * Builds a CompactIndex a slice at a time: the whole build is about 17 ns a point (2.9 ms at
 * 160,000 points, 17 ms at 1M), too long a stall for the one get that would pay it. The table must
 * not change between steps (its owner drops the builder at a change).
 */
export class CompactBuilder {
  /** Set when an owner does not fit 16 bits: no copy can be made of this table. */
  failed = false;
  readonly #count: number;
  readonly #bits: number;
  readonly #index: Uint32Array;
  readonly #low: Uint16Array;
  readonly #owner: Uint16Array;
  // Points copied and counted into their buckets, then buckets summed.
  #point = 0;
  #bucket = 0;

  constructor(count: number) {
    // 2 to 4 points a bucket: the index (4 bytes a bucket) stays under the points' (4 bytes each).
    this.#bits = Math.max(kMinBits, 32 - Math.clz32(count) - 2);
    this.#count = count;
    this.#index = new Uint32Array((1 << this.#bits) + 1);
    this.#low = new Uint16Array(count + 1);
    this.#owner = new Uint16Array(count + 1);
  }

  /**
   * Up to `work` more points or buckets of the build, read through views `u` of the table (its
   * arrays at word offsets pos and slot); the copy once it is complete, else undefined.
   */
  step(u: Uint32Array, pos: number, slot: number, work: number): CompactIndex | undefined {
    if (this.failed) return undefined;
    const count = this.#count, shift = 32 - this.#bits, index = this.#index, low = this.#low, owner = this.#owner;
    let j = this.#point;
    for (; j < count && work > 0; j++, work--) {
      const p = u[pos + j]!;
      const s = u[slot + j]!;
      if (s > 0xffff) {
        this.failed = true;
        return undefined;
      }
      index[(p >>> shift) + 1]!++;
      low[j] = p & 0xffff;
      owner[j] = s;
    }
    this.#point = j;
    if (j < count) return undefined;
    owner[count] = owner[0]!;
    const buckets = 1 << this.#bits;
    let b = this.#bucket;
    for (; b < buckets && work > 0; b++, work--) index[b + 1]! += index[b]!;
    this.#bucket = b;
    return b < buckets ? undefined : new CompactIndex(shift, index, low, owner);
  }
}
