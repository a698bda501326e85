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
 * Peers from which the Wasm engine uses its v128 step. Both steps are branch-free in the
 * maximum (the scalar one selects; with a branch its speed was bimodal between runs, as the
 * branch predictor learnt the periodic pattern only sometimes). Measured in one run, picks/s:
 *   peers       4      8      12     16     24     32     256
 *   v128       52 M   44 M   39 M   34 M   29 M   23 M   5.4 M
 *   scalar    103 M   65 M   46 M   35 M   25 M   18 M   2.5 M
 * The vector step's fixed cost (reductions, the search for the first maximum) pays off from
 * about 20 peers. bench/wrr.bench.ts ("step strategy") measures it again.
 */
export const SIMD_FROM = 20;
