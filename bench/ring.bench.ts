// Ring lookup, build and balance: Wasm vs the TS twin vs the npm peers, in one run.
//   npm run bench            (about 3 minutes)      npm run bench -- --quick   (under a minute)
// Writes bench/results/ring.json and prints the figures and the ratios against the targets of
// the core-ring issue.
import HashRingPkg from 'hashring';
import ConsistentHash from 'consistent-hash';
import { BoundedLoad, HashRing } from '../src/index.js';
import { MODE_XXH32 } from '../src/core/hash.js';
import { packSpecs } from '../src/core/ring/RingTable.js';
import { WasmRingTable } from '../src/core/ring/WasmRingTable.js';
import { heapI32, heapU32, scratch, wasmCore } from '../src/core/wasm.js';
import { answerPair, find, fromRounds, inFreshProcesses, interleaved, machine, pairWanted, measure, quick, ratio, ratioTable, save, table, type Case, type Ratio, type Result } from './harness.js';
import { loadSpread } from '../src/core/stats.js';
import { nodeIds, randomU32 } from './inputs.js';
import { checksum, nativeMissing, nativeRing } from './native.js';

const VNODES = 160;
const BATCH = 1 << 16;

const results: Result[] = [];

/**
 * The floor: the ring as the classic examples write it, a sorted array of points and a linear
 * scan for the first one at or after the key's hash.
 */
class TextbookRing {
  readonly points: { pos: number; id: string }[] = [];
  constructor(table: [number, string][]) {
    for (const [pos, id] of table) this.points.push({ pos, id });
  }
  get(h: number): string | undefined {
    for (const p of this.points) if (p.pos >= h) return p.id;
    return this.points[0]?.id;
  }
}

// ---- 0. one key at a time ----------------------------------------------------------------

const WINDOW = 8192;
const POOL = quick ? 1 << 16 : 1 << 18;
const pool = Array.from({ length: POOL }, (_, i) => `user:${100000 + i}`);
const windows = Array.from({ length: POOL / WINDOW }, (_, w) => pool.slice(w * WINDOW, (w + 1) * WINDOW));
let turn = 0;
// Distinct keys on every operation: each call takes the next window of the pool.
const next = () => windows[turn++ % windows.length]!;

// ring.get(key) against consistent-hash's get with the same points (160 a node, its range widened
// past the point count), at 1,600 and 160,000 points. First in the run, before any TS-engine ring
// has answered a get: a router's process runs one engine, and a twin that ran before makes
// HashRing.get's call into its table polymorphic (measured: about 30% slower for both engines).
// And a loop of its own for each library: one loop shared by both makes that call site
// polymorphic too, inlining one and not the other.
const singleGet: Ratio[] = [];
const singleGetLabel = (points: number) => `single get, ${points.toLocaleString('en-US')} points: wasm / consistent-hash`;
// A child process (harness.ts, inFreshProcesses): one point count's pair alone.
for (const points of pairWanted === undefined ? [1_600, 160_000] : [Number(pairWanted)]) {
  const ids = nodeIds(points / VNODES);
  const wasm = new HashRing({ vnodes: VNODES }).addMany(ids);
  const ch = new ConsistentHash({ weight: VNODES, range: 4_000_037 });
  ids.forEach((id) => ch.add(id));
  let sink = 0;
  const ours: Case = {
    name: 'wasm get',
    fn: () => {
      const w = next();
      for (let i = 0; i < w.length; i++) if (wasm.get(w[i]!) === undefined) sink++;
    },
    items: WINDOW,
  };
  const theirs: Case = {
    name: 'consistent-hash get',
    fn: () => {
      const w = next();
      for (let i = 0; i < w.length; i++) if (ch.get(w[i]!) === undefined) sink++;
    },
    items: WINDOW,
  };
  if (pairWanted === undefined) results.push(...(await measure(`single get, ${points} points`, [ours, theirs])));
  // The ratio from alternating rounds, with its spread (the two figures above are measured one
  // after the other on a busy machine).
  const paired = await interleaved(`${singleGetLabel(points)} (interleaved rounds, this process)`, ours, theirs);
  if (sink) throw new Error('a lookup on a full ring found no node');
  wasm.dispose();
  if (pairWanted !== undefined) answerPair(paired);
  singleGet.push(paired, await inFreshProcesses(singleGetLabel(points), import.meta.url, String(points), 1.5));
}

// ---- 1. pre-hashed u32 lookups, and the lookup strategy -------------------------------------

const hashes = randomU32(BATCH);
const out = new Int32Array(BATCH);
const sizes = quick ? [1_600, 160_000] : [1_600, 16_000, 160_000, 1_000_000];
for (const points of sizes) {
  const ids = nodeIds(Math.max(1, points / VNODES));
  const wasm = new HashRing({ vnodes: VNODES }).addMany(ids);
  const ts = new HashRing({ vnodes: VNODES, engine: 'ts' }).addMany(ids);
  // The raw core over keys already in linear memory: the index against a plain binary search.
  const table = new WasmRingTable(MODE_XXH32, () => false);
  const enc = new TextEncoder();
  const { specs, ids: idBytes } = packSpecs(ids.map((id, slot) => ({ slot, bytes: enc.encode(id), count: VNODES })));
  table.insert(specs, ids.length, idBytes);
  const core = wasmCore();
  const keysPtr = core.alloc(BATCH * 8);
  heapU32().set(hashes, keysPtr >>> 2);
  const outPtr = keysPtr + BATCH * 4;
  // The linear scan is slow enough that it gets a smaller batch (figures are per lookup).
  const textbook = new TextbookRing(wasm.pointList());
  const few = hashes.subarray(0, points > 20_000 ? 64 : 1024);
  results.push(
    ...(await measure(`prehashed ${points} points`, [
      { name: 'wasm', fn: () => wasm.getSlotsHashed(hashes, out), items: BATCH },
      { name: 'textbook (sorted array, linear scan)', fn: () => few.forEach((h) => textbook.get(h)), items: few.length },
      { name: 'ts twin', fn: () => ts.getSlotsHashed(hashes, out), items: BATCH },
      { name: 'wasm core, bucket index', fn: () => core.ringLookupHashed(table.ring, keysPtr, BATCH, outPtr), items: BATCH },
      { name: 'wasm core, binary search', fn: () => core.ringLookupHashedBinary(table.ring, keysPtr, BATCH, outPtr), items: BATCH },
    ])),
  );
  // Same answers from both strategies, or the comparison means nothing.
  core.ringLookupHashedBinary(table.ring, keysPtr, BATCH, outPtr);
  const binary = heapI32().slice(outPtr >>> 2, (outPtr >>> 2) + BATCH);
  core.ringLookupHashed(table.ring, keysPtr, BATCH, outPtr);
  if (heapI32().slice(outPtr >>> 2, (outPtr >>> 2) + BATCH).some((s, i) => s !== binary[i])) throw new Error('strategies disagree');
  core.free(keysPtr);
  table.dispose();
  wasm.dispose();
}

// ---- 2. string keys, 1,000 servers ----------------------------------------------------------

const SERVERS = 1000;
{
  const ids = nodeIds(SERVERS);
  const wasm = new HashRing({ vnodes: VNODES }).addMany(ids);
  const ts = new HashRing({ vnodes: VNODES, engine: 'ts' }).addMany(ids);
  const theirs = new HashRingPkg(ids);
  const ch = new ConsistentHash();
  ids.forEach((id) => ch.add(id));
  const slots = new Int32Array(WINDOW);
  const each = (get: (k: string) => unknown) => () => {
    const w = next();
    for (let i = 0; i < w.length; i++) get(w[i]!);
  };
  results.push(
    ...(await measure(`string keys, ${SERVERS} servers`, [
      { name: 'wasm getSlots', fn: () => wasm.getSlots(next(), slots), items: WINDOW },
      { name: 'ts twin getSlots', fn: () => ts.getSlots(next(), slots), items: WINDOW },
      { name: 'wasm getBatch', fn: () => wasm.getBatch(next()), items: WINDOW },
      { name: 'ts twin getBatch', fn: () => ts.getBatch(next()), items: WINDOW },
      { name: 'wasm get', fn: each((k) => wasm.get(k)), items: WINDOW },
      { name: 'ts twin get', fn: each((k) => ts.get(k)), items: WINDOW },
      { name: 'consistent-hash get', fn: each((k) => ch.get(k)), items: WINDOW },
      { name: 'hashring get', fn: each((k) => theirs.get(k)), items: WINDOW },
    ])),
  );
}

// ---- 2a. one key at a time, and ids for a whole batch, at the sizes ------------------

// The twin's get (the Wasm engine's is in section 0); getBatch returning ids against the twin
// on 200,000 user:N keys at 1,600 points.
for (const points of [1_600, 160_000]) {
  const ids = nodeIds(points / VNODES);
  const ts = new HashRing({ vnodes: VNODES, engine: 'ts' }).addMany(ids);
  let sink = 0;
  const twin: Case = {
    name: 'ts twin get',
    fn: () => {
      const w = next();
      for (let i = 0; i < w.length; i++) if (ts.get(w[i]!) === undefined) sink++;
    },
    items: WINDOW,
  };
  results.push(...(await measure(`single get, ts twin, ${points} points`, [twin])));
  if (sink) throw new Error('a lookup on a full ring found no node');
}
const BATCH_IDS = 200_000;
{
  const ids = nodeIds(1_600 / VNODES);
  const wasm = new HashRing({ vnodes: VNODES }).addMany(ids);
  const ts = new HashRing({ vnodes: VNODES, engine: 'ts' }).addMany(ids);
  const keys = Array.from({ length: BATCH_IDS }, (_, i) => `user:${i}`);
  results.push(
    ...(await measure(`getBatch ids, ${BATCH_IDS} user:N keys, 1600 points`, [
      { name: 'wasm getBatch', fn: () => wasm.getBatch(keys), items: BATCH_IDS },
      { name: 'ts twin getBatch', fn: () => ts.getBatch(keys), items: BATCH_IDS },
    ])),
  );
  wasm.dispose();
}

// ---- 2c. against native C ------------------------------------------------------------------

// The same table and the same user:N keys through bench/native/ring.c (gcc -O2), the same
// algorithm written in C. String keys: C hashes the bytes where they lie, while the core first
// turns each UTF-16 string into UTF-8 in JavaScript (encodeKeys), a step no native caller has.
const NATIVE_KEYS = quick ? 200_000 : 1_000_000;
const nativeRatios: Ratio[] = [];
const nativeSkip = nativeMissing();
if (nativeSkip) console.log(`SKIP native C baseline: ${nativeSkip}`);
else {
  const keys = Array.from({ length: NATIVE_KEYS }, (_, i) => `user:${i}`);
  const hashes = randomU32(NATIVE_KEYS);
  const slots = new Int32Array(NATIVE_KEYS);
  for (const points of [1_600, 160_000]) {
    const ring = new HashRing({ vnodes: VNODES }).addMany(nodeIds(points / VNODES));
    const c = nativeRing(ring, keys, hashes, quick ? 3 : 9);
    // The core must find what C finds: the same algorithm, written twice.
    const ours = [checksum(ring.getSlots(keys, slots)), checksum(ring.getSlotsHashed(hashes, slots))];
    if (ours[0] !== c.checksumKeys || ours[1] !== c.checksumHashed) throw new Error(`native C and the core disagree at ${points} points: checksums ${ours.join(', ')} vs ${c.checksumKeys}, ${c.checksumHashed}`);
    const suite = `native C, ${points} points, ${NATIVE_KEYS} user:N keys`;
    results.push(
      ...(await measure(suite, [
        { name: 'wasm getSlots (string[])', fn: () => ring.getSlots(keys, slots), items: NATIVE_KEYS },
        { name: 'wasm getSlotsHashed', fn: () => ring.getSlotsHashed(hashes, slots), items: NATIVE_KEYS },
      ])),
      fromRounds(suite, 'C xxh32 + lookup (UTF-8 bytes)', c.keys),
      fromRounds(suite, 'C lookup (pre-hashed)', c.hashed),
    );
    const label = points.toLocaleString('en-US');
    nativeRatios.push(
      ratio(`string keys, ${label} points: wasm getSlots / native C`, find(results, suite, 'wasm getSlots (string[])'), find(results, suite, 'C xxh32 + lookup (UTF-8 bytes)'), 0.3),
      ratio(`pre-hashed, ${label} points: wasm getSlotsHashed / native C`, find(results, suite, 'wasm getSlotsHashed'), find(results, suite, 'C lookup (pre-hashed)')),
    );
    ring.dispose();
  }
}

// ---- 2b. replicas (getN) and bounded loads ------------------------------------------------

{
  const ids = nodeIds(100);
  const wasm = new HashRing({ vnodes: VNODES }).addMany(ids);
  const ts = new HashRing({ vnodes: VNODES, engine: 'ts' }).addMany(ids);
  const theirs = new HashRingPkg(ids);
  const keys = pool.slice(0, 1024);
  results.push(
    ...(await measure('getN: 3 distinct nodes, 100 servers', [
      { name: 'wasm getN', fn: () => keys.forEach((k) => wasm.getN(k, 3)), items: keys.length },
      { name: 'ts twin getN', fn: () => keys.forEach((k) => ts.getN(k, 3)), items: keys.length },
      { name: 'hashring range', fn: () => keys.forEach((k) => theirs.range(k, 3)), items: keys.length },
    ])),
  );
  // Bounded loads: acquire a node for each key (the walk skips full nodes), then release all.
  const bounded = (engine: 'wasm' | 'ts') => {
    const b = new BoundedLoad(engine === 'wasm' ? wasm : ts, { c: 1.25 });
    const held: string[] = new Array(keys.length);
    return () => {
      for (let i = 0; i < keys.length; i++) held[i] = b.acquire(keys[i]!)!;
      for (let i = 0; i < keys.length; i++) b.release(held[i]!);
    };
  };
  results.push(
    ...(await measure('bounded loads: acquire + release, c = 1.25, 100 servers', [
      { name: 'wasm', fn: bounded('wasm'), items: keys.length },
      { name: 'ts twin', fn: bounded('ts'), items: keys.length },
    ])),
  );
}

// ---- 3. build: one node added vs the ring rebuilt --------------------------------------------

for (const engine of ['wasm', 'ts'] as const) {
  const ids = nodeIds(SERVERS + 1);
  const ring = new HashRing({ vnodes: VNODES, engine }).addMany(ids.slice(0, SERVERS));
  const extra = ids[SERVERS]!;
  results.push(
    ...(await measure(`build ${engine}, ${SERVERS} nodes x ${VNODES}`, [
      // NOTE: add and remove are timed together, so the ratio understates add alone.
      { name: 'add + remove 1 node', fn: () => ring.add(extra).remove(extra) },
      { name: 'rebuild 1,001 nodes', fn: () => new HashRing({ vnodes: VNODES, engine }).addMany(ids).dispose() },
    ])),
  );
}

// ---- 4. balance and movement ----------------------------------------------------------------

const KEYS = quick ? 200_000 : 1_000_000;
const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`);
const balanceIds = nodeIds(100);
const balance: Record<string, unknown>[] = [];
function movement(name: string, before: (string | undefined)[], after: (string | undefined)[], added: string): void {
  let moved = 0;
  let elsewhere = 0;
  for (let i = 0; i < KEYS; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    if (after[i] !== added) elsewhere++;
  }
  const owned = after.filter((id) => id === added).length;
  const row = balance.find((r) => r.implementation === name)!;
  Object.assign(row, { movedOnAdd: moved / KEYS, movedElsewhere: elsewhere, exactlyNewOwner: moved === owned && elsewhere === 0 });
}
{
  const ours = new HashRing({ vnodes: VNODES }).addMany(balanceIds);
  const before = ours.getBatch(keys);
  balance.push({ implementation: 'wasmesh xxh32', ...loadSpread(before) });
  ours.add('10.9.9.9:8000');
  movement('wasmesh xxh32', before, ours.getBatch(keys), '10.9.9.9:8000');

  const theirs = new HashRingPkg(balanceIds);
  const hb = keys.map((k) => theirs.get(k));
  balance.push({ implementation: 'hashring (ketama)', ...loadSpread(hb) });
  theirs.add('10.9.9.9:8000');
  movement('hashring (ketama)', hb, keys.map((k) => theirs.get(k)), '10.9.9.9:8000');

  const ch = new ConsistentHash();
  balanceIds.forEach((id) => ch.add(id));
  const cb = keys.map((k) => ch.get(k) as string);
  balance.push({ implementation: 'consistent-hash', ...loadSpread(cb) });
  ch.add('10.9.9.9:8000');
  movement('consistent-hash', cb, keys.map((k) => ch.get(k) as string), '10.9.9.9:8000');
}

// ---- report ---------------------------------------------------------------------------------

const pre = (n: number, name: string) => find(results, `prehashed ${n} points`, name);
const str = (name: string) => find(results, `string keys, ${SERVERS} servers`, name);
const ratios = [
  ratio('prehashed 1,600 points: wasm / ts twin', pre(1600, 'wasm'), pre(1600, 'ts twin'), 1.5),
  ratio('prehashed 160,000 points: wasm / ts twin', pre(160000, 'wasm'), pre(160000, 'ts twin'), 1.25),
  ratio('prehashed 1,600 points: bucket index / binary search (core)', pre(1600, 'wasm core, bucket index'), pre(1600, 'wasm core, binary search')),
  ratio('prehashed 160,000 points: bucket index / binary search (core)', pre(160000, 'wasm core, bucket index'), pre(160000, 'wasm core, binary search')),
  ratio('prehashed 1,600 points: wasm / textbook linear scan', pre(1600, 'wasm'), pre(1600, 'textbook (sorted array, linear scan)')),
  ratio('getN(3): wasm / hashring range', find(results, 'getN: 3 distinct nodes, 100 servers', 'wasm getN'), find(results, 'getN: 3 distinct nodes, 100 servers', 'hashring range')),
  ratio('getN(3): wasm / ts twin', find(results, 'getN: 3 distinct nodes, 100 servers', 'wasm getN'), find(results, 'getN: 3 distinct nodes, 100 servers', 'ts twin getN'), 1),
  ratio('bounded loads: wasm / ts twin', find(results, 'bounded loads: acquire + release, c = 1.25, 100 servers', 'wasm'), find(results, 'bounded loads: acquire + release, c = 1.25, 100 servers', 'ts twin')),
  ...singleGet,
  ratio('getBatch ids, 200k keys, 1,600 points: wasm / ts twin', find(results, `getBatch ids, ${BATCH_IDS} user:N keys, 1600 points`, 'wasm getBatch'), find(results, `getBatch ids, ${BATCH_IDS} user:N keys, 1600 points`, 'ts twin getBatch'), 1.3),
  ratio('string keys: wasm getSlots / ts twin getSlots', str('wasm getSlots'), str('ts twin getSlots'), 1.3),
  ratio('string keys: wasm getBatch / hashring get', str('wasm getBatch'), str('hashring get'), 30),
  ratio('string keys: wasm getBatch / consistent-hash get', str('wasm getBatch'), str('consistent-hash get'), 1.5),
  ...nativeRatios,
  ...(['wasm', 'ts'] as const).map((e) => {
    const s = `build ${e}, ${SERVERS} nodes x ${VNODES}`;
    return ratio(`add 1 node vs rebuild (${e})`, find(results, s, 'add + remove 1 node'), find(results, s, 'rebuild 1,001 nodes'), e === 'wasm' ? 10 : undefined);
  }),
];

console.log('\n' + table(results) + '\n\n' + ratioTable(ratios));
console.log(`\nwasm core, pre-hashed, 1,600 points: ${(pre(1600, 'wasm core, bucket index').median / 1e6).toFixed(0)} M lookups/s (median)`);
console.log(`\nBalance, 100 nodes, ${KEYS} keys; then a 101st node added:`);
console.table(balance);
const file = save('ring', { machine: machine(), results, ratios, balance });
console.log(`\nwrote ${file}`);
