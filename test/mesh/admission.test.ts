import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, WasmeshError, type MeshConfig, type Route } from '../../src/index.js';
import { ENGINES } from '../support/engines.js';

const config = (queue: number, timeoutMs = 50): MeshConfig => ({
  services: [
    {
      name: 'gen',
      policy: 'p2c',
      admission: { queue, timeoutMs },
      endpoints: [{ id: 'a', address: '127.0.0.1:9001', maxInflight: 2, resources: { accelerator: 'L4', count: 1 } }],
    },
  ],
});

async function rejects(p: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await p;
  } catch (error) {
    assert.instance(error, WasmeshError);
    assert.is((error as WasmeshError).code, 'OVERLOADED');
    assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable('expected OVERLOADED');
}

for (const engine of ENGINES) {
  const t = suite(`admission queue (${engine})`);

  t('waiters are served in order as reports free room', async () => {
    const mesh = new Mesh({ engine });
    mesh.apply(config(2, 1000));
    const held = [await mesh.routeAsync({ service: 'gen' }), await mesh.routeAsync({ service: 'gen' })];
    const order: number[] = [];
    const w1 = mesh.routeAsync({ service: 'gen' }).then((r) => (order.push(1), r));
    const w2 = mesh.routeAsync({ service: 'gen' }).then((r) => (order.push(2), r));
    await rejects(mesh.routeAsync({ service: 'gen' }), /admission queue full \(2\)/);
    mesh.report(held[0]!);
    mesh.report(held[1]!);
    const served: Route[] = [await w1, await w2];
    assert.equal(order, [1, 2]);
    assert.is(mesh.endpoints('gen')[0]!.load, 2);
    served.forEach((r) => mesh.report(r));
    assert.is(mesh.endpoints('gen')[0]!.load, 0);
  });

  t('a waiter times out with OVERLOADED and leaves the queue', async () => {
    const mesh = new Mesh({ engine });
    mesh.apply(config(1, 20));
    await mesh.routeAsync({ service: 'gen', cost: 2 });
    await rejects(mesh.routeAsync({ service: 'gen' }), /no room within 20 ms/);
    await rejects(mesh.routeAsync({ service: 'gen' }), /no room within 20 ms/);
  });

  t('without a queue, routeAsync fails at once like route', async () => {
    const mesh = new Mesh({ engine });
    mesh.apply(config(0));
    await mesh.routeAsync({ service: 'gen', cost: 2 });
    await rejects(mesh.routeAsync({ service: 'gen' }), /admission queue off/);
  });

  t.run();
}
