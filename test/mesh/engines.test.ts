import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, type Route, WasmeshError } from '../../src/index.js';

// The filters before a policy's pick: the model an endpoint serves, its engine's saturation (and
// staleness), LoRA affinity; and counts kept per endpoint incarnation.
const t = suite('mesh: engine reports, model, saturation and LoRA filters');

const e = (id: string, extra: object = {}) => ({ id, address: `10.0.0.${id.charCodeAt(id.length - 1) % 200}:8000`, resources: { accelerator: 'L4', count: 1 }, ...extra });
const code = (c: string) => (err: unknown) => err instanceof WasmeshError && err.code === c;

// Round robin by default: over 60 picks it visits every endpoint the filters leave.
function meshWith(service: object, clock = { now: 0 }) {
  const mesh = new Mesh({ clock: () => clock.now });
  mesh.apply({ services: [{ name: 's', policy: 'swrr', ...service }] });
  return { mesh, clock };
}

const picks = (mesh: Mesh, request: object, n = 60) => {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = mesh.route({ service: 's', ...request });
    mesh.report(r);
    seen.add(r.endpoint.id);
  }
  return [...seen].sort();
};

t('model filter: endpoints serving the model, its base, or an adapter by its own name; UNKNOWN_MODEL otherwise', () => {
  const { mesh } = meshWith({ endpoints: [e('a', { models: ['llama-70b'] }), e('b', { models: ['llama-70b', 'llama-70b:sql'] }), e('c', { models: ['llama-8b'] })] });
  assert.equal(picks(mesh, { model: 'llama-70b' }), ['a', 'b']);
  assert.equal(picks(mesh, { model: 'llama-70b:sql' }), ['b']);
  assert.equal(picks(mesh, { model: 'sql' }), ['b']);
  assert.equal(picks(mesh, { model: 'llama-8b' }), ['c']);
  assert.equal(picks(mesh, {}), ['a', 'b', 'c']);
  assert.throws(() => mesh.route({ service: 's', model: 'gpt-9' }), (err: unknown) => code('UNKNOWN_MODEL')(err) && /gpt-9/.test((err as Error).message));
  assert.equal(mesh.inflight('s').requests, 0);
});

t('saturation: an endpoint whose queue or KV cache is above the thresholds is skipped unless all are; a sheddable request is then shed', () => {
  const { mesh } = meshWith({ engines: { maxQueue: 5, maxKvUsage: 0.8 }, endpoints: [e('a'), e('b'), e('c')] });
  mesh.reportLoad('s', 'a', { queueLength: 6, kvUsage: 0.1 });
  mesh.reportLoad('s', 'b', { queueLength: 0, kvUsage: 0.95 });
  mesh.reportLoad('s', 'c', { queueLength: 5, kvUsage: 0.8 });
  assert.equal(picks(mesh, {}), ['c']);
  assert.equal(mesh.engineState('s', 'a'), { state: 'fresh', saturated: true, report: mesh.engineState('s', 'a').report });
  mesh.reportLoad('s', 'c', { queueLength: 9 });
  // All saturated: routing goes on over all of them; only sheddable requests are refused.
  assert.equal(picks(mesh, {}), ['a', 'b', 'c']);
  assert.throws(() => mesh.route({ service: 's', priority: -1 }), (err: unknown) => code('OVERLOADED')(err) && /^shed/.test((err as Error).message));
  assert.ok(mesh.route({ service: 's', priority: 0 }));
});

t('stale reports: saturated by default, ignored when the service says so; a scraped endpoint never read goes stale too', () => {
  const clock = { now: 0 };
  const { mesh } = meshWith({ engines: { staleMs: 1000 }, endpoints: [e('a'), e('b')] }, clock);
  mesh.reportLoad('s', 'a', { queueLength: 0 });
  mesh.reportLoad('s', 'b', { queueLength: 0 });
  clock.now = 900;
  mesh.reportLoad('s', 'b', { queueLength: 1 });
  clock.now = 1500;
  assert.is(mesh.engineState('s', 'a').state, 'stale');
  assert.is(mesh.engineState('s', 'a').report, undefined);
  assert.equal(picks(mesh, {}), ['b']);
  mesh.apply({ services: [{ name: 's', policy: 'swrr', engines: { staleMs: 1000, stale: 'ignore' }, endpoints: [e('a'), e('b')] }] });
  assert.equal(picks(mesh, {}), ['a', 'b']);
  // Scraped: endpoints that never answered a scrape are stale once staleMs has passed since they joined.
  const scraped = meshWith({ metrics: { intervalMs: 100 }, engines: { staleMs: 1000 }, endpoints: [e('a'), e('b')] });
  assert.is(scraped.mesh.engineState('s', 'a').state, 'unknown');
  scraped.clock.now = 1001;
  scraped.mesh.reportLoad('s', 'b', { queueLength: 0, running: 2 });
  assert.is(scraped.mesh.engineState('s', 'a').state, 'stale');
  assert.equal(picks(scraped.mesh, {}), ['b']);
});

t('LoRA affinity: endpoints running the adapter, else those with room to load it, else any', () => {
  const models = ['llama-8b', 'llama-8b:sql', 'llama-8b:chat'];
  const { mesh } = meshWith({ engines: {}, endpoints: [e('a', { models }), e('b', { models }), e('c', { models })] });
  const lora = (running: string[], max = 2) => ({ queueLength: 0, adapters: { running, waiting: [], max } });
  mesh.reportLoad('s', 'a', lora(['chat', 'x']));
  mesh.reportLoad('s', 'b', lora(['sql', 'x']));
  mesh.reportLoad('s', 'c', lora([]));
  assert.equal(picks(mesh, { model: 'sql' }), ['b']);
  assert.equal(picks(mesh, { model: 'llama-8b:chat' }), ['a']);
  // Nobody runs "zzz" (not listed: a base-model request with adapter given explicitly): room wins.
  assert.equal(picks(mesh, { model: 'llama-8b', adapter: 'zzz' }), ['c']);
  // A base model request has no adapter: every endpoint.
  assert.equal(picks(mesh, { model: 'llama-8b' }), ['a', 'b', 'c']);
  // Saturation comes first: the endpoint running the adapter is skipped while saturated.
  mesh.reportLoad('s', 'b', { queueLength: 50, adapters: { running: ['sql'], waiting: [], max: 2 } });
  assert.equal(picks(mesh, { model: 'sql' }), ['c']);
});

t('p2c compares what the engines report running and waiting (other routers\' requests too) when fresh, its own in-flight count otherwise', () => {
  const clock = { now: 0 };
  const { mesh } = meshWith({ policy: 'p2c', engines: { maxQueue: 100, staleMs: 1000 }, endpoints: [e('a'), e('b')] }, clock);
  mesh.reportLoad('s', 'a', { queueLength: 2, running: 20 });
  mesh.reportLoad('s', 'b', { queueLength: 0, running: 3 });
  assert.equal(picks(mesh, {}), ['b']);
  const r = mesh.route({ service: 's' });
  assert.match(r.reason, /^power of two choices: b \(0\.0331\) over a \(0\.190\) load per capacity$/);
  mesh.report(r);
  // A new config (a third endpoint) builds a new balancer: it reads the same reports, so c (the
  // most loaded) never wins a draw, and a wins only against c.
  mesh.apply({ services: [{ name: 's', policy: 'p2c', engines: { maxQueue: 100, staleMs: 1000 }, endpoints: [e('a'), e('b'), e('c')] }] });
  mesh.reportLoad('s', 'c', { queueLength: 9, running: 30 });
  assert.equal(picks(mesh, {}), ['a', 'b']);
  const later = mesh.route({ service: 's' });
  assert.match(later.reason, /^power of two choices: (b \(0\.0331\) over [ac]|a \(0\.190\) over c \(0\.331\)) /);
  mesh.report(later);
  clock.now = 2000;
  assert.equal(picks(mesh, {}), ['a', 'b', 'c']);
});

t('reports pushed from code feed the scores but not the saturation filter unless the service sets engines (or scrapes)', () => {
  const { mesh } = meshWith({ endpoints: [e('a'), e('b')] });
  mesh.reportLoad('s', 'a', { queueLength: 50 });
  assert.equal(picks(mesh, {}), ['a', 'b']);
  assert.is(mesh.engineState('s', 'a').saturated, false);
  assert.is(mesh.engineState('s', 'a').report?.queueLength, 50);
});

t('reportLoad: engine fields alone are a report for any policy; bad adapters and empty reports are refused and change nothing', () => {
  const { mesh } = meshWith({ endpoints: [e('a')] });
  mesh.reportLoad('s', 'a', { running: 3 });
  assert.is(mesh.engineState('s', 'a').report?.running, 3);
  assert.throws(() => mesh.reportLoad('s', 'a', {}), (err: unknown) => code('INVALID_ARGUMENT')(err) && /engine field/.test((err as Error).message));
  assert.throws(() => mesh.reportLoad('s', 'a', { adapters: { running: ['x'], waiting: [1 as unknown as string], max: 1 } }), (err: unknown) => code('INVALID_ARGUMENT')(err) && /adapters/.test((err as Error).message));
  assert.throws(() => mesh.reportLoad('s', 'a', { adapters: { running: [], waiting: [], max: -1 } }), code('INVALID_ARGUMENT'));
  assert.is(mesh.engineState('s', 'a').report?.running, 3);
});

t('an endpoint removed and added again is a new incarnation: a route of the old one releases nothing of the new one\'s load', () => {
  for (const policy of ['ring-hash', 'p2c', 'swrr', 'prefix-cache', 'ttft', 'maglev']) {
    const mesh = new Mesh();
    mesh.apply({ services: [{ name: 's', policy, endpoints: [e('a')] }] });
    const old = mesh.route({ service: 's', key: 'k', cost: 5 });
    mesh.patch({ type: 'remove', service: 's', id: 'a' });
    mesh.patch({ type: 'add', service: 's', endpoint: e('a') });
    const now = mesh.route({ service: 's', key: 'k', cost: 3 });
    const load = () => mesh.endpoints('s').find((x) => x.id === 'a')!.load;
    assert.is(load(), 3, policy);
    mesh.report(old);
    assert.is(load(), 3, `${policy}: the old incarnation's report`);
    mesh.report(now);
    assert.is(load(), 0, policy);
    // Through apply() too: a config without the endpoint, then with it.
    const r = mesh.route({ service: 's', key: 'k', cost: 2 });
    mesh.apply({ services: [{ name: 's', policy, endpoints: [e('b')] }] });
    mesh.apply({ services: [{ name: 's', policy, endpoints: [e('a'), e('b')] }] });
    mesh.report(r);
    assert.is(load(), 0, `${policy} after apply`);
    assert.equal(mesh.inflight('s').requests, 0);
  }
});

t('ring-hash: routes made before membership changes release their own endpoint, wherever its slot went', () => {
  const mesh = new Mesh();
  const ids = ['a', 'b', 'c', 'd'];
  mesh.apply({ services: [{ name: 's', policy: 'ring-hash', endpoints: ids.map((id) => e(id)) }] });
  const held = Array.from({ length: 40 }, (_, i) => mesh.route({ service: 's', key: `k${i}`, cost: 2 }));
  // b leaves and comes back (a new incarnation, maybe in another slot), e joins in b's old slot
  // or a new one, c's weight changes (it takes its slot back).
  mesh.patch({ type: 'remove', service: 's', id: 'b' });
  mesh.patch({ type: 'add', service: 's', endpoint: e('e') });
  mesh.patch({ type: 'add', service: 's', endpoint: e('b') });
  mesh.patch({ type: 'add', service: 's', endpoint: { ...e('c'), resources: { accelerator: 'L4', count: 3 } } });
  const after = Array.from({ length: 40 }, (_, i) => mesh.route({ service: 's', key: `k${i}`, cost: 1 }));
  const expected = new Map<string, number>();
  for (const r of after) expected.set(r.endpoint.id, (expected.get(r.endpoint.id) ?? 0) + 1);
  for (const r of held) mesh.report(r);
  for (const x of mesh.endpoints('s')) assert.is(x.load, expected.get(x.id) ?? 0, x.id);
  for (const r of after) mesh.report(r);
  for (const x of mesh.endpoints('s')) assert.is(x.load, 0, x.id);
});

t('in-flight counts per endpoint follow the routes across joins, leaves and weight changes (tallies found by slot)', () => {
  for (const policy of ['ring-hash', 'p2c', 'swrr'] as const) {
    const mesh = new Mesh();
    mesh.apply({ services: [{ name: 's', policy, endpoints: ['a', 'b', 'c', 'd'].map((id) => e(id)) }] });
    const open: Route[] = [];
    const route = (n: number) => {
      for (let i = 0; i < n; i++) open.push(mesh.route({ service: 's', key: `k${open.length}` }));
    };
    const expectCounts = () => {
      const want: Record<string, number> = {};
      for (const r of open) want[r.endpoint.id] = (want[r.endpoint.id] ?? 0) + 1;
      const got = Object.fromEntries(Object.entries(mesh.inflight('s').endpoints).filter(([, n]) => n > 0));
      assert.equal(got, want, policy);
    };
    route(30);
    mesh.patch({ type: 'remove', service: 's', id: 'b' });
    route(20);
    mesh.patch({ type: 'add', service: 's', endpoint: e('e') });
    mesh.patch({ type: 'add', service: 's', endpoint: e('b') });
    route(20);
    mesh.patch({ type: 'add', service: 's', endpoint: { ...e('c'), resources: { accelerator: 'L4', count: 3 } } });
    route(20);
    // Routes to the b that left are forgotten with it: they count nowhere once it is gone.
    for (let i = open.length - 1; i >= 0; i--) if (open[i]!.endpoint.id === 'b' && i < 30) mesh.report(open.splice(i, 1)[0]!);
    expectCounts();
    mesh.apply({ services: [{ name: 's', policy, endpoints: ['a', 'b', 'c', 'd', 'e'].map((id) => e(id)) }] });
    route(20);
    expectCounts();
    while (open.length) mesh.report(open.pop()!);
    assert.equal(mesh.inflight('s').requests, 0, policy);
  }
});

t('a route reported to another mesh of the same config and version releases nothing there', () => {
  for (const policy of ['ring-hash', 'p2c', 'swrr', 'maglev']) {
    const [a, b] = [new Mesh(), new Mesh()];
    for (const mesh of [a, b]) mesh.apply({ services: [{ name: 's', policy, endpoints: [e('a')] }] });
    assert.is(a.version, b.version);
    const mine = b.route({ service: 's', key: 'k', cost: 3 });
    const theirs = a.route({ service: 's', key: 'k', cost: 5 });
    b.report(theirs);
    assert.is(b.endpoints('s')[0]!.load, 3, policy);
    assert.is(b.inflight('s').requests, 1, policy);
    b.report(mine);
    assert.is(b.endpoints('s')[0]!.load, 0, policy);
  }
});

t.run();
