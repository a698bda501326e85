import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HashRing } from '../../src/index.js';
import { ReferenceRing } from '../support/reference.js';
import { ENGINES, keys } from '../support/engines.js';

for (const engine of ENGINES) {
  const t = suite(`HashRing (${engine})`);

  for (const mode of ['xxh32', 'sha1'] as const) {
    t(`${mode}: every key maps as the published construction says (reference ring, independent hashes)`, () => {
      const ring = new HashRing({ engine, hash: mode, vnodes: 40 });
      const ref = new ReferenceRing(mode, 40);
      const nodes: [string, number][] = [['10.0.0.1:8000', 1], ['10.0.0.2:8000', 2], ['gpu-h100-a', 0.25], ['ü-node', 1.5], ['cpu/3', 1]];
      for (const [id, weight] of nodes) {
        ring.add(id, { weight });
        ref.add(id, weight);
      }
      assert.equal(ring.pointList(), ref.pointList());
      for (const key of [...keys(2000), '', 'ключ', '🔑-emoji']) {
        assert.is(ring.get(key), ref.get(key), key);
        assert.equal(ring.getN(key, 3), ref.getN(key, 3), key);
      }
    });
  }

  t('a node of weight w owns max(1, round(vnodes * w)) points', () => {
    const ring = new HashRing({ engine, vnodes: 160 });
    ring.add('a', { weight: 0.25 });
    assert.is(ring.points, 40);
    ring.add('b', { weight: 2 });
    assert.is(ring.points, 40 + 320);
    ring.add('c', { weight: 0.001 });
    assert.is(ring.points, 40 + 320 + 1);
    ring.add('d', { weight: 1.0031 }); // 160.496 rounds to 160
    assert.is(ring.points, 40 + 320 + 1 + 160);
  });

  t('getBatch equals keys.map(get), and getSlots maps through nodeAt', () => {
    const ring = new HashRing({ engine });
    for (let i = 0; i < 20; i++) ring.add(`node-${i}`, { weight: 1 + (i % 3) });
    const ks = [...keys(5000), 'é', 'ключ', '🔑', ''];
    const batch = ring.getBatch(ks);
    assert.equal(batch, ks.map((k) => ring.get(k)));
    const slots = ring.getSlots(ks);
    assert.equal(Array.from(slots, (s) => ring.nodeAt(s)), batch);
    const hashes = Uint32Array.from(ks, (k) => ring.hashKey(k));
    assert.equal(Array.from(ring.getSlotsHashed(hashes)), Array.from(slots));
  });

  t('adding a node moves only the keys it now owns; removing it moves them back', () => {
    const ring = new HashRing({ engine });
    for (let i = 0; i < 100; i++) ring.add(`node-${i}`);
    const ks = keys(100_000);
    const before = ring.getBatch(ks);
    ring.add('node-100');
    const after = ring.getBatch(ks);
    let moved = 0;
    for (let i = 0; i < ks.length; i++) {
      if (before[i] !== after[i]) {
        moved++;
        assert.is(after[i], 'node-100', 'a moved key went to the new node');
      }
    }
    assert.is(moved, after.filter((id) => id === 'node-100').length, 'every key the new node owns moved');
    assert.ok(moved > 0);
    ring.remove('node-100');
    assert.equal(ring.getBatch(ks), before);
  });

  t('getN walks clockwise over distinct nodes and stops at the ring size', () => {
    const ring = new HashRing({ engine });
    ['a', 'b', 'c', 'd'].forEach((id) => ring.add(id));
    const all = ring.getN('session-42', 10);
    assert.is(all.length, 4);
    assert.equal(new Set(all).size, 4);
    assert.is(all[0], ring.get('session-42'));
    assert.equal(ring.getN('session-42', 2), all.slice(0, 2));
  });

  t('an empty ring answers undefined and never throws', () => {
    const ring = new HashRing({ engine });
    assert.is(ring.get('x'), undefined);
    assert.equal(ring.getN('x', 3), []);
    assert.equal(ring.getBatch(['x', 'y']), [undefined, undefined]);
    assert.equal(Array.from(ring.getSlotsHashed(new Uint32Array([1, 2]))), [-1, -1]);
    ring.add('a');
    ring.remove('a');
    assert.is(ring.get('x'), undefined);
    assert.is(ring.size, 0);
    assert.is(ring.points, 0);
  });

  t('size, nodes(), has, weightOf and slots track membership', () => {
    const ring = new HashRing({ engine });
    ring.add('a').add('b', { weight: 3 }).addMany(['c', ['d', { weight: 0.5 }]]);
    assert.is(ring.size, 4);
    assert.equal(ring.nodes(), ['a', 'b', 'c', 'd']);
    assert.ok(ring.has('d'));
    assert.is(ring.weightOf('b'), 3);
    assert.is(ring.remove('b'), true);
    assert.is(ring.remove('b'), false);
    assert.is(ring.nodeAt(ring.slotOf('c')!), 'c');
    assert.equal(ring.nodes(), ['a', 'c', 'd']);
  });

  t('shares are exact arc fractions that sum to 1 and follow the weights', () => {
    const ring = new HashRing({ engine, vnodes: 1000 });
    ring.add('big', { weight: 3 }).add('small', { weight: 1 });
    const shares = ring.shares();
    assert.ok(Math.abs(shares.get('big')! + shares.get('small')! - 1) < 1e-12);
    assert.ok(Math.abs(shares.get('big')! - 0.75) < 0.03, `big share ${shares.get('big')}`);
    // Sampled agreement with the exact arcs.
    const n = 200_000;
    const owned = ring.getBatch(keys(n)).filter((id) => id === 'big').length / n;
    assert.ok(Math.abs(owned - shares.get('big')!) < 0.01);
  });

  t('a million-point ring builds, grows memory, and still agrees with the TS twin', () => {
    const big = new HashRing({ engine, vnodes: 10000 });
    const twin = new HashRing({ engine: 'ts', vnodes: 10000 });
    const ids = Array.from({ length: 100 }, (_, i) => `gpu-${i}`);
    big.addMany(ids);
    ids.forEach((id) => twin.add(id));
    assert.is(big.points, 1_000_000);
    const ks = keys(20_000, 'k');
    assert.equal(big.getBatch(ks), twin.getBatch(ks));
    big.remove('gpu-7');
    twin.remove('gpu-7');
    assert.equal(big.getBatch(ks), twin.getBatch(ks));
    big.dispose();
  });

  t.run();
}

const moved = suite('movedShare');
moved('is exact: an add moves the new node\'s share, the reverse change the same, and sampling agrees', async () => {
  const { movedShare } = await import('../../src/index.js');
  for (const hash of ['xxh32', 'ketama', 'sha1'] as const) {
    const ids = Array.from({ length: 12 }, (_, i) => `n${i}`);
    const a = new HashRing({ hash }).addMany(ids.map((id, i) => [id, { weight: 1 + (i % 3) }] as const));
    const b = new HashRing({ hash }).addMany([...ids.map((id, i) => [id, { weight: 1 + (i % 3) }] as const), ['n12', { weight: 2 }]]);
    const share = movedShare(a, b);
    if (hash !== 'ketama') assert.is(share, b.shares().get('n12'), `${hash}: add moves exactly the new node's arcs`);
    else assert.ok(share >= b.shares().get('n12')!, 'ketama may also rescale the other nodes: at least the new share moves');
    assert.is(movedShare(b, a), share, 'symmetric');
    assert.is(movedShare(a, a), 0);
    const ks = keys(100_000);
    const ka = a.getBatch(ks), kb = b.getBatch(ks);
    const sampled = ka.filter((id, i) => id !== kb[i]).length / ks.length;
    assert.ok(Math.abs(sampled - share) < 0.01, `${hash}: sampled ${sampled} vs exact ${share}`);
  }
  assert.is(movedShare(new HashRing(), new HashRing().add('x')), 1);
  assert.is(movedShare(new HashRing(), new HashRing()), 0);
});
moved.run();
