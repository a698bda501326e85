// Keys as the core's batch lookups take them, in the scratch region: offsets u32[n + 1], room for
// the n i32 slots of the answer, then the UTF-8 bytes back to back (assembly/layout.ts, "Batch
// keys"). Every Wasm table that looks keys up in batches stages them here.
import { encodeKeys } from './keys.js';
import { heapI32, heapU32, heapU8, scratch } from './wasm.js';

/** Where staged keys are: their bytes, their offsets, and the answer's slots. Reused: read it before the next call. */
export interface StagedKeys {
  bytes: number;
  offsets: number;
  out: number;
}

const staged: StagedKeys = { bytes: 0, offsets: 0, out: 0 };

/** Encodes the keys into the scratch region (INVALID_KEY for a non-string, before any copy). */
export function stageKeys(keys: readonly string[]): StagedKeys {
  const n = keys.length;
  const fixed = (2 * n + 1) * 4;
  let base = 0;
  const offsets = encodeKeys(keys, (bytes) => {
    base = scratch(fixed + bytes);
    return heapU8().subarray(base + fixed, base + fixed + bytes);
  });
  heapU32().set(offsets.subarray(0, n + 1), base >>> 2);
  staged.bytes = base + fixed;
  staged.offsets = base;
  staged.out = base + (n + 1) * 4;
  return staged;
}

/** Copies the n slots a lookup wrote at `at` into `out`. */
export function readSlots(at: number, n: number, out: Int32Array): void {
  out.set(heapI32().subarray(at >>> 2, (at >>> 2) + n));
}
