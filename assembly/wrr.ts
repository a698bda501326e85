// Smooth weighted round robin, exactly as nginx does it (ngx_http_upstream_get_peer in
// src/http/ngx_http_upstream_round_robin.c), with its variable names. The TypeScript twin is
// src/core/wrr/TsWrrTable.ts.
//
// Per pick, every eligible peer adds its effective_weight to its current_weight; the peer with
// the largest current_weight wins (the first added on ties) and is lowered by the total of the
// effective weights; an effective_weight below its weight recovers by 1. For {a:5, b:1, c:1}:
//   current before      winner   current after
//   ( 5,  1,  1)        a        (-2,  1,  1)
//   ( 3,  2,  2)        a        (-4,  2,  2)
//   ( 1,  3,  3)        b        ( 1, -4,  3)    ... a a b a c a a, then it repeats.
// The sequence spreads each peer's picks evenly, where counter-modulo round robin sends bursts.
//
// Cost: O(peers) a pick. In steady state (every effective_weight equal to its weight) the
// sequence is periodic with period W = the sum of the weights: after W picks every current
// weight is back where it was. So picks are recorded while stepping; once a recording of W picks
// ends in the state it began with, later picks are served from it at O(1) (the "cycle"), until a
// change. Leaving the cycle rebuilds the exact current weights from the recording (materialize).
//
// Weights are integers here (the facade scales fractional weights, src/core/SmoothWrr.ts);
// current weights are i64 because removals can drift their sum without bound.

import { Wrr } from './layout';

const MODE_STEP: u32 = 0;
const MODE_RECORD: u32 = 1;
const MODE_CYCLE: u32 = 2;

/** heap.realloc, but from nothing too; new bytes zeroed. */
function grow(ptr: usize, from: usize, to: usize): usize {
  const p = ptr ? heap.realloc(ptr, to) : heap.alloc(to);
  memory.fill(p + from, 0, to - from);
  return p;
}

export function wrrNew(cycleMax: u32, simdFrom: u32): usize {
  const r = changetype<Wrr>(heap.alloc(offsetof<Wrr>()));
  memory.fill(changetype<usize>(r), 0, offsetof<Wrr>());
  r.cycleMax = cycleMax;
  r.simdFrom = simdFrom;
  reserve(r, 4);
  return changetype<usize>(r);
}

export function wrrFree(ptr: usize): void {
  const r = changetype<Wrr>(ptr);
  heap.free(r.weight);
  heap.free(r.effective);
  heap.free(r.current);
  heap.free(r.mask);
  heap.free(r.snapshot);
  heap.free(r.counts);
  if (r.cycle) heap.free(r.cycle);
  heap.free(ptr);
}

/** Capacity for n peers, rounded up to whole vectors; padding peers are ineligible zeros. */
function reserve(r: Wrr, n: u32): void {
  if (n <= r.cap) return;
  const cap = max<u32>((n + 3) & ~3, r.cap << 1);
  const from32 = <usize>r.cap << 2, to32 = <usize>cap << 2;
  r.weight = grow(r.weight, from32, to32);
  r.effective = grow(r.effective, from32, to32);
  r.mask = grow(r.mask, from32, to32);
  r.counts = grow(r.counts, from32, to32);
  r.current = grow(r.current, from32 << 1, to32 << 1);
  // NOTE: padding peers sit at the lowest current weight, so an unmasked max never picks one.
  for (let i = r.cap; i < cap; i++) store<i64>(w64(r.current, i), i64.MIN_VALUE);
  r.snapshot = grow(r.snapshot, from32 << 1, to32 << 1);
  r.cap = cap;
}

export function wrrCount(ptr: usize): u32 {
  return changetype<Wrr>(ptr).n;
}

/** Pointers for reading state after wrrSync: weight, effective (i32), current (i64), mask. */
export function wrrWeights(ptr: usize): usize {
  return changetype<Wrr>(ptr).weight;
}
export function wrrEffective(ptr: usize): usize {
  return changetype<Wrr>(ptr).effective;
}
export function wrrCurrent(ptr: usize): usize {
  return changetype<Wrr>(ptr).current;
}
export function wrrMask(ptr: usize): usize {
  return changetype<Wrr>(ptr).mask;
}

// @ts-ignore: decorator
@inline function w32(base: usize, i: u32): usize {
  return base + (<usize>i << 2);
}
// @ts-ignore: decorator
@inline function w64(base: usize, i: u32): usize {
  return base + (<usize>i << 3);
}

// ---- changes: each leaves the cycle first, so the state they change is exact --------------

/**
 * Rebuilds the exact current weights at the cycle position and returns to stepping:
 * current = snapshot + pos * weight - W * (picks of the peer in cycle[0..pos)).
 */
export function wrrSync(ptr: usize): void {
  const r = changetype<Wrr>(ptr);
  if (r.mode == MODE_CYCLE) {
    const n = r.n, pos = r.pos;
    memory.fill(r.counts, 0, <usize>n << 2);
    for (let p: u32 = 0; p < pos; p++) {
      const at = w32(r.counts, load<u32>(w32(r.cycle, p)));
      store<u32>(at, load<u32>(at) + 1);
    }
    const W = <i64>r.total;
    for (let i: u32 = 0; i < n; i++) {
      if (!load<i32>(w32(r.mask, i))) continue;
      const c = load<i64>(w64(r.current, i)) + <i64>pos * <i64>load<i32>(w32(r.weight, i)) - W * <i64>load<u32>(w32(r.counts, i));
      store<i64>(w64(r.current, i), c);
    }
  }
  r.mode = MODE_STEP;
  r.steady = 0;
}

/** Adds a peer at index n (current 0, last in tie order) or changes the weight of peer i. */
export function wrrSet(ptr: usize, i: u32, weight: i32): void {
  const r = changetype<Wrr>(ptr);
  wrrSync(ptr);
  if (i == r.n) {
    reserve(r, i + 1);
    store<i32>(w32(r.mask, i), -1);
    store<i64>(w64(r.current, i), 0);
    r.total += weight;
    r.n++;
  } else if (load<i32>(w32(r.mask, i))) {
    r.total += weight - load<i32>(w32(r.weight, i));
  }
  // NOTE: a weight change keeps current_weight and resets effective_weight.
  store<i32>(w32(r.weight, i), weight);
  store<i32>(w32(r.effective, i), weight);
}

/** Removes peer i; the peers after it move down one index, keeping their order and state. */
export function wrrRemove(ptr: usize, i: u32): void {
  const r = changetype<Wrr>(ptr);
  wrrSync(ptr);
  if (load<i32>(w32(r.mask, i))) r.total -= load<i32>(w32(r.weight, i));
  if (!load<i32>(w32(r.mask, i))) r.ineligible--;
  const rest = <usize>(r.n - i - 1);
  memory.copy(w32(r.weight, i), w32(r.weight, i + 1), rest << 2);
  memory.copy(w32(r.effective, i), w32(r.effective, i + 1), rest << 2);
  memory.copy(w32(r.mask, i), w32(r.mask, i + 1), rest << 2);
  memory.copy(w64(r.current, i), w64(r.current, i + 1), rest << 3);
  r.n--;
  // The freed tail becomes padding again: an ineligible zero.
  store<i32>(w32(r.weight, r.n), 0);
  store<i32>(w32(r.effective, r.n), 0);
  store<i32>(w32(r.mask, r.n), 0);
  store<i64>(w64(r.current, r.n), i64.MIN_VALUE);
}

/** nginx's failure accounting: effective_weight -= weight / max_fails, not below 0. */
export function wrrFail(ptr: usize, i: u32, maxFails: u32): void {
  const r = changetype<Wrr>(ptr);
  wrrSync(ptr);
  if (maxFails == 0) return;
  const e = load<i32>(w32(r.effective, i)) - <i32>(<u32>load<i32>(w32(r.weight, i)) / maxFails);
  store<i32>(w32(r.effective, i), max<i32>(e, 0));
}

/** Health ejection without losing state: an ineligible peer is skipped, its state frozen. */
export function wrrSetEligible(ptr: usize, i: u32, eligible: bool): void {
  const r = changetype<Wrr>(ptr);
  const was = load<i32>(w32(r.mask, i)) != 0;
  if (was == eligible) return;
  wrrSync(ptr);
  store<i32>(w32(r.mask, i), eligible ? -1 : 0);
  r.total += eligible ? load<i32>(w32(r.weight, i)) : -load<i32>(w32(r.weight, i));
  r.ineligible += eligible ? -1 : 1;
}

/** Multiplies every weight and current weight by `factor` (the facade's scale grew). */
export function wrrRescale(ptr: usize, factor: i32): void {
  const r = changetype<Wrr>(ptr);
  wrrSync(ptr);
  for (let i: u32 = 0; i < r.n; i++) {
    store<i32>(w32(r.weight, i), load<i32>(w32(r.weight, i)) * factor);
    store<i32>(w32(r.effective, i), load<i32>(w32(r.effective, i)) * factor);
    store<i64>(w64(r.current, i), load<i64>(w64(r.current, i)) * <i64>factor);
  }
  r.total *= factor;
}

// ---- picks ----------------------------------------------------------------------------------

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
@inline function step(r: Wrr): i32 {
  if (r.n < r.simdFrom) return stepScalar(r);
  if (r.ineligible) return stepSimd(r);
  return r.steady ? stepSimdSteady(r) : stepSimdAll(r);
}

/** One pick: the peer index, or -1 if none is eligible. */
export function wrrPick(ptr: usize): i32 {
  const out = changetype<usize>(memory.data(4));
  wrrPickBatch(ptr, out, 1);
  return load<i32>(out);
}

/** n successive picks into out (i32 each). */
export function wrrPickBatch(ptr: usize, out: usize, n: u32): void {
  const r = changetype<Wrr>(ptr);
  let i: u32 = 0;
  while (i < n) {
    if (r.mode == MODE_CYCLE) {
      const k = min<u32>(n - i, r.cycleLen - r.pos);
      memory.copy(w32(out, i), w32(r.cycle, r.pos), <usize>k << 2);
      r.pos += k;
      if (r.pos == r.cycleLen) r.pos = 0;
      i += k;
      continue;
    }
    if (r.mode == MODE_STEP && r.steady && r.total > 0 && <u32>r.total <= r.cycleMax) startRecording(r);
    const s = step(r);
    store<i32>(w32(out, i), s);
    i++;
    if (r.mode == MODE_RECORD) {
      store<i32>(w32(r.cycle, r.pos), s);
      if (++r.pos == <u32>r.total) {
        // NOTE: the recording is a cycle only if it ends in the state it began with.
        r.mode = memory.compare(r.current, r.snapshot, <usize>r.n << 3) == 0 ? MODE_CYCLE : MODE_STEP;
        r.pos = 0;
        if (r.mode == MODE_CYCLE) repeatCycle(r);
      }
    }
  }
}

/** Short cycles are laid end to end up to REPEAT_TO picks, so a batch copies long runs. */
const REPEAT_TO: u32 = 256;

function repeatCycle(r: Wrr): void {
  const W = <u32>r.total;
  const len = W >= REPEAT_TO ? W : W * ((REPEAT_TO + W - 1) / W);
  for (let at = W; at < len; at += W) memory.copy(w32(r.cycle, at), r.cycle, <usize>W << 2);
  r.cycleLen = len;
}

function startRecording(r: Wrr): void {
  const W = <u32>r.total;
  const need = max<u32>(W, REPEAT_TO + W);
  if (need > r.cycleCap) {
    r.cycle = r.cycle ? heap.realloc(r.cycle, <usize>need << 2) : heap.alloc(<usize>need << 2);
    r.cycleCap = need;
  }
  memory.copy(r.snapshot, r.current, <usize>r.n << 3);
  r.mode = MODE_RECORD;
  r.pos = 0;
}
