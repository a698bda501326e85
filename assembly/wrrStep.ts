// The nginx pick step over the peer arrays of assembly/wrr.ts: scalar below SIMD_FROM peers
// (src/core/wrr/WrrTable.ts), v128 from there. All variants give the same pick.

import { Wrr, w32, w64 } from './layout';

/** One nginx pick over the peer arrays, scalar. Returns the index, or -1 if none is eligible. */
function stepScalar(r: Wrr): i32 {
  const n = r.n;
  let total: i32 = 0;
  let best: i32 = -1;
  let bestCurrent: i64 = i64.MIN_VALUE;
  let recovering: i32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    if (!load<i32>(w32(r.mask, i))) continue;
    const effective = load<i32>(w32(r.effective, i));
    const weight = load<i32>(w32(r.weight, i));
    const current = load<i64>(w64(r.current, i)) + <i64>effective;
    store<i64>(w64(r.current, i), current);
    total += effective;
    if (effective < weight) {
      store<i32>(w32(r.effective, i), effective + 1);
      recovering |= <i32>(effective + 1 < weight);
    }
    // Selects, not a branch: over the periodic sequence a "new maximum" branch is predicted
    // well in some runs and badly in others, which made this step's speed bimodal.
    const better = current > bestCurrent;
    best = select<i32>(<i32>i, best, better);
    bestCurrent = select<i64>(current, bestCurrent, better);
  }
  if (best >= 0) store<i64>(w64(r.current, <u32>best), bestCurrent - <i64>total);
  r.steady = recovering ? 0 : 1;
  return best;
}

/**
 * The same pick, two peers a vector: current weights are i64, so a v128 holds two of them.
 * A first pass adds, recovers and keeps the lane maxima; a second finds the first peer that
 * holds the maximum (the tie order). Padding peers have mask 0 and never win.
 */
function stepSimd(r: Wrr): i32 {
  const n = r.n;
  const MIN = i64x2.splat(i64.MIN_VALUE);
  const ONE = i32x4.splat(1);
  let totals = i32x4.splat(0);
  let recovering = i32x4.splat(0);
  let best64 = MIN;
  let bestHi = MIN;
  for (let i: u32 = 0; i < n; i += 4) {
    const mask = v128.load(w32(r.mask, i));
    const weight = v128.load(w32(r.weight, i));
    const effective = v128.and(v128.load(w32(r.effective, i)), mask);
    totals = i32x4.add(totals, effective);
    const lo = i64x2.add(v128.load(w64(r.current, i)), i64x2.extend_low_i32x4_s(effective));
    const hi = i64x2.add(v128.load(w64(r.current, i), 16), i64x2.extend_high_i32x4_s(effective));
    v128.store(w64(r.current, i), lo);
    v128.store(w64(r.current, i), hi, 16);
    const below = v128.and(i32x4.lt_s(effective, weight), mask);
    const next = i32x4.add(effective, v128.and(below, ONE));
    // Ineligible peers keep their effective weight (the mask zeroed it above).
    v128.store(w32(r.effective, i), v128.bitselect(next, v128.load(w32(r.effective, i)), mask));
    recovering = v128.or(recovering, v128.and(i32x4.lt_s(next, weight), mask));
    const mlo = i64x2.extend_low_i32x4_s(mask);
    const mhi = i64x2.extend_high_i32x4_s(mask);
    const clo = v128.bitselect(lo, MIN, mlo);
    const chi = v128.bitselect(hi, MIN, mhi);
    best64 = v128.bitselect(best64, clo, i64x2.gt_s(best64, clo));
    bestHi = v128.bitselect(bestHi, chi, i64x2.gt_s(bestHi, chi));
  }
  best64 = v128.bitselect(best64, bestHi, i64x2.gt_s(best64, bestHi));
  const a = i64x2.extract_lane(best64, 0), b = i64x2.extract_lane(best64, 1);
  const top = a > b ? a : b;
  r.steady = v128.any_true(recovering) ? 0 : 1;
  if (top == i64.MIN_VALUE) {
    // No eligible peer, unless one really sits at the minimum: settle it the scalar way.
    let any = false;
    for (let i: u32 = 0; i < n; i++) any = any || load<i32>(w32(r.mask, i)) != 0;
    if (!any) return -1;
  }
  const total = i32x4.extract_lane(totals, 0) + i32x4.extract_lane(totals, 1) +
    i32x4.extract_lane(totals, 2) + i32x4.extract_lane(totals, 3);
  const want = i64x2.splat(top);
  for (let i: u32 = 0; i < n; i += 2) {
    const hit = v128.and(i64x2.eq(v128.load(w64(r.current, i)), want), i64x2.extend_low_i32x4_s(v128.load64_zero(w32(r.mask, i))));
    const bits = i64x2.bitmask(hit);
    if (bits) {
      const best = i + ctz<u32>(bits);
      store<i64>(w64(r.current, best), top - <i64>total);
      return <i32>best;
    }
  }
  return -1;
}

/**
 * The v128 pick when every peer is eligible (the common case): no masks at all, as padding
 * peers have weight 0 and the lowest current weight. About a third fewer operations.
 */
function stepSimdAll(r: Wrr): i32 {
  const n = r.n;
  let totals = i32x4.splat(0);
  let recovering = i32x4.splat(0);
  let best64 = i64x2.splat(i64.MIN_VALUE);
  let bestHi = best64;
  for (let i: u32 = 0; i < n; i += 4) {
    const weight = v128.load(w32(r.weight, i));
    const effective = v128.load(w32(r.effective, i));
    totals = i32x4.add(totals, effective);
    const lo = i64x2.add(v128.load(w64(r.current, i)), i64x2.extend_low_i32x4_s(effective));
    const hi = i64x2.add(v128.load(w64(r.current, i), 16), i64x2.extend_high_i32x4_s(effective));
    v128.store(w64(r.current, i), lo);
    v128.store(w64(r.current, i), hi, 16);
    // Lanes below their weight are all ones (-1): subtracting adds the recovery step.
    const next = i32x4.sub(effective, i32x4.lt_s(effective, weight));
    v128.store(w32(r.effective, i), next);
    recovering = v128.or(recovering, i32x4.lt_s(next, weight));
    // Two running maxima, so the two halves do not wait on each other.
    best64 = v128.bitselect(best64, lo, i64x2.gt_s(best64, lo));
    bestHi = v128.bitselect(bestHi, hi, i64x2.gt_s(bestHi, hi));
  }
  r.steady = v128.any_true(recovering) ? 0 : 1;
  const total = i32x4.extract_lane(totals, 0) + i32x4.extract_lane(totals, 1) +
    i32x4.extract_lane(totals, 2) + i32x4.extract_lane(totals, 3);
  return takeFirst(r, v128.bitselect(best64, bestHi, i64x2.gt_s(best64, bestHi)), <i64>total);
}

/**
 * The v128 pick in steady state with every peer eligible: no effective weight moves (each equals
 * its weight) and their total is W, so a step is only "add, keep the maximum".
 */
function stepSimdSteady(r: Wrr): i32 {
  const n = r.n;
  let best64 = i64x2.splat(i64.MIN_VALUE);
  let bestHi = best64;
  for (let i: u32 = 0; i < n; i += 4) {
    const effective = v128.load(w32(r.effective, i));
    const lo = i64x2.add(v128.load(w64(r.current, i)), i64x2.extend_low_i32x4_s(effective));
    const hi = i64x2.add(v128.load(w64(r.current, i), 16), i64x2.extend_high_i32x4_s(effective));
    v128.store(w64(r.current, i), lo);
    v128.store(w64(r.current, i), hi, 16);
    // Two running maxima, so the two halves do not wait on each other.
    best64 = v128.bitselect(best64, lo, i64x2.gt_s(best64, lo));
    bestHi = v128.bitselect(bestHi, hi, i64x2.gt_s(bestHi, hi));
  }
  return takeFirst(r, v128.bitselect(best64, bestHi, i64x2.gt_s(best64, bestHi)), <i64>r.total);
}

/** Lowers the first peer holding the larger lane of best64 by total and returns its index. */
// @ts-ignore: decorator
@inline function takeFirst(r: Wrr, best64: v128, total: i64): i32 {
  const a = i64x2.extract_lane(best64, 0), b = i64x2.extract_lane(best64, 1);
  const top = a > b ? a : b;
  const want = i64x2.splat(top);
  for (let i: u32 = 0; i < r.n; i += 2) {
    const bits = i64x2.bitmask(i64x2.eq(v128.load(w64(r.current, i)), want));
    if (bits) {
      const best = i + ctz<u32>(bits);
      store<i64>(w64(r.current, best), top - total);
      return <i32>best;
    }
  }
  return -1;
}

// @ts-ignore: decorator
@inline export function step(r: Wrr): i32 {
  if (r.n < r.simdFrom) return stepScalar(r);
  if (r.ineligible) return stepSimd(r);
  return r.steady ? stepSimdSteady(r) : stepSimdAll(r);
}
