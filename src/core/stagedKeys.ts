// Keys as the core's batch lookups take them, in the scratch region: offsets u32[n + 1], room for
// the n i32 slots of the answer, then the UTF-8 bytes back to back (assembly/layout.ts, "Batch
// keys"). Every Wasm table that looks keys up in batches stages them here.
import { encodeKeys, unitsOf } from './keys.js';
import { heapI32, heapU32, heapU8, scratch } from './wasm.js';

/** Where staged keys are: their bytes, their offsets, and the answer's slots. Reused: read it before the next call. */
export interface StagedKeys {
  bytes: number;
  offsets: number;
  out: number;
}

const staged: StagedKeys = { bytes: 0, offsets: 0, out: 0 };

/** Encodes keys[from, to) into the scratch region (INVALID_KEY for a non-string, before any copy). */
export function stageKeys(keys: readonly string[], from = 0, to = keys.length): StagedKeys {
  const n = to - from;
  const fixed = (2 * n + 1) * 4;
  let base = 0;
  const offsets = encodeKeys(
    keys,
    (bytes) => {
      base = scratch(fixed + bytes);
      return heapU8().subarray(base + fixed, base + fixed + bytes);
    },
    from,
    to,
  );
  heapU32().set(offsets.subarray(0, n + 1), base >>> 2);
  staged.bytes = base + fixed;
  staged.offsets = base;
  staged.out = base + (n + 1) * 4;
  return staged;
}

// Keys staged at once: a batch is looked up window by window, so that its joined text and its
// bytes stay in the caches (one 1M-key batch joined whole ran at half the speed of 8K windows).
const kWindow = 8192;

/**
 * Looks `keys` up window by window: each window staged, `lookup(staged, count)` called, its slots
 * copied to `out` at the window's place. Every key is checked first (INVALID_KEY, naming its
 * index), so a bad key leaves `out` as it was.
 */
export function lookupInWindows(keys: readonly string[], out: Int32Array, lookup: (k: StagedKeys, n: number) => void): void {
  if (keys.length > kWindow) unitsOf(keys);
  for (let from = 0; from < keys.length; from += kWindow) {
    const to = Math.min(keys.length, from + kWindow);
    const k = stageKeys(keys, from, to);
    lookup(k, to - from);
    out.set(heapI32().subarray(k.out >>> 2, (k.out >>> 2) + (to - from)), from);
  }
}
