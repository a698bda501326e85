import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, StaticDiscovery, WasmeshError, type MeshConfig } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';
import { ENGINES, keys } from '../support/engines.js';
import { routedTo } from '../support/mesh.js';

const base = (): MeshConfig => ({
  services: [
    { name: 'chat', policy: 'ring-hash', endpoints: [] },
    { name: 'embed', policy: 'swrr', endpoints: [] },
  ],
});
const ep = (id: string, accelerator = 'A100', count = 8) => ({ id, address: `127.0.0.1:${9000 + id.length}`, resources: { accelerator, count } });


for (const engine of ENGINES) {
  const t = suite(`discovery (${engine})`);

  t('attach delivers the current endpoints, then each change; detach stops', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(base());
    const source = new StaticDiscovery({ chat: [ep('a'), ep('b')] });
    const stop = mesh.attach(source);
    assert.equal(mesh.endpoints('chat').map((e) => e.id), ['a', 'b']);
    source.push({ type: 'add', service: 'chat', endpoint: ep('c', 'H100') });
    assert.equal(mesh.endpoints('chat').map((e) => e.id), ['a', 'b', 'c']);
    stop();
    source.push({ type: 'remove', service: 'chat', id: 'a' });
    assert.is(mesh.endpoints('chat').length, 3, 'no longer following');
  });

  t('an added endpoint takes exactly its share of the key space, from every other endpoint, and nothing else moves', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(base());
    ['a', 'b', 'c', 'd'].forEach((id) => mesh.patch({ type: 'add', service: 'chat', endpoint: ep(id) }));
    const ks = keys(50_000);
    const before = routedTo(mesh, 'chat', ks);
    const v = mesh.version;
    const r = mesh.patch({ type: 'add', service: 'chat', endpoint: ep('e', 'H100') });
    assert.is(r.version, v + 1);
    assert.equal(r.services.chat!.added, ['e']);
    const after = routedTo(mesh, 'chat', ks);
    const moved = before.filter((id, i) => id !== after[i]).length / ks.length;
    assert.ok(after.every((id, i) => id === before[i] || id === 'e'));
    assert.ok(Math.abs(moved - r.services.chat!.movedShare!) < 0.01, `${moved} vs ${r.services.chat!.movedShare}`);
    // Removing it again restores every key, and the prediction is the same share.
    const back = mesh.patch({ type: 'remove', service: 'chat', id: 'e' });
    assert.is(back.services.chat!.movedShare, r.services.chat!.movedShare);
    assert.equal(routedTo(mesh, 'chat', ks), before);
  });

  t('after every change a route carries the endpoint as it now is, and a freed slot taken by another node routes to that node', () => {
    for (const hash of ['xxh32', 'envoy'] as const) {
      const mesh = new Mesh({ engine });
      mesh.apply({ services: [{ name: 'chat', policy: 'ring-hash', ring: { hash }, endpoints: ['a', 'b', 'c'].map((id) => ep(id)) }] });
      const ks = keys(300);
      const check = (what: string) => {
        for (const k of ks) {
          const r = mesh.route({ service: 'chat', key: k });
          const now = mesh.endpoints('chat').find((e) => e.id === r.endpoint.id)!;
          assert.is(r.endpoint.id, mesh.owner('chat', k), `${hash} ${what}: ${k}`);
          assert.is(r.endpoint.address, now.address, `${hash} ${what}: ${k} went to a stale endpoint`);
          mesh.report(r, { status: 200 });
        }
      };
      check('start');
      mesh.patch({ type: 'update', service: 'chat', endpoint: { ...ep('b'), address: '127.0.0.1:9999' } });
      check('b moved');
      mesh.patch({ type: 'remove', service: 'chat', id: 'a' });
      mesh.patch({ type: 'add', service: 'chat', endpoint: { ...ep('z'), address: '127.0.0.1:9998' } });
      check('a gone, z in its slot');
    }
  });

  t('an update keeps the endpoint\'s in-flight cost and moves only the share it gains', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(base());
    ['a', 'b', 'c'].forEach((id) => mesh.patch({ type: 'add', service: 'chat', endpoint: ep(id) }));
    const held = mesh.route({ service: 'chat', key: 'k', cost: 4 });
    const r = mesh.patch({ type: 'update', service: 'chat', endpoint: ep(held.endpoint.id, 'A100', 16) });
    assert.equal(r.services.chat!.updated, [held.endpoint.id]);
    assert.is(mesh.endpoints('chat').find((e) => e.id === held.endpoint.id)!.load, 4);
    assert.is(mesh.endpoints('chat').find((e) => e.id === held.endpoint.id)!.capacity, 16 * 312);
    assert.ok(r.services.chat!.movedShare! > 0.1 && r.services.chat!.movedShare! < 0.4);
    mesh.report(held);
    assert.is(mesh.endpoints('chat').find((e) => e.id === held.endpoint.id)!.load, 0);
  });

  t('swrr patches keep the other endpoints\' state and follow the new capacities', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(base());
    mesh.patch({ type: 'add', service: 'embed', endpoint: ep('x', 'L4', 1) });
    mesh.patch({ type: 'add', service: 'embed', endpoint: ep('y', 'L4', 3) });
    const count = (n: number) => {
      const c = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const r = mesh.route({ service: 'embed' });
        c.set(r.endpoint.id, (c.get(r.endpoint.id) ?? 0) + 1);
        mesh.report(r);
      }
      return Object.fromEntries(c);
    };
    assert.equal(count(400), { x: 100, y: 300 });
    mesh.patch({ type: 'remove', service: 'embed', id: 'x' });
    assert.equal(count(10), { y: 10 });
  });

  t('a bad event is refused, reported to onError, and changes nothing', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(base());
    const errors: unknown[] = [];
    const source = new StaticDiscovery();
    mesh.attach(source, (e) => errors.push(e));
    const v = mesh.version;
    source.push({ type: 'add', service: 'chat', endpoint: { ...ep('z'), address: 'bad' } });
    source.push({ type: 'add', service: 'nope', endpoint: ep('z') });
    source.push({ type: 'add', service: 'chat', endpoint: ep('z', 'B300') });
    assert.is(errors.length, 3);
    assert.is((errors[0] as WasmeshError).code, 'INVALID_CONFIG');
    assert.match((errors[0] as Error).message, 'chat.endpoints["z"].address: expected "host:port"');
    assert.is((errors[1] as WasmeshError).code, 'NO_ENDPOINT');
    assert.match((errors[2] as Error).message, 'unknown accelerator "B300"');
    assert.is(mesh.version, v);
    assert.is(mesh.endpoints('chat').length, 0);
    throwsCode(() => mesh.route({ service: 'chat', key: 'k' }), 'NO_ENDPOINT', /has no endpoints/);
  });

  t.run();
}
