import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, type MeshConfig } from '../../src/index.js';

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
  assert.is(value('wasmesh_route_duration_seconds_count'), 35);
  assert.is(value('wasmesh_panic'), 0);
  assert.ok(value('wasmesh_ring_points', { endpoint: 'h100' }) > value('wasmesh_ring_points', { endpoint: 'l4' }));
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

test.run();
