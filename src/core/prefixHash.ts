// Prompt prefixes as chains of 64-bit block hashes (assembly/prefix.ts is the Wasm engine; the
// functions below are its TypeScript twin, function for function, on BigInt): h[i] =
// xxh64(block[i], seed = h[i-1]), so prompts that share their first k blocks share h[0..k].
// The facade, promptBlocks(), encodes the prompt once, crosses into Wasm once, and copies the
// hashes out.
import { checkOptions } from './options.js';
import { heapU8, scratch, wasmCore } from './wasm.js';
import { show, WasmeshError } from './WasmeshError.js';

const M = (1n << 64n) - 1n;
const Q1 = 0x9e3779b185ebca87n, Q2 = 0xc2b2ae3d27d4eb4fn, Q3 = 0x165667b19e3779f9n, Q4 = 0x85ebca77c2b2ae63n, Q5 = 0x27d4eb2f165667c5n;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
const mul = (a: bigint, b: bigint) => (a * b) & M;
const round64 = (acc: bigint, lane: bigint) => mul(rotl((acc + mul(lane, Q2)) & M, 31n), Q1);
const merge64 = (acc: bigint, v: bigint) => (mul(acc ^ round64(0n, v), Q1) + Q4) & M;

/** xxh64 of bytes[from, to) (the twin of assembly/prefix.ts xxh64). */
export function xxh64(bytes: Uint8Array, seed = 0n, from = 0, to = bytes.length): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = to - from;
  let p = from;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + Q1 + Q2) & M, v2 = (seed + Q2) & M, v3 = seed & M, v4 = (seed - Q1) & M;
    do {
      v1 = round64(v1, view.getBigUint64(p, true));
      v2 = round64(v2, view.getBigUint64(p + 8, true));
      v3 = round64(v3, view.getBigUint64(p + 16, true));
      v4 = round64(v4, view.getBigUint64(p + 24, true));
      p += 32;
    } while (p <= to - 32);
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge64(merge64(merge64(merge64(h, v1), v2), v3), v4);
  } else h = (seed + Q5) & M;
  h = (h + BigInt(len)) & M;
  for (; p + 8 <= to; p += 8) h = (mul(rotl(h ^ round64(0n, view.getBigUint64(p, true)), 27n), Q1) + Q4) & M;
  if (p + 4 <= to) {
    h = (mul(rotl(h ^ mul(BigInt(view.getUint32(p, true)), Q1), 23n), Q2) + Q3) & M;
    p += 4;
  }
  for (; p < to; p++) h = mul(rotl(h ^ mul(BigInt(bytes[p]!), Q5), 11n), Q1);
  h ^= h >> 33n;
  h = mul(h, Q2);
  h ^= h >> 29n;
  h = mul(h, Q3);
  return h ^ (h >> 32n);
}

/** The twin of prefixChainText: chain hashes of full blocks of `blockChars` UTF-16 units of UTF-8 text. */
export function prefixChainText(bytes: Uint8Array, blockChars: number, seed: bigint, max = Infinity): bigint[] {
  const out: bigint[] = [];
  let h = seed, start = 0, units = 0;
  for (let p = 0; p < bytes.length && out.length < max; p++) {
    const b = bytes[p]!;
    if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1;
    if (units >= blockChars) {
      let q = p + 1;
      while (q < bytes.length && (bytes[q]! & 0xc0) === 0x80) q++;
      out.push((h = xxh64(bytes, h, start, q)));
      start = q;
      p = q - 1;
      units = 0;
    }
  }
  return out;
}

/** The twin of prefixChainTokens: chain hashes of full blocks of `blockTokens` token ids. */
export function prefixChainTokens(tokens: Uint32Array, blockTokens: number, seed: bigint, max = Infinity): bigint[] {
  const bytes = new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength);
  const out: bigint[] = [];
  let h = seed;
  const blocks = Math.min(Math.floor(tokens.length / blockTokens), max);
  for (let i = 0; i < blocks; i++) out.push((h = xxh64(bytes, h, i * blockTokens * 4, (i + 1) * blockTokens * 4)));
  return out;
}

/** Options of promptBlocks(); every field optional. */
export interface PromptBlockOptions {
  /** Characters (UTF-16 code units) a block of text holds. Default 64 (about 16 tokens). */
  blockChars?: number;
  /** Token ids a block of a Uint32Array prompt holds. Default 16 (vLLM's block size). */
  blockTokens?: number;
  /** The chain's start: mix the model, adapter and cache salt in here so that they never share blocks. Default 0n. */
  seed?: bigint;
  engine?: 'wasm' | 'ts';
}

const encoder = new TextEncoder();

/**
 * The chain hashes of a prompt's full blocks: text cut every `blockChars` characters, or token ids
 * every `blockTokens`. Equal prefixes of whole blocks give equal leading hashes.
 */
export function promptBlocks(prompt: string | Uint32Array, options: PromptBlockOptions = {}): BigUint64Array {
  const o = checkOptions<PromptBlockOptions>('promptBlocks', options, {
    blockChars: (v) => (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1 << 20 ? null : 'an integer from 1 to 1048576'),
    blockTokens: (v) => (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1 << 16 ? null : 'an integer from 1 to 65536'),
    seed: (v) => (typeof v === 'bigint' && v >= 0n && v <= M ? null : 'a bigint from 0 to 2^64 - 1'),
    engine: (v) => (v === 'wasm' || v === 'ts' ? null : 'one of "wasm", "ts"'),
  });
  if (typeof prompt !== 'string' && !(prompt instanceof Uint32Array)) throw new WasmeshError('INVALID_ARGUMENT', `prompt must be a string or a Uint32Array of token ids, got ${show(prompt)}`);
  const seed = o.seed ?? 0n;
  const text = typeof prompt === 'string';
  const block = text ? (o.blockChars ?? 64) : (o.blockTokens ?? 16);
  if (o.engine === 'ts') {
    return BigUint64Array.from(text ? prefixChainText(encoder.encode(prompt), block, seed) : prefixChainTokens(prompt, block, seed));
  }
  const core = wasmCore();
  // UTF-8 takes at most 3 bytes per UTF-16 unit; a block at least one unit.
  const inBytes = text ? prompt.length * 3 : prompt.byteLength;
  const maxBlocks = text ? Math.floor(prompt.length / block) + 1 : Math.floor(prompt.length / block);
  const base = scratch(inBytes + maxBlocks * 8 + 8);
  const outPtr = base + ((inBytes + 7) & ~7);
  const heap = heapU8();
  let n: number;
  if (text) {
    const { written } = encoder.encodeInto(prompt, heap.subarray(base, base + inBytes));
    n = core.prefixChainText(base, written, block, seed, outPtr, maxBlocks);
  } else {
    heap.set(new Uint8Array(prompt.buffer, prompt.byteOffset, prompt.byteLength), base);
    n = core.prefixChainTokens(base, prompt.length, block, seed, outPtr, maxBlocks);
  }
  // A view of the current buffer, copied (memory.buffer.slice costs a getter and a zero-filled allocation).
  return new BigUint64Array(heapU8().buffer, outPtr, n).slice();
}
