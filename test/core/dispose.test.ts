import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BoundedLoad, HashRing, Maglev, PrefixIndex, SmoothWrr } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';
import { ENGINES } from '../support/engines.js';

// A Wasm table's memory is freed on dispose(): a later read must throw, not read memory another table reuses.
for (const engine of ENGINES) {
  const t = suite(`dispose (${engine})`);

  t('a disposed HashRing throws CLOSED on use, in both hash modes; dispose() twice is harmless', () => {
    for (const hash of ['xxh32', 'envoy'] as const) {
      const ring = new HashRing({ engine, hash }).add('a').add('b', { weight: 2 });
      const other = new HashRing({ engine, hash }).add('x').add('y');
      const before = other.pointList();
      ring.dispose();
      ring.dispose();
      throwsCode(() => ring.get('k'), 'CLOSED', /this HashRing was disposed/);
      throwsCode(() => ring.pointList(), 'CLOSED', /build a new HashRing/);
      throwsCode(() => ring.getBatch(['k']), 'CLOSED', /disposed/);
      throwsCode(() => ring.add('c'), 'CLOSED', /disposed/);
      // A ring built after the free still reads its own points, and the other ring is untouched.
      const again = new HashRing({ engine, hash }).add('p').add('q');
      assert.equal(new Set(again.pointList().map(([, id]) => id)), new Set(['p', 'q']));
      assert.equal(other.pointList(), before);
      other.dispose();
      again.dispose();
    }
  });

  t('SmoothWrr, Maglev, PrefixIndex and BoundedLoad throw CLOSED once disposed', () => {
    const wrr = new SmoothWrr({ engine }).set('a', 1).set('b', 2);
    wrr.dispose();
    throwsCode(() => wrr.pick(), 'CLOSED', /this SmoothWrr was disposed/);
    wrr.dispose();
    const mg = new Maglev({ engine }).add('a').add('b');
    mg.dispose();
    throwsCode(() => mg.get('k'), 'CLOSED', /this Maglev was disposed/);
    const ix = new PrefixIndex({ engine });
    ix.set('a', 100);
    ix.dispose();
    throwsCode(() => ix.match('hello'), 'CLOSED', /this PrefixIndex was disposed/);
    const ring = new HashRing({ engine }).add('a').add('b');
    const bounded = new BoundedLoad(ring);
    bounded.dispose();
    throwsCode(() => bounded.acquire('k'), 'CLOSED', /this BoundedLoad was disposed/);
    assert.ok(ring.get('k'), 'the ring under it still routes');
    ring.dispose();
  });

  t.run();
}
