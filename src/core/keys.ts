// UTF-8 encoding of routing keys and node ids, shared by both engines.
import { show, WasmeshError } from './WasmeshError.js';

export const encoder = new TextEncoder();

/** Throws INVALID_KEY unless `key` is a string. */
export function checkKey(key: unknown, where = 'key'): asserts key is string {
  if (typeof key !== 'string') throw new WasmeshError('INVALID_KEY', `${where} must be a string, got ${show(key)}`);
}

/** Checks a batch of keys and returns them joined, the input of encodeKeys. */
export function joinKeys(keys: unknown): string {
  if (!Array.isArray(keys)) throw new WasmeshError('INVALID_KEY', `keys must be an array of strings, got ${show(keys)}`);
  for (let i = 0; i < keys.length; i++) checkKey(keys[i], `keys[${i}]`);
  return keys.join('');
}

let offsets = new Uint32Array(1024);

/**
 * Encodes the keys back to back into a buffer from `reserve(bytes)` and returns the key
 * boundaries: key i is bytes[offsets[i], offsets[i + 1]). `offsets` is reused by the next call.
 *
 * One encodeInto of the joined keys does the whole batch when it is ASCII (every character one
 * byte, so read === written === length): ten times faster than one call per key. Otherwise
 * each key is encoded alone into a buffer of the worst case, three bytes per UTF-16 unit.
 */
export function encodeKeys(keys: readonly string[], joined: string, reserve: (bytes: number) => Uint8Array): Uint32Array {
  const n = keys.length;
  if (offsets.length < n + 1) offsets = new Uint32Array(Math.max(n + 1, offsets.length * 2));
  let bytes = reserve(joined.length);
  const { read, written } = encoder.encodeInto(joined, bytes);
  let at = 0;
  offsets[0] = 0;
  if (read === joined.length && written === read) {
    for (let i = 0; i < n; i++) {
      at += keys[i]!.length;
      offsets[i + 1] = at;
    }
    return offsets;
  }
  bytes = reserve(joined.length * 3);
  for (let i = 0; i < n; i++) {
    at += encoder.encodeInto(keys[i]!, bytes.subarray(at)).written;
    offsets[i + 1] = at;
  }
  return offsets;
}

/**
 * Writes one key as UTF-8 at bytes[at..] (room for 3 bytes per UTF-16 unit) and returns its
 * length. Short ASCII keys are copied by a char loop: encodeInto's call and the subarray it
 * needs cost more than the copy itself for the session ids and user keys routers see.
 */
export function encodeKey(key: string, bytes: Uint8Array, at: number): number {
  const n = key.length;
  if (n <= 64) {
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return encoder.encodeInto(key, bytes.subarray(at)).written;
      bytes[at + i] = c;
    }
    return n;
  }
  return encoder.encodeInto(key, bytes.subarray(at)).written;
}
