import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import HashRingPkg from 'hashring';
import { HashRing } from '../../src/index.js';
import { ENGINES, keys } from '../support/engines.js';

// The real npm hashring package is the oracle: hash: 'ketama' must map every key as it does.

function servers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}:11211`);
}

function weightOf(i: number): number {
  return [1, 2, 0.5, 3, 1.25][i % 5]!;
}

for (const engine of ENGINES) {
  const t = suite(`ketama (${engine})`);

  for (const n of [3, 7, 50, 1000]) {
    for (const weighted of [false, true]) {
      t(`maps every key as hashring does: ${n} servers${weighted ? ', weighted' : ''}`, () => {
        const ids = servers(n);
        const theirs = weighted ? new HashRingPkg(Object.fromEntries(ids.map((id, i) => [id, weightOf(i)]))) : new HashRingPkg(ids);
        const ours = new HashRing({ hash: 'ketama', engine });
        if (weighted) ours.addMany(ids.map((id, i) => [id, { weight: weightOf(i) }] as const));
        else ours.addMany(ids);
        const ks = [...keys(n >= 1000 ? 20_000 : 5000, 'session-'), 'é', '🔑', ''];
        const batch = ours.getBatch(ks);
        for (let i = 0; i < ks.length; i++) {
          assert.is(batch[i], theirs.get(ks[i]!), ks[i]);
        }
        assert.is(ours.points, theirs.ring.length);
      });
    }
  }

  t('after adds and removes, node by node, as hashring after its add()/remove()', () => {
    const ids = servers(12);
    const theirs = new HashRingPkg(ids.slice(0, 4));
    const ours = new HashRing({ hash: 'ketama', engine });
    ids.slice(0, 4).forEach((id) => ours.add(id));
    const ks = keys(3000);
    const check = () => assert.equal(ours.getBatch(ks), ks.map((k) => theirs.get(k)));
    for (const id of ids.slice(4)) {
      theirs.add(id);
      ours.add(id);
      check();
    }
    for (const id of [ids[2]!, ids[9]!, ids[0]!]) {
      theirs.remove(id);
      ours.remove(id);
      check();
    }
  });

  t('a custom vnode count is hashring\'s "vnode count"', () => {
    const ids = servers(9);
    const theirs = new HashRingPkg(ids, 'md5', { 'vnode count': 100 });
    const ours = new HashRing({ hash: 'ketama', vnodes: 100, engine }).addMany(ids);
    const ks = keys(3000);
    assert.equal(ours.getBatch(ks), ks.map((k) => theirs.get(k)));
    assert.equal(ours.getN('user:1', 3), theirs.range('user:1', 3));
  });

  t.run();
}
