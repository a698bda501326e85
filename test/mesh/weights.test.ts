import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, type MeshConfig } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';
import { ENGINES } from '../support/engines.js';

const config: MeshConfig = {
  services: [
    {
      name: 'embed',
      policy: 'swrr',
      weights: { blackoutMs: 10_000, expiryMs: 60_000, updateMs: 1_000, errorPenalty: 1 },
      endpoints: [
        { id: 'a', address: '127.0.0.1:9001', resources: { accelerator: 'L4', count: 1 } },
        { id: 'b', address: '127.0.0.1:9002', resources: { accelerator: 'L4', count: 1 } },
        { id: 'c', address: '127.0.0.1:9003', resources: { accelerator: 'T4', count: 1 } },
      ],
    },
  ],
};

for (const engine of ENGINES) {
  const t = suite(`utilization-driven weights (${engine})`);

  t('capacities first; after the blackout, qps / (utilization + penalty * eps / qps); the silent take the mean', () => {
    let now = 0;
    const mesh = new Mesh({ engine, clock: () => now });
    mesh.apply(config);
    assert.equal(mesh.weights('embed'), { a: 121, b: 121, c: 65 });
    mesh.reportLoad('embed', 'a', { utilization: 0.5, qps: 100 });
    mesh.reportLoad('embed', 'b', { utilization: 0.8, qps: 100, eps: 20 });
    now = 9_999;
    assert.equal(mesh.weights('embed'), { a: 121, b: 121, c: 65 }, 'still in blackout');
    now = 10_000;
    mesh.reportLoad('embed', 'a', { utilization: 0.5, qps: 100 });
    mesh.reportLoad('embed', 'b', { utilization: 0.8, qps: 100, eps: 20 });
    assert.equal(mesh.weights('embed'), { a: 121, b: 121, c: 65 }, 'weights update at most once per updateMs');
    now = 11_000;
    // a: 100 / 0.5 = 200; b: 100 / (0.8 + 20 / 100) = 100; c never reported: mean 150.
    assert.equal(mesh.weights('embed'), { a: 200, b: 100, c: 150 });
  });

  t('traffic follows the weights', () => {
    let now = 0;
    const mesh = new Mesh({ engine, clock: () => now });
    mesh.apply(config);
    for (const at of [0, 10_000]) {
      now = at;
      mesh.reportLoad('embed', 'a', { utilization: 0.25, qps: 50 });
      mesh.reportLoad('embed', 'b', { utilization: 0.5, qps: 50 });
      mesh.reportLoad('embed', 'c', { utilization: 1, qps: 50 });
    }
    assert.equal(mesh.weights('embed'), { a: 200, b: 100, c: 50 });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 350; i++) {
      const r = mesh.route({ service: 'embed' });
      counts[r.endpoint.id] = (counts[r.endpoint.id] ?? 0) + 1;
      mesh.report(r);
    }
    assert.equal(counts, { a: 200, b: 100, c: 50 });
  });

  t('weights expire without reports and a later report starts a new blackout', () => {
    let now = 0;
    const mesh = new Mesh({ engine, clock: () => now });
    mesh.apply(config);
    mesh.reportLoad('embed', 'a', { utilization: 0.5, qps: 100 });
    now = 10_000;
    mesh.reportLoad('embed', 'a', { utilization: 0.5, qps: 100 });
    assert.is(mesh.weights('embed').a, 200);
    now = 70_000;
    assert.equal(mesh.weights('embed'), { a: 121, b: 121, c: 65 }, 'expired: back to capacities');
    mesh.reportLoad('embed', 'a', { utilization: 0.5, qps: 100 });
    now = 75_000;
    assert.is(mesh.weights('embed').a, 121, 'a new blackout');
  });

  t('bad reports are refused and change nothing', () => {
    const mesh = new Mesh({ engine, clock: () => 0 });
    mesh.apply(config);
    throwsCode(() => mesh.reportLoad('embed', 'zz', { utilization: 0.5, qps: 1 }), 'UNKNOWN_NODE', /has no endpoint "zz"/);
    throwsCode(() => mesh.reportLoad('embed', 'a', { utilization: -1, qps: 1 }), 'INVALID_ARGUMENT', /utilization must be a finite number >= 0, got -1/);
    throwsCode(() => mesh.reportLoad('embed', 'a', { qps: 1 } as never), 'INVALID_ARGUMENT', /needs utilization and qps/);
    assert.equal(mesh.weights('embed'), { a: 121, b: 121, c: 65 });
  });

  t.run();
}
