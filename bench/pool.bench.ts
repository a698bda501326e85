// BatchRouter scaling: 1 vs 2 worker threads on one ring, the calling thread alone, and the cost
// of a task round trip, in one run.
//   npm run bench:pool      npm run bench:pool -- --quick
// Writes bench/results/pool.json; targets from the worker-pool issue: 2 threads / 1 thread
// >= 1.7x on 4e6 pre-hashed keys over 16,000 points, >= 1.5x on string keys.
import { BatchRouter, HashRing } from '../src/index.js';
import { find, machine, measure, quick, ratio, ratioTable, save, table, type Result } from './harness.js';
import { nodeIds, randomU32 } from './inputs.js';

const N = quick ? 500_000 : 4_000_000;
const ring = new HashRing({ vnodes: 160 }).addMany(nodeIds(100));
const results: Result[] = [];

// Keys already in shared memory (the transfer-free path), and the same keys as text lines.
const hashes = randomU32(N);
const shared = new Uint32Array(new SharedArrayBuffer(N * 4));
shared.set(hashes);
const keys = Array.from(hashes, (h) => `session-${h.toString(36)}`);
const text = new Uint8Array(new SharedArrayBuffer(keys.reduce((n, k) => n + k.length + 1, 0)));
new TextEncoder().encodeInto(keys.join('\n') + '\n', text);

const one = new BatchRouter({ threads: 1 });
const two = new BatchRouter({ threads: 2 });
const out = new Int32Array(N);
// Results into one reused shared array, as the calling thread's case reuses `out`.
const sharedOut = new Int32Array(new SharedArrayBuffer(N * 4));

// Same answers on every path, or the comparison means nothing.
const want = ring.getSlotsHashed(hashes);
const wantKeys = ring.getSlots(keys);
for (const [name, got] of [
  ['2 threads hashed', await two.route(ring, shared)],
  ['1 thread hashed', await one.route(ring, shared)],
  ['2 threads lines', await two.routeLines(ring, text)],
  ['2 threads string[]', await two.route(ring, keys)],
] as const) {
  const ref = name.includes('hashed') ? want : wantKeys;
  if (got.length !== ref.length || got.some((s, i) => s !== ref[i])) throw new Error(`${name} disagrees with the calling thread`);
}

results.push(
  ...(await measure(`pre-hashed, ${N} keys, 16,000 points`, [
    { name: 'calling thread (getSlotsHashed)', fn: () => ring.getSlotsHashed(hashes, out), items: N },
    { name: 'BatchRouter 1 thread', fn: () => one.route(ring, shared, sharedOut), items: N },
    { name: 'BatchRouter 2 threads', fn: () => two.route(ring, shared, sharedOut), items: N },
    { name: 'BatchRouter 2 threads, new result array', fn: () => two.route(ring, shared), items: N },
    { name: 'BatchRouter 2 threads, keys copied in', fn: () => two.route(ring, hashes, sharedOut), items: N },
  ])),
  ...(await measure(`string keys, ${N} keys, 16,000 points`, [
    { name: 'calling thread (getSlots)', fn: () => ring.getSlots(keys, out), items: N },
    { name: 'BatchRouter 1 thread, lines', fn: () => one.routeLines(ring, text, sharedOut), items: N },
    { name: 'BatchRouter 2 threads, lines', fn: () => two.routeLines(ring, text, sharedOut), items: N },
    { name: 'BatchRouter 1 thread, string[]', fn: () => one.route(ring, keys, sharedOut), items: N },
    { name: 'BatchRouter 2 threads, string[]', fn: () => two.route(ring, keys, sharedOut), items: N },
  ])),
);

// Per-task overhead: one task of 1,024 keys against the same lookups on the calling thread.
const SMALL = 1024;
const small = shared.subarray(0, SMALL);
const trip = new BatchRouter({ threads: 1, chunkSize: SMALL, inlineBelow: 0 });
await trip.route(ring, small);
results.push(
  ...(await measure('one task of 1,024 keys', [
    { name: 'calling thread', fn: () => ring.getSlotsHashed(small, out.subarray(0, SMALL)), items: 1 },
    { name: 'one worker task', fn: () => trip.route(ring, small, sharedOut), items: 1 },
  ])),
);

// Chunk size: 2 threads, tasks of 16k to 1M keys.
const sizes = quick ? [16_384] : [16_384, 65_536, 262_144, 1_048_576];
const routers = sizes.map((chunkSize) => new BatchRouter({ threads: 2, chunkSize }));
results.push(...(await measure(`chunk size, 2 threads, ${N} pre-hashed keys`, routers.map((r) => ({ name: `${r.chunkSize} keys a task`, fn: () => r.route(ring, shared, sharedOut), items: N })))));

await Promise.all([one, two, trip, ...routers].map((r) => r.close()));

const pre = (name: string) => find(results, `pre-hashed, ${N} keys, 16,000 points`, name);
const str = (name: string) => find(results, `string keys, ${N} keys, 16,000 points`, name);
const ratios = [
  ratio('pre-hashed: 2 threads / 1 thread', pre('BatchRouter 2 threads'), pre('BatchRouter 1 thread'), 1.7),
  ratio('pre-hashed: 2 threads / calling thread', pre('BatchRouter 2 threads'), pre('calling thread (getSlotsHashed)')),
  ratio('string keys (lines): 2 threads / 1 thread', str('BatchRouter 2 threads, lines'), str('BatchRouter 1 thread, lines'), 1.5),
  ratio('string keys: 2 threads (lines) / calling thread (string[])', str('BatchRouter 2 threads, lines'), str('calling thread (getSlots)')),
  ratio('string keys (string[]): 2 threads / 1 thread', str('BatchRouter 2 threads, string[]'), str('BatchRouter 1 thread, string[]'), 1.4),
  ratio('string keys: 2 threads (string[]) / calling thread (string[])', str('BatchRouter 2 threads, string[]'), str('calling thread (getSlots)')),
];
const task = find(results, 'one task of 1,024 keys', 'one worker task');
const local = find(results, 'one task of 1,024 keys', 'calling thread');
const overheadUs = (1 / task.median - 1 / local.median) * 1e6;

console.log('\n' + table(results) + '\n\n' + ratioTable(ratios));
console.log(`\nper-task overhead (round trip minus the lookups): ${overheadUs.toFixed(0)} µs; default chunk ${two.chunkSize} keys`);
const file = save('pool', { machine: machine(), results, ratios, overheadUs, chunkSize: two.chunkSize });
console.log(`\nwrote ${file}`);
