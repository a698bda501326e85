/**
 * The engine behind a SmoothWrr: peer arrays and nginx's pick over them. WasmWrrTable
 * (assembly/wrr.ts) and TsWrrTable, its twin, share these names and argument order. Peers are
 * indexed in insertion order; weights are the facade's scaled integers.
 */
export interface WrrTable {
  readonly count: number;
  /** Adds a peer at index `count`, or changes the weight of peer i (effective reset). */
  set(i: number, weight: number): void;
  remove(i: number): void;
  fail(i: number, maxFails: number): void;
  setEligible(i: number, eligible: boolean): void;
  rescale(factor: number): void;
  /** One pick: the peer index, or -1. */
  pick(): number;
  /** n picks into out[0..n). */
  pickBatch(out: Int32Array, n: number): void;
  /** The exact state of every peer (the cycle, if any, is left first). */
  peers(): { weight: number; effective: number; current: number; eligible: boolean }[];
  dispose(): void;
}

/** Longest cycle kept (W = sum of eligible scaled weights); 256 KiB of picks. */
export const CYCLE_MAX = 1 << 16;
/**
 * Peers from which the Wasm engine uses its v128 step. bench/wrr.bench.ts ("step strategy")
 * measures v128 over scalar in one run. The v128 step is branch-free and steady from run to run;
 * the scalar step's speed is bimodal (its "is this the new maximum" branch over a periodic
 * sequence is learnt by the branch predictor in some runs and not in others). Two runs here:
 *   peers            4      8      12     16     20     24     32
 *   scalar fast     0.45x  0.62x  0.75x  0.90x   -     1.10x  1.28x
 *   scalar slow     0.90x  1.41x  1.73x  1.90x  2.03x  2.24x  2.57x
 * From 16 peers v128 loses at most 10% and often wins by 2x.
 */
export const SIMD_FROM = 16;
