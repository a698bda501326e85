// Smooth weighted round robin, exactly as nginx does it (ngx_http_upstream_get_peer in
// src/http/ngx_http_upstream_round_robin.c), with its variable names. The TypeScript twin is
// src/core/wrr/TsWrrTable.ts; the pick step itself is in wrrStep.ts.
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

import { Wrr, w32, w64 } from './layout';
import { step } from './wrrStep';

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
