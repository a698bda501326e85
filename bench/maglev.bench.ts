// Maglev and Envoy's ring against the xxh32 ring: lookups (pre-hashed and string keys) at 1,000
// nodes, the table build for 100 nodes, balance, and the keys a membership change moves; same
// run, side by side.
//   npm run bench:maglev      npm run bench:maglev -- --quick
import { HashRing, Maglev } from '../src/index.js';
import { find, machine, measure, ratio, save, table, type Result } from './harness.js';

const N = 1000, KEYS = 100_000;
const ids = Array.from({ length: N }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:8000`);
const keys = Array.from({ length: KEYS }, (_, i) => `session-${i}`);
const ring = new HashRing().addMany(ids);
const envoy = new HashRing({ hash: 'envoy' }).addMany(ids);
const maglev = new Maglev().addMany(ids);
const ringHashes = Uint32Array.from(keys, (k) => ring.hashKey(k));
const maglevHashes = BigUint64Array.from(keys, (k) => maglev.hashKey(k));
const envoyHashes = BigUint64Array.from(keys, (k) => envoy.hashKey64(k));
const out = new Int32Array(KEYS);
const lookups = `lookups, ${N} nodes`;
const results: Result[] = await measure(lookups, [
  { name: 'ring pre-hashed (getSlotsHashed)', fn: () => ring.getSlotsHashed(ringHashes, out), items: KEYS },
  { name: 'maglev pre-hashed (getSlotsHashed)', fn: () => maglev.getSlotsHashed(maglevHashes, out), items: KEYS },
  { name: 'ring string keys (getSlots)', fn: () => ring.getSlots(keys, out), items: KEYS },
  { name: 'maglev string keys (getSlots)', fn: () => maglev.getSlots(keys, out), items: KEYS },
  { name: 'envoy ring pre-hashed (getSlotsHashed)', fn: () => envoy.getSlotsHashed(envoyHashes, out), items: KEYS },
  { name: 'envoy ring string keys (getSlots)', fn: () => envoy.getSlots(keys, out), items: KEYS },
]);
const hundred = ids.slice(0, 100);
const builds = 'table build, 100 nodes, 65,537 entries';
results.push(
  ...(await measure(builds, [
    { name: 'maglev wasm', fn: () => new Maglev().addMany(hundred).dispose() },
    { name: 'maglev ts twin', fn: () => new Maglev({ engine: 'ts' }).addMany(hundred) },
    { name: 'ring (160 points a node)', fn: () => new HashRing().addMany(hundred).dispose() },
  ])),
);

// Balance and disruption: 100 equal nodes, 100,000 keys; then one node leaves.
const spread = (owners: (string | undefined)[]) => {
  const counts = new Map<string, number>();
  for (const o of owners) counts.set(o!, (counts.get(o!) ?? 0) + 1);
  return Math.max(...counts.values()) / (owners.length / counts.size);
};
const r100 = new HashRing().addMany(hundred), m100 = new Maglev().addMany(hundred);
const ringBefore = r100.getBatch(keys), maglevBefore = m100.getBatch(keys);
r100.remove(hundred[37]!);
m100.remove(hundred[37]!);
const movedOf = (before: (string | undefined)[], after: (string | undefined)[]) => before.filter((o, i) => o !== after[i]).length / before.length;
const quality = {
  maxOverMean: { ring: spread(ringBefore), maglev: spread(maglevBefore) },
  movedWhenOneOf100Leaves: { ring: movedOf(ringBefore, r100.getBatch(keys)), maglev: movedOf(maglevBefore, m100.getBatch(keys)) },
};
const r = (suite: string, name: string) => find(results, suite, name);
const buildMs = 1000 / r(builds, 'maglev wasm').median;
const ratios = [
  ratio('1,000 nodes: maglev / ring, pre-hashed lookups', r(lookups, 'maglev pre-hashed (getSlotsHashed)'), r(lookups, 'ring pre-hashed (getSlotsHashed)'), 1.5),
  ratio('1,000 nodes: maglev / ring, string keys', r(lookups, 'maglev string keys (getSlots)'), r(lookups, 'ring string keys (getSlots)')),
  // Within 1.3x of the xxh32 ring: >= 1 / 1.3.
  ratio('1,000 nodes: envoy ring / xxh32 ring, string keys', r(lookups, 'envoy ring string keys (getSlots)'), r(lookups, 'ring string keys (getSlots)'), 0.77),
  ratio('table build, 100 nodes: wasm / ts twin', r(builds, 'maglev wasm'), r(builds, 'maglev ts twin')),
  { label: 'table build, 100 nodes: 2 ms / measured', value: 2 / buildMs, target: 1 },
  { label: 'one of 100 leaves: 2% / keys moved (maglev)', value: 0.02 / quality.movedWhenOneOf100Leaves.maglev, target: 1 },
];
console.log(table(results));
for (const x of ratios) console.log(`${x.label}: ${x.value.toFixed(2)}x`);
console.log(`maglev build (100 nodes): ${buildMs.toFixed(2)} ms; max/mean keys: ring ${quality.maxOverMean.ring.toFixed(3)}, maglev ${quality.maxOverMean.maglev.toFixed(3)}; moved when 1 of 100 leaves: ring ${(quality.movedWhenOneOf100Leaves.ring * 100).toFixed(2)}%, maglev ${(quality.movedWhenOneOf100Leaves.maglev * 100).toFixed(2)}%`);
console.log(`wrote ${save('maglev', { machine: machine(), results, ratios, buildMs, quality })}`);
