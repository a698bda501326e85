// UTF-8 encoding of routing keys and node ids, shared by both engines.
import { show, WasmeshError } from './WasmeshError.js';

export const encoder = new TextEncoder();

/** Throws INVALID_KEY unless `key` is a string. */
export function checkKey(key: unknown): asserts key is string {
  // The error made elsewhere: this check is inlined into every get, and V8 inlines up to a
  // budget of bytecode per caller.
  if (typeof key !== 'string') throw notAKey(key);
}

function notAKey(key: unknown): WasmeshError {
  return new WasmeshError('INVALID_KEY', `key must be a string, got ${show(key)}`);
}

function badKey(key: unknown, i: number): WasmeshError {
  return new WasmeshError('INVALID_KEY', `keys[${i}] must be a string, got ${show(key)}`);
}

/** Throws INVALID_KEY unless `keys` is an array (its entries are checked by encodeKeys). */
export function checkKeyArray(keys: unknown): asserts keys is readonly string[] {
  if (!Array.isArray(keys)) throw new WasmeshError('INVALID_KEY', `keys must be an array of strings, got ${show(keys)}`);
}

/** Total length of the keys in UTF-16 units, checking that each is a string. */
export function unitsOf(keys: readonly unknown[]): number {
  let units = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (typeof key !== 'string') throw badKey(key, i);
    units += key.length;
  }
  return units;
}

let offsets = new Uint32Array(1024);

/** Longest joined batch encoded in one call (V8 strings stop at 2^29 - 24 units). */
const MAX_JOINED = 1 << 26;

/**
 * Encodes keys[from, to) back to back into a buffer from `reserve(bytes)` and returns the key
 * boundaries: key from + i is bytes[offsets[i] - base, offsets[i + 1] - base) (`base` lets a
 * caller copy the offsets of several calls into one array as they are). `offsets` is reused by
 * the next call.
 * Throws INVALID_KEY, naming the index, for an entry that is not a string.
 *
 * One loop checks each key, appends it to a rope (s += key: V8 links, it does not copy) and
 * writes its end offset; one encodeInto then flattens and encodes the whole batch. When it was
 * all ASCII (read === written === length) the offsets are already right. Measured here on 8,192
 * keys of 11 characters, in one run: 12 ns a key, against 18 for a charCodeAt loop, 18 for
 * keys.join('') plus encodeInto, and 60 for an encodeInto per key. A non-ASCII batch is encoded
 * key by key into a buffer of the worst case, 3 bytes per UTF-16 unit.
 */
export function encodeKeys(keys: readonly string[], reserve: (bytes: number) => Uint8Array, from = 0, to = keys.length, base = 0): Uint32Array {
  const n = to - from;
  if (offsets.length < n + 1) offsets = new Uint32Array(Math.max(n + 1, offsets.length * 2));
  offsets[0] = base;
  let joined = '';
  let units = 0;
  for (let i = 0; i < n; i++) {
    const key: unknown = keys[from + i];
    if (typeof key !== 'string') throw badKey(key, from + i);
    units += key.length;
    offsets[i + 1] = base + units;
    if (units <= MAX_JOINED) joined += key;
  }
  if (units <= MAX_JOINED) {
    const { read, written } = encoder.encodeInto(joined, reserve(units));
    if (read === units && written === units) return offsets;
  }
  const wide = reserve(units * 3);
  let at = 0;
  for (let j = 0; j < n; j++) {
    at += encodeKey(keys[from + j]!, wide, at);
    offsets[j + 1] = base + at;
  }
  return offsets;
}

/**
 * Longest key read character by character (encodeKey's copy, the ring's one-key hash); a longer
 * one is left to encodeInto, whose fixed cost the characters then outweigh (measured: a 256-
 * character key hashed from its characters took 5x the time of encodeInto and the core's hash).
 */
export const kShortKey = 64;

/**
 * Writes one key as UTF-8 at bytes[at..] (room for 3 bytes per UTF-16 unit) and returns its
 * length. Short ASCII keys are copied by a char loop: encodeInto's call and the subarray it
 * needs cost more than the copy itself for the session ids and user keys routers see.
 */
export function encodeKey(key: string, bytes: Uint8Array, at: number): number {
  const n = key.length;
  if (n <= kShortKey) {
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return encoder.encodeInto(key, bytes.subarray(at)).written;
      bytes[at + i] = c;
    }
    return n;
  }
  return encoder.encodeInto(key, bytes.subarray(at)).written;
}
