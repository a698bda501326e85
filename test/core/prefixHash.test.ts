import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import XXH from 'xxhashjs';
import { promptBlocks, xxh64 } from '../../src/index.js';
import { heapU8, scratch, wasmCore } from '../../src/core/wasm.js';
import { throwsCode } from '../support/assert.js';

const t = suite('prompt block hashes (xxh64 chains)');
const enc = new TextEncoder();

// xxh64 by the Wasm core, on bytes copied into its memory.
function wasmXxh64(bytes: Uint8Array, seed: bigint): bigint {
  const ptr = scratch(bytes.length + 8);
  heapU8().set(bytes, ptr);
  // Wasm returns an i64: signed in JavaScript.
  return BigInt.asUintN(64, wasmCore().xxh64(ptr, bytes.length, seed));
}

t('xxh64: the spec\'s vectors, and the xxhashjs package (an independent implementation) on random bytes and seeds', () => {
  // Sanity values of the reference implementation (xxHash's own test suite).
  assert.is(xxh64(enc.encode('')), 0xef46db3751d8e999n);
  assert.is(xxh64(enc.encode('a')), 0xd24ec4f1a98c6e5bn);
  assert.is(xxh64(enc.encode('abc')), 0x44bc2cf5ad770999n);
  assert.is(wasmXxh64(enc.encode('abc'), 0n), 0x44bc2cf5ad770999n);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 0xffffffff }), (bytes, seed) => {
      const reference = BigInt(`0x${XXH.h64(bytes.slice().buffer, seed).toString(16)}`);
      assert.is(xxh64(bytes, BigInt(seed)), reference);
      assert.is(wasmXxh64(bytes, BigInt(seed)), reference);
    }),
    { numRuns: 300 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (bytes, seed) => wasmXxh64(bytes, seed) === xxh64(bytes, seed)), { numRuns: 300 });
});

t('promptBlocks: Wasm and the TypeScript twin agree on any text (any Unicode) and any token ids', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 600 }), fc.integer({ min: 1, max: 80 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (text, blockChars, seed) => {
      const a = promptBlocks(text, { blockChars, seed }), b = promptBlocks(text, { blockChars, seed, engine: 'ts' });
      assert.equal([...a], [...b]);
    }),
    { numRuns: 300 },
  );
  // Mostly ASCII with a character of 2, 3 or 4 bytes now and then: the Wasm core's ASCII fast path and its fallback meet.
  const mostlyAscii = fc.string({ unit: fc.oneof({ weight: 30, arbitrary: fc.constantFrom('a', 'Z', ' ', '.', '7') }, { weight: 1, arbitrary: fc.constantFrom('é', '€', '😀') }), maxLength: 1000 });
  fc.assert(
    fc.property(mostlyAscii, fc.integer({ min: 1, max: 80 }), (text, blockChars) => {
      assert.equal([...promptBlocks(text, { blockChars })], [...promptBlocks(text, { blockChars, engine: 'ts' })]);
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 300 }), fc.integer({ min: 1, max: 40 }), (ids, blockTokens) => {
      const tokens = Uint32Array.from(ids);
      assert.equal([...promptBlocks(tokens, { blockTokens })], [...promptBlocks(tokens, { blockTokens, engine: 'ts' })]);
    }),
    { numRuns: 200 },
  );
});

t('chains: prompts that share their first k blocks share the first k hashes and no more; only full blocks are hashed; the seed separates models', () => {
  const system = 'You are a careful assistant. Answer briefly and cite sources. '.repeat(8); // 496 characters
  const a = promptBlocks(`${system}What is the capital of France?`);
  const b = promptBlocks(`${system}How tall is Mont Blanc, and who first climbed it?`);
  assert.is(a.length, Math.floor((system.length + 30) / 64));
  const shared = Math.floor(system.length / 64);
  assert.equal([...a.subarray(0, shared)], [...b.subarray(0, shared)]);
  assert.is.not(a[shared], b[shared]);
  // h[i] = xxh64(block i, seed h[i-1]).
  assert.is(a[1], xxh64(enc.encode(system.slice(64, 128)), a[0]));
  assert.is(a[0], xxh64(enc.encode(system.slice(0, 64)), 0n));
  assert.is.not(promptBlocks(system, { seed: 1n })[0], promptBlocks(system)[0]);
  assert.is(promptBlocks('x'.repeat(63)).length, 0);
  // A character never splits: a 4-byte one (two units) that crosses the boundary closes its block.
  const emoji = `${'y'.repeat(63)}😀tail`;
  assert.is(promptBlocks(emoji, { blockChars: 64 })[0], xxh64(enc.encode(`${'y'.repeat(63)}😀`)));
  const tokens = Uint32Array.from({ length: 40 }, (_, i) => i);
  assert.is(promptBlocks(tokens).length, 2);
  assert.is(promptBlocks(tokens)[0], xxh64(new Uint8Array(tokens.buffer, 0, 64)));
});

t('bad input: WasmeshError naming the value and what is allowed', () => {
  throwsCode(() => promptBlocks(42 as unknown as string), 'INVALID_ARGUMENT', /prompt must be a string or a Uint32Array of token ids, got 42/);
  throwsCode(() => promptBlocks('x', { blockChars: 0 }), 'INVALID_OPTION', /promptBlocks options.blockChars must be an integer from 1 to 1048576, got 0/);
  throwsCode(() => promptBlocks('x', { seed: -1n }), 'INVALID_OPTION', /options.seed must be a bigint from 0 to 2\^64 - 1/);
  throwsCode(() => promptBlocks('x', { blocks: 2 } as never), 'INVALID_OPTION', /options.blocks is not an option/);
});

t.run();
