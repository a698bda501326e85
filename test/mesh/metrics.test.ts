import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, type MeshConfig } from '../../src/index.js';
import { kRouteTimedEvery } from '../../src/mesh/tally.js';

const config: MeshConfig = {
  services: [
    {
      name: 'chat',
      policy: 'ring-hash',
      ring: { vnodes: 40 },
      circuit: { maxRequests: 20 },
      endpoints: [
        { id: 'h100', address: '127.0.0.1:9001', resources: { accelerator: 'H100', count: 1 } },
        { id: 'l4', address: '127.0.0.1:9002', resources: { accelerator: 'L4', count: 1 } },
      ],
    },
  ],
};

/** Prometheus text format: `name{a="x",b="y"} value` lines, comments skipped. */
function parse(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
      assert.ok(m, `a sample line: ${line}`);
      const labels = Object.fromEntries([...(m![2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
      return { name: m![1]!, labels, value: Number(m![3]) };
    });
}

test('the exposition text parses and its counts match the routed traffic', async () => {
  let now = 0;
  const mesh = new Mesh({ clock: () => now });
  mesh.apply(config);
  const routes = Array.from({ length: 20 }, (_, i) => mesh.route({ service: 'chat', key: `k${i}`, cost: 2 }));
  const byEndpoint = new Map<string, number>();
  for (const r of routes) byEndpoint.set(r.endpoint.id, (byEndpoint.get(r.endpoint.id) ?? 0) + 1);
  routes.slice(0, 15).forEach((r, i) => mesh.report(r, { status: i < 5 ? 503 : 200 }));
  for (let i = 0; i < 15; i++) mesh.route({ service: 'chat', key: `x${i}` });
  try {
    mesh.route({ service: 'chat', key: 'over' });
  } catch {
    // the 21st request in flight: circuit open
  }
  const samples = parse(await mesh.metrics());
  const value = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

  assert.is(value('wasmesh_requests_routed_total'), 35);
  for (const [id, n] of byEndpoint) assert.ok(value('wasmesh_requests_routed_total', { endpoint: id, policy: 'ring-hash' }) >= n);
  assert.is(value('wasmesh_outcomes_total', { result: 'failure' }), 5);
  assert.is(value('wasmesh_outcomes_total', { result: 'success' }), 10);
  assert.is(value('wasmesh_rejections_total', { reason: 'circuit_open' }), 1);
  assert.is(value('wasmesh_inflight_cost'), 5 * 2 + 15 * 1);
  assert.is(value('wasmesh_inflight_cost_by_accelerator'), 25);
  assert.ok(value('wasmesh_utilization_by_accelerator', { accelerator: 'H100' }) >= 0 && value('wasmesh_utilization_by_accelerator') > 0);
  assert.ok(Math.abs(value('wasmesh_capacity_share', { endpoint: 'h100' }) - 989 / (989 + 121)) < 1e-9);
  assert.ok(Math.abs(value('wasmesh_routed_share') - 1) < 1e-9);
  // One route in kRouteTimedEvery is timed: the first of these.
  assert.is(value('wasmesh_route_duration_seconds_count'), 1);
  assert.is(value('wasmesh_panic'), 0);
  assert.ok(value('wasmesh_ring_points', { endpoint: 'h100' }) > value('wasmesh_ring_points', { endpoint: 'l4' }));
});

test('one route in kRouteTimedEvery is timed, and its duration lands in a bucket', async () => {
  const mesh = new Mesh();
  mesh.apply(config);
  const count = async () => parse(await mesh.metrics()).filter((s) => s.name === 'wasmesh_route_duration_seconds_count').reduce((n, s) => n + s.value, 0);
  for (let i = 0; i < 2 * kRouteTimedEvery; i++) mesh.report(mesh.route({ service: 'chat', key: `k${i}` }));
  assert.is(await count(), 2);
  mesh.report(mesh.route({ service: 'chat', key: 'timed' }));
  assert.is(await count(), 3);
  const buckets = parse(await mesh.metrics()).filter((s) => s.name === 'wasmesh_route_duration_seconds_bucket');
  assert.is(buckets.find((s) => s.labels.le === '+Inf')?.value, 3);
  assert.ok(Number(parse(await mesh.metrics()).find((s) => s.name === 'wasmesh_route_duration_seconds_sum')?.value) > 0);
});

test('ejections are counted, and each mesh has its own registry', async () => {
  const a = new Mesh();
  const b = new Mesh();
  a.apply(config);
  b.apply(config);
  const key = Array.from({ length: 500 }, (_, i) => `k${i}`).find((k) => a.owner('chat', k) === 'l4')!;
  for (let i = 0; i < 5; i++) a.report(a.route({ service: 'chat', key }), { status: 500 });
  assert.match(await a.metrics(), 'wasmesh_ejections_total{service="chat",endpoint="l4",cause="consecutive"} 1');
  assert.not.match(await b.metrics(), 'wasmesh_ejections_total{');
});


test('a removed endpoint keeps its series while its requests finish, then they are dropped', async () => {
  const mesh = new Mesh();
  const service = { ...config.services[0]!, circuit: undefined };
  mesh.apply({ services: [service] });
  const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
  const routes = keys.map((key) => mesh.route({ service: 'chat', key }));
  const onL4 = routes.filter((r) => r.endpoint.id === 'l4');
  assert.ok(onL4.length > 0 && onL4.length < routes.length, 'both endpoints took requests');
  for (const r of routes) if (r.endpoint.id === 'h100') mesh.report(r, { status: 200 });
  mesh.report(onL4[0]!, { status: 200 });
  const series = async (id: string) => parse(await mesh.metrics()).filter((s) => s.labels.endpoint === id && s.name.startsWith('wasmesh_') && s.name.endsWith('_total'));
  assert.ok((await series('l4')).length > 0);
  // l4 leaves with requests in flight: its series stay until the last one is reported.
  mesh.apply({ services: [{ ...service, endpoints: [service.endpoints![0]!] }] });
  for (const r of onL4.slice(1, -1)) mesh.report(r, { status: 200 });
  assert.is((await series('l4')).find((s) => s.name === 'wasmesh_outcomes_total')!.value, onL4.length - 1);
  mesh.report(onL4.at(-1)!, { status: 200 });
  assert.equal(await series('l4'), []);
  assert.is((await series('h100')).find((s) => s.name === 'wasmesh_requests_routed_total')!.value, routes.length - onL4.length);
  // A discovery removal with nothing in flight drops them at once.
  mesh.patch({ type: 'add', service: 'chat', endpoint: { id: 'a100', address: '127.0.0.1:9003', resources: { accelerator: 'A100', count: 1 } } });
  const all = keys.map((key) => mesh.route({ service: 'chat', key }));
  all.forEach((r) => mesh.report(r, { status: 200 }));
  assert.ok((await series('a100')).length > 0);
  mesh.patch({ type: 'remove', service: 'chat', id: 'a100' });
  assert.equal(await series('a100'), []);
});


test("the cached-share histogram reads as prom-client's Histogram would, given the same observations", async () => {
  // The mesh counts it into plain buckets (no label set per decision); prom-client's own
  // Histogram, fed the same shares, is the reference for the exposition text.
  const { default: client } = await import('prom-client');
  const endpoints = Array.from({ length: 4 }, (_, i) => ({ id: `gpu-${i}`, address: `127.0.0.1:${9100 + i}`, resources: { accelerator: 'L4', count: 1 } }));
  const mesh = new Mesh({ clock: () => 0, random: () => 0.5 });
  mesh.apply({ services: [{ name: 'llm', policy: 'prefix-cache', endpoints }] });
  const registry = new client.Registry();
  const reference = new client.Histogram({
    name: 'wasmesh_prefix_cached_share',
    help: 'reference',
    labelNames: ['service', 'kind'],
    buckets: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1],
    registers: [registry],
  });
  for (let i = 0; i < 120; i++) {
    const route = mesh.route({ service: 'llm', prompt: `${`system prompt ${i % 4}. `.repeat(40)}question ${i}` });
    reference.observe({ service: 'llm', kind: 'predicted' }, route.cachedShare!);
    const outcome = { status: 200, cachedTokens: (i * 37) % 101, promptTokens: 100 };
    mesh.report(route, outcome);
    reference.observe({ service: 'llm', kind: 'delivered' }, Math.min(1, outcome.cachedTokens / outcome.promptTokens));
  }
  const samples = (text: string) => text.split('\n').filter((l) => l.startsWith('wasmesh_prefix_cached_share'));
  const ours = samples(await mesh.metrics());
  assert.ok(ours.length > 20, `both kinds' buckets, sums and counts: ${ours.length} lines`);
  assert.equal(ours, samples(await registry.metrics()));
});

test.run();
