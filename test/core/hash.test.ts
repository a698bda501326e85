import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import XXH from 'xxhashjs';
import fc from 'fast-check';
import { md5, sha1, xxh32, xxh32Ascii } from '../../src/core/hash.js';
import { heapU8, scratch, wasmCore } from '../../src/core/wasm.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function wasmHash(bytes: Uint8Array, fn: 'xxh32' | 'md5' | 'sha1'): number | string {
  const core = wasmCore() as unknown as Record<string, (ptr: number, len: number, seed?: number) => number>;
  const ptr = scratch(bytes.length + 1);
  heapU8().set(bytes, ptr);
  if (fn === 'xxh32') return core.xxh32!(ptr, bytes.length, 0) >>> 0;
  const out = core[fn]!(ptr, bytes.length);
  return hex(heapU8().slice(out, out + (fn === 'md5' ? 16 : 20)));
}

test('xxh32 matches the published vectors', () => {
  const enc = new TextEncoder();
  // From the xxHash reference test suite: seed 0.
  for (const [text, expected] of [['', 0x02cc5d05], ['abc', 0x32d153ff], ['Nobody inspects the spammish repetition', 0xe2293b2f]] as const) {
    const b = enc.encode(text);
    assert.is(xxh32(b, 0, b.length, 0), expected, `ts ${text}`);
    assert.is(wasmHash(b, 'xxh32'), expected, `wasm ${text}`);
  }
});

test('xxh32 agrees with the independent xxhashjs package on random inputs and seeds', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 0xffffffff }), (bytes, seed) => {
      const expected = XXH.h32(Buffer.from(bytes), seed).toNumber() >>> 0;
      assert.is(xxh32(bytes, 0, bytes.length, seed), expected);
      if (seed === 0) assert.is(wasmHash(bytes, 'xxh32'), expected);
    }),
    { numRuns: 500 },
  );
});

test('xxh32Ascii hashes an ASCII string as xxhashjs hashes its bytes, and refuses any other', () => {
  for (const [text, expected] of [['', 0x02cc5d05], ['abc', 0x32d153ff], ['Nobody inspects the spammish repetition', 0xe2293b2f]] as const) {
    assert.is(xxh32Ascii(text), expected, text);
  }
  fc.assert(
    fc.property(fc.string({ unit: 'binary-ascii', maxLength: 80 }), (text) => {
      assert.is(xxh32Ascii(text), XXH.h32(Buffer.from(text, 'latin1'), 0).toNumber() >>> 0);
    }),
    { numRuns: 500 },
  );
  // One character past ASCII anywhere, at every lane position and in the tail; 0x100 and above
  // would spill out of its byte if it were only packed into a lane.
  for (const c of ['\x80', '\xff', '\u0100', '\u0180', '\u8000', 'é', '\ud83d']) {
    for (let len = 1; len <= 40; len++) {
      for (let at = 0; at < len; at++) {
        const text = 'k'.repeat(at) + c + 'k'.repeat(len - at - 1);
        assert.is(xxh32Ascii(text), -1, JSON.stringify(text));
      }
    }
  }
});

test('md5 and sha1 agree with node:crypto at every padding boundary and on random inputs', () => {
  const lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000];
  const inputs = [...lengths.map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff))];
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void inputs.push(b)), { numRuns: 200 });
  for (const b of inputs) {
    const m = createHash('md5').update(b).digest('hex');
    const s = createHash('sha1').update(b).digest('hex');
    assert.is(hex(md5(b, 0, b.length).slice(0, 16)), m, `ts md5 len ${b.length}`);
    assert.is(wasmHash(b, 'md5'), m, `wasm md5 len ${b.length}`);
    assert.is(hex(sha1(b, 0, b.length).slice(0, 20)), s, `ts sha1 len ${b.length}`);
    assert.is(wasmHash(b, 'sha1'), s, `wasm sha1 len ${b.length}`);
  }
});

test.run();
