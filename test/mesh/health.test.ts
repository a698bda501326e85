import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, type Ejection, type MeshConfig } from '../../src/index.js';
import { ENGINES, keys } from '../support/engines.js';
import { routedTo } from '../support/mesh.js';

const service = (n: number, policy: 'ring-hash' | 'swrr', outlier: NonNullable<MeshConfig['services'][number]['outlier']> = {}): MeshConfig => ({
  services: [{ name: 's', policy, outlier, endpoints: Array.from({ length: n }, (_, i) => ({ id: `e${i}`, address: `127.0.0.1:${9000 + i}`, resources: { accelerator: 'L4', count: 1 } })) }],
});

for (const engine of ENGINES) {
  const t = suite(`outlier detection (${engine})`);

  function setup(config: MeshConfig) {
    const clock = { now: 0 };
    const mesh = new Mesh({ engine, clock: () => clock.now });
    mesh.apply(config);
    const ejections: Ejection[] = [];
    mesh.onEject((_, e) => ejections.push(e));
    // One request to `id` (by a key it owns, or any pick for swrr) reported with `status`.
    const hit = (id: string, status: number) => {
      const key = keys(5000).find((k) => mesh.owner('s', k) === id)!;
      mesh.report(mesh.route({ service: 's', key }), { status });
    };
    return { clock, mesh, ejections, hit };
  }

  t('an endpoint is ejected after exactly 5 consecutive failures; a success resets the count', () => {
    const { mesh, ejections, hit } = setup(service(10, 'ring-hash'));
    for (let i = 0; i < 4; i++) hit('e3', 503);
    hit('e3', 200);
    for (let i = 0; i < 4; i++) hit('e3', 502);
    assert.equal(mesh.ejected('s'), []);
    hit('e3', 500);
    assert.equal(mesh.ejected('s'), ['e3']);
    assert.equal(ejections.map((e) => [e.id, e.cause, e.times, e.until]), [['e3', 'consecutive', 1, 30_000]]);
  });

  t('keys of an ejected endpoint fail over clockwise and come back when the ejection lapses', () => {
    const { clock, mesh, hit } = setup(service(10, 'ring-hash'));
    const ks = keys(3000);
    const owners = () => routedTo(mesh, 's', ks);
    const before = owners();
    for (let i = 0; i < 5; i++) hit('e3', 503);
    const during = owners();
    assert.ok(!during.includes('e3'));
    before.forEach((id, i) => {
      if (id !== 'e3') assert.is(during[i], id, 'only the keys of the ejected endpoint move');
    });
    clock.now = 30_000;
    assert.equal(owners(), before);
  });

  t('ejection time grows with each ejection, capped at 300 s', () => {
    const { clock, ejections, hit } = setup(service(10, 'ring-hash'));
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 5; i++) hit('e1', 503);
      clock.now = ejections[ejections.length - 1]!.until;
    }
    const times = ejections.map((e, i) => e.until - (i === 0 ? 0 : ejections[i - 1]!.until));
    assert.equal(times, [30_000, 60_000, 90_000, 120_000, 150_000, 180_000, 210_000, 240_000, 270_000, 300_000, 300_000, 300_000]);
  });

  t('never more than maxEjectionPercent of the endpoints, but one of two may always go', () => {
    for (const [n, most] of [[2, 1], [10, 1], [20, 2], [35, 3]] as const) {
      const { mesh, hit } = setup(service(n, 'ring-hash'));
      for (let e = 0; e < Math.min(5, n); e++) for (let i = 0; i < 5; i++) hit(`e${e}`, 503);
      assert.is(mesh.ejected('s').length, most, `${n} endpoints`);
    }
  });

  t('panic: below 50% healthy, traffic goes to all endpoints again, and the reason says so', () => {
    const { mesh, hit } = setup(service(3, 'ring-hash', { maxEjectionPercent: 100 }));
    for (const id of ['e0', 'e1']) for (let i = 0; i < 5; i++) hit(id, 503);
    assert.is(mesh.ejected('s').length, 2);
    const routes = keys(300).map((k) => mesh.route({ service: 's', key: k, cost: 1e-9 }));
    assert.ok(routes.every((r) => r.reason.startsWith('panic (1 of 3 healthy): ')));
    assert.equal(new Set(routes.map((r) => r.endpoint.id)).size, 3);
  });

  t('success-rate ejection: below mean - 1.9 stddev over endpoints with enough requests', () => {
    const { clock, mesh, ejections } = setup(service(10, 'swrr', { successRate: { intervalMs: 10_000, minRequests: 100, stdevFactor: 1.9 }, maxEjectionPercent: 20 }));
    let e7 = 0;
    for (let i = 0; i < 2000; i++) {
      const r = mesh.route({ service: 's' });
      // e7 fails one request in four, never five in a row; the others never fail.
      const fail = r.endpoint.id === 'e7' && e7++ % 4 === 0;
      mesh.report(r, { status: fail ? 503 : 200 });
    }
    assert.equal(mesh.ejected('s'), []);
    clock.now = 10_000;
    assert.equal(mesh.ejected('s'), ['e7']);
    assert.is(ejections[0]!.cause, 'success-rate');
  });

  t('an ejected swrr peer keeps its round-robin state and resumes where it was', () => {
    const { clock, mesh } = setup(service(3, 'swrr'));
    const pick = () => {
      const r = mesh.route({ service: 's' });
      return r;
    };
    for (let i = 0; i < 5; i++) mesh.report(pick(), { status: 200 });
    let failures = 0;
    while (failures < 5) {
      const r = pick();
      const bad = r.endpoint.id === 'e1';
      mesh.report(r, { status: bad ? 503 : 200 });
      if (bad) failures++;
    }
    assert.equal(mesh.ejected('s'), ['e1']);
    for (let i = 0; i < 30; i++) assert.is.not(pick().endpoint.id, 'e1');
    clock.now = 30_000;
    // Back, in slow start: 10% of its weight at first (others 121).
    const picks = Array.from({ length: 60 }, () => pick().endpoint.id);
    assert.is(mesh.weights('s').e1, 12.1);
    assert.ok(picks.includes('e1'));
  });

  t.run();
}
