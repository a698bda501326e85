import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, type MeshConfig } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';
import { ENGINES } from '../support/engines.js';

const config = (circuit: object, maxRequests?: number): MeshConfig => ({
  services: [
    {
      name: 'gen',
      policy: 'swrr',
      circuit,
      admission: { queue: 10, timeoutMs: 1000 },
      endpoints: ['a', 'b'].map((id) => ({ id, address: '127.0.0.1:9000', ...(maxRequests ? { maxRequests } : {}), resources: { accelerator: 'L4', count: 1 } })),
    },
  ],
});

for (const engine of ENGINES) {
  const t = suite(`circuit breakers (${engine})`);

  t('a service at its maximum of requests in flight refuses at once; a report closes the circuit', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(config({ maxRequests: 3 }));
    const held = [1, 2, 3].map(() => mesh.route({ service: 'gen' }));
    throwsCode(() => mesh.route({ service: 'gen' }), 'OVERLOADED', /circuit open: service "gen" has 3 requests in flight \(max 3\)/);
    mesh.report(held[0]!);
    assert.ok(mesh.route({ service: 'gen' }));
  });

  t('an endpoint at its maximum of requests sits out; all of them at it refuses', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(config({}, 2));
    const held = [1, 2, 3, 4].map(() => mesh.route({ service: 'gen' }));
    assert.equal(held.map((r) => r.endpoint.id).sort(), ['a', 'a', 'b', 'b']);
    throwsCode(() => mesh.route({ service: 'gen' }), 'OVERLOADED', /circuit open: every endpoint of service "gen" has its maximum of requests in flight/);
    mesh.report(held.find((r) => r.endpoint.id === 'b')!);
    assert.is(mesh.route({ service: 'gen' }).endpoint.id, 'b');
  });

  t('maxPending caps the admission queue', async () => {
    const mesh = new Mesh({ engine });
    mesh.apply(config({ maxRequests: 1, maxPending: 1 }));
    const held = await mesh.routeAsync({ service: 'gen' });
    const waiting = mesh.routeAsync({ service: 'gen' });
    try {
      await mesh.routeAsync({ service: 'gen' });
      assert.unreachable();
    } catch (error) {
      assert.match((error as Error).message, /admission queue full \(1\)/);
    }
    mesh.report(held);
    assert.ok(await waiting);
  });

  t.run();
}
