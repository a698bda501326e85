// Prompt block hashing (promptBlocks): bytes a second on a 32 KB prompt, Wasm against its
// TypeScript twin and against xxhashjs (the npm xxh64 peer) hashing the same blocks one by one.
//   npm run bench:prefix      npm run bench:prefix -- --quick
import XXH from 'xxhashjs';
import { promptBlocks } from '../src/index.js';
import { find, machine, measure, ratio, save, table } from './harness.js';

const prompt = 'You are a helpful assistant for a large retail company. Answer politely and cite the policy. '.repeat(400).slice(0, 32_768);
const tokens = Uint32Array.from({ length: 8192 }, (_, i) => Math.imul(i, 2654435761) >>> 0);
const bytes = new TextEncoder().encode(prompt);
const suite = 'prompt blocks, 32 KB';
const results = await measure(suite, [
  { name: 'wasm text (64-char blocks)', fn: () => promptBlocks(prompt), items: bytes.length },
  { name: 'wasm token ids (16-token blocks)', fn: () => promptBlocks(tokens), items: tokens.byteLength },
  { name: 'ts twin text', fn: () => promptBlocks(prompt, { engine: 'ts' }), items: bytes.length },
  {
    name: 'xxhashjs h64 chain',
    fn: () => {
      // Each block's hash seeds the next (a UINT64 seed, as xxhashjs takes one).
      let h: number | ReturnType<typeof XXH.h64> = 0;
      for (let i = 0; i + 64 <= bytes.length; i += 64) h = XXH.h64(bytes.buffer.slice(i, i + 64), h);
      return h;
    },
    items: bytes.length,
  },
]);
const r = (name: string) => find(results, suite, name);
const ratios = [
  ratio('text: wasm / ts twin', r('wasm text (64-char blocks)'), r('ts twin text'), 3),
  ratio('text: wasm / xxhashjs chain', r('wasm text (64-char blocks)'), r('xxhashjs h64 chain')),
];
console.log(table(results));
for (const x of ratios) console.log(`${x.label}: ${x.value.toFixed(1)}x`);
console.log(`wasm text: ${(r('wasm text (64-char blocks)').median / 1e9).toFixed(2)} GB/s; token ids: ${(r('wasm token ids (16-token blocks)').median / 1e9).toFixed(2)} GB/s`);
console.log(`wrote ${save('prefix', { machine: machine(), results, ratios })}`);
