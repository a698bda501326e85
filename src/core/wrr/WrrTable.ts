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
 * Peers from which the Wasm engine uses its v128 step. Measured in one run of
 * bench/wrr.bench.ts ("step strategy"), v128 over scalar: 0.45x at 4 peers, 0.62x at 8, 0.90x
 * at 16, 1.10x at 24, 1.28x at 32, 2.3x at 256: the vector step's fixed cost (reductions and the
 * search for the first maximum) pays off from about 20 peers.
 */
export const SIMD_FROM = 20;
