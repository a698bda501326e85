// The exact share of the key space whose owner differs between two rings, from their arcs.
import type { HashRing } from '../HashRing.js';

/**
 * The fraction of all 2^32 key positions (2^64 on 'envoy' rings) that map to a different node in
 * `after` than in `before`: exact, computed from the two point lists, not by sampling keys.
 *
 * Every position belongs to the first point at or after it (wrapping), so between two adjacent
 * positions of the merged point lists the owner is constant in both rings. A sweep over the
 * merged lists adds the lengths of the segments whose owners differ: O(points of both).
 * Example: adding a node to an xxh32 ring moves exactly that node's share.
 */
export function movedShare(before: HashRing, after: HashRing): number {
  return movedShareOf(before.pointList(), after.pointList());
}

/** movedShare over two point lists ([position, id], ring order), e.g. before and after a patch. */
export function movedShareOf(a: readonly (readonly [number | bigint, string])[], b: readonly (readonly [number | bigint, string])[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : 1;
  // 64-bit rings: the same sweep over positions scaled into doubles (a share needs no more precision).
  if (typeof a[0]![0] === 'bigint' || typeof b[0]![0] === 'bigint') {
    const scale = (points: readonly (readonly [number | bigint, string])[]) => points.map(([p, id]) => [Number(BigInt(p) >> 32n) + Number(BigInt(p) & 0xffffffffn) / 2 ** 32, id] as const);
    return movedShareOf(scale(a), scale(b));
  }
  return movedShareOf32(a as readonly (readonly [number, string])[], b as readonly (readonly [number, string])[]);
}

function movedShareOf32(a: readonly (readonly [number, string])[], b: readonly (readonly [number, string])[]): number {
  // Breakpoints: every distinct position of either ring, ascending.
  const cuts: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const p = j >= b.length || (i < a.length && a[i]![0] <= b[j]![0]) ? a[i]![0] : b[j]![0];
    cuts.push(p);
    while (i < a.length && a[i]![0] === p) i++;
    while (j < b.length && b[j]![0] === p) j++;
  }
  // Owner of the segment ending at cut k: the first point at or after it, in each ring.
  let moved = 0;
  let ia = 0;
  let ib = 0;
  for (let k = 0; k < cuts.length; k++) {
    const cut = cuts[k]!;
    while (ia < a.length && a[ia]![0] < cut) ia++;
    while (ib < b.length && b[ib]![0] < cut) ib++;
    const ownerA = a[ia % a.length]![1];
    const ownerB = b[ib % b.length]![1];
    if (ownerA === ownerB) continue;
    // The segment (previous cut, cut]; the first one also takes the wrap (last cut, 2^32).
    moved += k === 0 ? cut + 2 ** 32 - cuts[cuts.length - 1]! : cut - cuts[k - 1]!;
  }
  return moved / 2 ** 32;
}
