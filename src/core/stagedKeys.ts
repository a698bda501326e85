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
 * copied to `out` at the window's place. A bad key (INVALID_KEY, naming its index) leaves `out`
 * as it was: a batch of more than one window answers into a buffer of its own, copied to `out`
 * once every key has been read.
 */
export function lookupInWindows(keys: readonly string[], out: Int32Array, lookup: (k: StagedKeys, n: number) => void): void {
  // NOTE: not a check of every key before the first window: on a batch bigger than the caches
  // that pass read every string from memory twice (a tenth of a 1M-key getSlots); the buffer
  // costs 4 bytes a key, copied once.
  const into = keys.length > kWindow ? answers(keys.length) : out;
  for (let from = 0; from < keys.length; from += kWindow) {
    const to = Math.min(keys.length, from + kWindow);
    const k = stageKeys(keys, from, to);
    lookup(k, to - from);
    into.set(heapI32().subarray(k.out >>> 2, (k.out >>> 2) + (to - from)), from);
  }
  if (into !== out) out.set(into);
}

// The answers of multi-window batches, reused up to kKeptAnswers keys (4 MB); a bigger batch
// gets a buffer of its own, left to the collector.
const kKeptAnswers = 1 << 20;
let kept = new Int32Array(0);

function answers(n: number): Int32Array {
  if (n > kKeptAnswers) return new Int32Array(n);
  if (kept.length < n) kept = new Int32Array(Math.min(kKeptAnswers, Math.max(n, kept.length * 2)));
  return kept.subarray(0, n);
}
