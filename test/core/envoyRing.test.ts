import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import XXH from 'xxhashjs';
import { BoundedLoad, HashRing } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';

const t = suite('HashRing hash: envoy (Envoy\'s ring_hash)');

// xxHash64 by xxhashjs, independent of ours.
const h64 = (text: string) => BigInt(`0x${XXH.h64(new TextEncoder().encode(text).buffer as ArrayBuffer, 0).toString(16)}`);

/** Envoy's ring_hash_lb.cc written out plainly, over xxhashjs: the independent reference. */
function reference(nodes: [string, number][], minRing: number, maxRing: number): [bigint, string][] {
  const sum = nodes.reduce((s, [, w]) => s + w, 0);
  const weights = nodes.map(([, w]) => w / sum);
  const min = Math.min(...weights);
  const scale = Math.min(Math.ceil(min * minRing) / min, maxRing);
  const ring: [bigint, string][] = [];
  let current = 0, target = 0;
  nodes.forEach(([id], k) => {
    target += scale * weights[k]!;
    for (let i = 0; current < target; i++, current++) ring.push([h64(`${id}_${i}`), id]);
  });
  return ring.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
const lookup = (ring: [bigint, string][], h: bigint) => (ring.find(([p]) => p >= h) ?? ring[0]!)[1];

const byAddress = ['90', '91', '92', '93', '94', '95'].map((p) => `127.0.0.1:${p}`);
for (const engine of ['wasm', 'ts'] as const) {
  t(`${engine}: Envoy's own vectors (ring_hash_lb_test.cc): six hosts, minimum_ring_size 12, by address and by hostname`, () => {
    const ring = new HashRing({ hash: 'envoy', minRingSize: 12, engine }).addMany(byAddress);
    assert.is(ring.points, 12);
    assert.equal(ring.pointList(), [
      [833437586790550860n, '127.0.0.1:94'], [928266305478181108n, '127.0.0.1:92'], [1033482794131418490n, '127.0.0.1:90'],
      [3551244743356806947n, '127.0.0.1:95'], [3851675632748031481n, '127.0.0.1:93'], [5583722120771150861n, '127.0.0.1:91'],
      [6311230543546372928n, '127.0.0.1:91'], [7700377290971790572n, '127.0.0.1:93'], [13144177310400110813n, '127.0.0.1:95'],
      [13444792449719432967n, '127.0.0.1:92'], [15516499411664133160n, '127.0.0.1:94'], [16117243373044804889n, '127.0.0.1:90'],
    ]);
    const pick = (h: bigint) => ring.nodeAt(ring.getSlotsHashed(BigUint64Array.of(h))[0]!);
    assert.is(pick(0n), '127.0.0.1:94');
    assert.is(pick(2n ** 64n - 1n), '127.0.0.1:94');
    assert.is(pick(3551244743356806947n), '127.0.0.1:95');
    assert.is(pick(3551244743356806948n), '127.0.0.1:93');
    assert.is(pick(16117243373044804880n), '127.0.0.1:90');
    const byName = new HashRing({ hash: 'envoy', minRingSize: 12, engine }).addMany(['90', '91', '92', '93', '94', '95']);
    assert.equal(byName.pointList().map(([p, id]) => `${id} ${p}`), [
      '95 1975508444536362413', '95 2376063919839173711', '93 2386806903309390596', '94 6749904478991551885',
      '93 6803900775736438537', '92 7225015537174310577', '90 8787465352164086522', '92 11282020843382717940',
      '91 13723418369486627818', '90 13776502110861797421', '91 14338313586354474791', '94 15364271037087512980',
    ]);
    const pickByName = (h: bigint) => byName.nodeAt(byName.getSlotsHashed(BigUint64Array.of(h))[0]!);
    assert.is(pickByName(0n), '95');
    assert.is(pickByName(7225015537174310577n), '92');
    assert.is(pickByName(6803900775736438537n), '93');
    ring.dispose();
  });
}

t('both engines agree with the reference over random nodes, weights and ring sizes, for points, keys, hashes and getN', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 8, maxLength: 8 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 400 }),
      fc.array(fc.string({ maxLength: 16 }), { maxLength: 12 }),
      (ids, weights, minRing, maxRing, keys) => {
        fc.pre(minRing <= maxRing);
        const nodes = ids.map((id, i) => [id, weights[i]!] as [string, number]);
        const expected = reference(nodes, minRing, maxRing);
        for (const engine of ['wasm', 'ts'] as const) {
          const ring = new HashRing({ hash: 'envoy', minRingSize: minRing, maxRingSize: maxRing, engine }).addMany(nodes.map(([id, weight]) => [id, { weight }] as const));
          assert.equal(ring.pointList(), expected);
          assert.equal(ring.getBatch(keys), keys.map((k) => lookup(expected, h64(k))));
          for (const k of keys) {
            assert.is(ring.get(k), lookup(expected, h64(k)));
            assert.is(ring.hashKey64(k), h64(k));
            assert.is(ring.getN(k, 2)[0], ring.get(k));
          }
          ring.dispose();
        }
      },
    ),
    { numRuns: 150 },
  );
});

t('batch lookups of hashes through the bucket index: every hash, the points themselves and the ends of the space, as the reference', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 1, max: 5000 }),
      fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 40 }),
      (ids, minRing, random) => {
        const expected = reference(ids.map((id) => [id, 1]), minRing, 8_388_608);
        // Each point, one either side of it, both ends of the 64-bit space and random hashes.
        const max = (1n << 64n) - 1n;
        const edges = expected.flatMap(([p]) => [p, p === 0n ? p : p - 1n, p === max ? p : p + 1n]).slice(0, 300);
        const hashes = BigUint64Array.from([0n, 1n, max, max - 1n, ...edges, ...random]);
        const want = [...hashes].map((h) => lookup(expected, h));
        for (const engine of ['wasm', 'ts'] as const) {
          const ring = new HashRing({ hash: 'envoy', minRingSize: minRing, engine }).addMany(ids);
          assert.equal([...ring.getSlotsHashed(hashes)].map((slot) => ring.nodeAt(slot)), want, engine);
          ring.dispose();
        }
      },
    ),
    { numRuns: 60 },
  );
});

t('a removal rebuilds the ring of the nodes left, in the order they were added; bounded loads walk it', () => {
  const ring = new HashRing({ hash: 'envoy' }).addMany(['a', 'b', 'c', 'd']);
  ring.remove('c');
  assert.equal(ring.pointList(), new HashRing({ hash: 'envoy' }).addMany(['a', 'b', 'd']).pointList());
  assert.is(ring.points, 1026); // scale ceil(1/3 x 1024) x 3, as Envoy sizes it
  const bounded = new BoundedLoad(ring, { c: 1.25 });
  const owners = Array.from({ length: 30 }, () => bounded.acquire('hot', 1));
  assert.ok(new Set(owners).size > 1, 'an owner at its bound passes keys on');
  assert.equal(ring.getN('hot', 3).length, 3);
});

t('bad input: WasmeshError naming the value and what is allowed', () => {
  throwsCode(() => new HashRing({ hash: 'envoy', minRingSize: 20, maxRingSize: 10 }), 'INVALID_OPTION', /minRingSize \(20\) must not exceed maxRingSize \(10\)/);
  throwsCode(() => new HashRing({ hash: 'envoy', minRingSize: 0 }), 'INVALID_OPTION', /minRingSize must be an integer from 1 to 8388608, got 0/);
  throwsCode(() => new HashRing({ minRingSize: 12 }), 'INVALID_OPTION', /minRingSize applies to hash "envoy" only, got hash "xxh32"/);
  const ring = new HashRing({ hash: 'envoy' }).add('a');
  throwsCode(() => ring.getSlotsHashed(Uint32Array.of(1)), 'INVALID_KEY', /hashes must be a BigUint64Array \(the envoy ring is 64-bit\)/);
  throwsCode(() => ring.hashKey('k'), 'INVALID_ARGUMENT', /use hashKey64/);
  throwsCode(() => ring.snapshot(), 'INVALID_ARGUMENT', /no 32-bit snapshot/);
  throwsCode(() => ring.add('b', { weight: -1 }), 'INVALID_WEIGHT', /weight/);
  assert.equal(ring.nodes(), ['a']);
});

t.run();
