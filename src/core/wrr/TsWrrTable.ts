// The pure-TypeScript twin of assembly/wrr.ts and wrrStep.ts, function for function (their
// comments explain the algorithm). Current weights are doubles, exact as integers below 2^53,
// where Wasm uses i64; the v128 steps have no twin: they compute the same pick as the scalar one.
import type { WrrTable } from './WrrTable.js';

const MODE_STEP = 0;
const MODE_RECORD = 1;
const MODE_CYCLE = 2;
const one = new Int32Array(1);
/** Short cycles are laid end to end up to this many picks, so a batch copies long runs. */
const REPEAT_TO = 256;

export class TsWrrTable implements WrrTable {
  count = 0;
  private weight = new Int32Array(4);
  private effective = new Int32Array(4);
  private current = new Float64Array(4);
  private mask = new Int32Array(4);
  private snapshot = new Float64Array(4);
  private counts = new Uint32Array(4);
  private cycle = new Int32Array(0);
  private total = 0;
  private mode = MODE_STEP;
  private steady = 0;
  private pos = 0;
  private cycleLen = 0;

  constructor(private readonly cycleMax: number) {}

  private reserve(n: number): void {
    if (n <= this.weight.length) return;
    const cap = Math.max((n + 3) & ~3, this.weight.length * 2);
    const growI = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const growF = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.weight = growI(this.weight);
    this.effective = growI(this.effective);
    this.mask = growI(this.mask);
    this.current = growF(this.current);
    this.snapshot = growF(this.snapshot);
    this.counts = new Uint32Array(cap);
  }

  sync(): void {
    if (this.mode === MODE_CYCLE) {
      const n = this.count, pos = this.pos;
      this.counts.fill(0, 0, n);
      for (let p = 0; p < pos; p++) this.counts[this.cycle[p]!]!++;
      const W = this.total;
      for (let i = 0; i < n; i++) {
        if (!this.mask[i]) continue;
        this.current[i] = this.current[i]! + pos * this.weight[i]! - W * this.counts[i]!;
      }
    }
    this.mode = MODE_STEP;
    this.steady = 0;
  }

  set(i: number, weight: number): void {
    this.sync();
    if (i === this.count) {
      this.reserve(i + 1);
      this.mask[i] = -1;
      this.current[i] = 0;
      this.total += weight;
      this.count++;
    } else if (this.mask[i]) {
      this.total += weight - this.weight[i]!;
    }
    // NOTE: a weight change keeps current_weight and resets effective_weight.
    this.weight[i] = weight;
    this.effective[i] = weight;
  }

  remove(i: number): void {
    this.sync();
    if (this.mask[i]) this.total -= this.weight[i]!;
    const n = this.count;
    this.weight.copyWithin(i, i + 1, n);
    this.effective.copyWithin(i, i + 1, n);
    this.mask.copyWithin(i, i + 1, n);
    this.current.copyWithin(i, i + 1, n);
    this.count--;
    this.weight[this.count] = 0;
    this.effective[this.count] = 0;
    this.mask[this.count] = 0;
    this.current[this.count] = 0;
  }

  fail(i: number, maxFails: number): void {
    this.sync();
    if (maxFails === 0) return;
    const e = this.effective[i]! - Math.floor(this.weight[i]! / maxFails);
    this.effective[i] = Math.max(e, 0);
  }

  setEligible(i: number, eligible: boolean): void {
    if ((this.mask[i] !== 0) === eligible) return;
    this.sync();
    this.mask[i] = eligible ? -1 : 0;
    this.total += eligible ? this.weight[i]! : -this.weight[i]!;
  }

  rescale(factor: number): void {
    this.sync();
    for (let i = 0; i < this.count; i++) {
      this.weight[i] = this.weight[i]! * factor;
      this.effective[i] = this.effective[i]! * factor;
      this.current[i] = this.current[i]! * factor;
    }
    this.total *= factor;
  }

  private step(): number {
    const n = this.count;
    const { mask, weight, effective: eff, current } = this;
    let total = 0;
    let best = -1;
    let bestCurrent = -Infinity;
    let recovering = 0;
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      const effective = eff[i]!;
      const w = weight[i]!;
      const c = current[i]! + effective;
      current[i] = c;
      total += effective;
      if (effective < w) {
        eff[i] = effective + 1;
        recovering |= +(effective + 1 < w);
      }
      if (c > bestCurrent) {
        best = i;
        bestCurrent = c;
      }
    }
    if (best >= 0) current[best] = bestCurrent - total;
    this.steady = recovering ? 0 : 1;
    return best;
  }

  pick(): number {
    this.pickBatch(one, 1);
    return one[0]!;
  }

  pickBatch(out: Int32Array, n: number): void {
    let i = 0;
    while (i < n) {
      if (this.mode === MODE_CYCLE) {
        const k = Math.min(n - i, this.cycleLen - this.pos);
        out.set(this.cycle.subarray(this.pos, this.pos + k), i);
        this.pos += k;
        if (this.pos === this.cycleLen) this.pos = 0;
        i += k;
        continue;
      }
      if (this.mode === MODE_STEP && this.steady && this.total > 0 && this.total <= this.cycleMax) this.startRecording();
      const s = this.step();
      out[i++] = s;
      if (this.mode === MODE_RECORD) {
        this.cycle[this.pos] = s;
        if (++this.pos === this.total) {
          // NOTE: the recording is a cycle only if it ends in the state it began with.
          let same = true;
          for (let k = 0; k < this.count && same; k++) same = this.current[k] === this.snapshot[k];
          this.mode = same ? MODE_CYCLE : MODE_STEP;
          this.pos = 0;
          if (same) this.repeatCycle();
        }
      }
    }
  }

  private repeatCycle(): void {
    const W = this.total;
    const len = W >= REPEAT_TO ? W : W * Math.ceil(REPEAT_TO / W);
    for (let at = W; at < len; at += W) this.cycle.copyWithin(at, 0, W);
    this.cycleLen = len;
  }

  private startRecording(): void {
    const need = Math.max(this.total, REPEAT_TO + this.total);
    if (need > this.cycle.length) this.cycle = new Int32Array(need);
    this.snapshot.set(this.current.subarray(0, this.count));
    this.mode = MODE_RECORD;
    this.pos = 0;
  }

  peers(): { weight: number; effective: number; current: number; eligible: boolean }[] {
    this.sync();
    return Array.from({ length: this.count }, (_, i) => ({
      weight: this.weight[i]!,
      effective: this.effective[i]!,
      current: this.current[i]!,
      eligible: this.mask[i] !== 0,
    }));
  }

  dispose(): void {}
}
