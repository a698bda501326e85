// The Wasm engine of SmoothWrr: peer arrays in the core's linear memory (assembly/wrr.ts).
import { heapI32, scratch, wasmCore, type CoreExports } from '../wasm.js';
import { SIMD_FROM, type WrrTable } from './WrrTable.js';

const registry = new FinalizationRegistry<number>((table) => wasmCore().wrrFree(table));

export class WasmWrrTable implements WrrTable {
  private readonly core: CoreExports;
  /** The table's address in the core's memory (assembly/layout.ts, Wrr). */
  readonly table: number;
  private readonly token = {};

  constructor(cycleMax: number, simdFrom = SIMD_FROM) {
    this.core = wasmCore();
    this.table = this.core.wrrNew(cycleMax, simdFrom);
    registry.register(this, this.table, this.token);
  }

  get count(): number {
    return this.core.wrrCount(this.table);
  }

  set(i: number, weight: number): void {
    this.core.wrrSet(this.table, i, weight);
  }

  remove(i: number): void {
    this.core.wrrRemove(this.table, i);
  }

  fail(i: number, maxFails: number): void {
    this.core.wrrFail(this.table, i, maxFails);
  }

  setEligible(i: number, eligible: boolean): void {
    this.core.wrrSetEligible(this.table, i, eligible ? 1 : 0);
  }

  rescale(factor: number): void {
    this.core.wrrRescale(this.table, factor);
  }

  pick(): number {
    return this.core.wrrPick(this.table);
  }

  pickBatch(out: Int32Array, n: number): void {
    const ptr = scratch(n * 4);
    this.core.wrrPickBatch(this.table, ptr, n);
    out.set(heapI32().subarray(ptr >>> 2, (ptr >>> 2) + n));
  }

  peers(): { weight: number; effective: number; current: number; eligible: boolean }[] {
    const core = this.core, t = this.table;
    core.wrrSync(t);
    const n = core.wrrCount(t);
    const i32 = heapI32();
    const current = new BigInt64Array(i32.buffer, core.wrrCurrent(t), n);
    const w = core.wrrWeights(t) >>> 2, e = core.wrrEffective(t) >>> 2, m = core.wrrMask(t) >>> 2;
    return Array.from({ length: n }, (_, i) => ({
      weight: i32[w + i]!,
      effective: i32[e + i]!,
      current: Number(current[i]!),
      eligible: i32[m + i] !== 0,
    }));
  }

  dispose(): void {
    registry.unregister(this.token);
    this.core.wrrFree(this.table);
  }
}
