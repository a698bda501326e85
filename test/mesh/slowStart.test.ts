import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, type MeshConfig } from '../../src/index.js';
import { slowStartFactor, kDefaultSlowStart } from '../../src/mesh/balancers.js';
import { ENGINES } from '../support/engines.js';

const ep = (id: string) => ({ id, address: '127.0.0.1:9000', resources: { accelerator: 'L4', count: 1 } });
const config = (slowStart?: MeshConfig['services'][number]['slowStart']): MeshConfig => ({
  services: [{ name: 'gen', policy: 'swrr', ...(slowStart ? { slowStart } : {}), weights: { updateMs: 1 }, endpoints: [ep('a'), ep('b')] }],
});

test_factor();

function test_factor(): void {
  const t = suite('slow-start factor');
  t('linear by default from 10%, Envoy\'s formula with aggression', () => {
    const s = kDefaultSlowStart;
    assert.equal([0, 1000, 3000, 15_000, 29_999, 30_000, 90_000].map((ms) => slowStartFactor(ms, s)), [0.1, 0.1, 0.1, 0.5, 29_999 / 30_000, 1, 1]);
    assert.is(slowStartFactor(7_500, { ...s, aggression: 2 }), 0.5, '(1/4) ^ (1/2)');
    assert.is(slowStartFactor(0, { ...s, windowMs: 0 }), 1, 'off');
  });
  t.run();
}

for (const engine of ENGINES) {
  const t = suite(`slow start (${engine})`);

  t('a discovered endpoint ramps from 10% to its full weight over the window', () => {
    let now = 0;
    const mesh = new Mesh({ engine, clock: () => now });
    mesh.apply(config());
    assert.equal(mesh.weights('gen'), { a: 121, b: 121 }, 'the first fleet does not start slow');
    mesh.patch({ type: 'add', service: 'gen', endpoint: ep('c') });
    const c = () => mesh.weights('gen').c;
    assert.is(c(), 12.1);
    now = 15_000;
    assert.is(c(), 60.5);
    now = 30_000;
    assert.is(c(), 121);
  });

  t('an endpoint added by apply starts slow; the window and aggression are configurable', () => {
    let now = 0;
    const mesh = new Mesh({ engine, clock: () => now });
    mesh.apply(config({ windowMs: 10_000, aggression: 2 }));
    const next = config({ windowMs: 10_000, aggression: 2 });
    next.services[0]!.endpoints!.push(ep('c'));
    mesh.apply(next);
    now = 2_500;
    assert.is(mesh.weights('gen').c, 60.5, '121 x (1/4)^(1/2)');
    now = 10_000;
    assert.is(mesh.weights('gen').c, 121);
  });

  t('traffic follows the ramp', () => {
    let now = 0;
    const mesh = new Mesh({ engine, clock: () => now });
    mesh.apply(config());
    mesh.patch({ type: 'add', service: 'gen', endpoint: ep('c') });
    const share = () => {
      let n = 0;
      for (let i = 0; i < 2541; i++) {
        const r = mesh.route({ service: 'gen' });
        if (r.endpoint.id === 'c') n++;
        mesh.report(r);
      }
      return n / 2541;
    };
    assert.ok(Math.abs(share() - 12.1 / 254.1) < 0.01);
    now = 30_000;
    assert.ok(Math.abs(share() - 1 / 3) < 0.01);
  });

  t.run();
}
