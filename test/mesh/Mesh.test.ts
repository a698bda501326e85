import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, seededRandom, type MeshConfig } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';
import { ENGINES, keys } from '../support/engines.js';
import { routedTo } from '../support/mesh.js';

const fleet = (extra: MeshConfig['services'][number]['endpoints'] = []): MeshConfig => ({
  services: [
    {
      name: 'chat',
      policy: 'ring-hash',
      ring: { vnodes: 160, boundedLoad: 1.25 },
      endpoints: [
        { id: 'h100-1', address: '127.0.0.1:9001', resources: { accelerator: 'H100', count: 8 } },
        { id: 'a100-1', address: '127.0.0.1:9002', resources: { accelerator: 'A100', count: 8 } },
        { id: 'l4-1', address: '127.0.0.1:9003', resources: { accelerator: 'L4', count: 4 } },
        ...extra,
      ],
    },
    {
      name: 'embed',
      policy: 'swrr',
      endpoints: [
        { id: 'l4-2', address: '127.0.0.1:9101', resources: { accelerator: 'L4', count: 1 } },
        { id: 'cpu-1', address: '127.0.0.1:9102', resources: { accelerator: 'cpu', count: 2, throughput: 40.5 } },
      ],
    },
    {
      name: 'batch',
      policy: 'p2c',
      endpoints: [
        { id: 'b1', address: '127.0.0.1:9201', resources: { accelerator: 'L4', count: 1 } },
        { id: 'b2', address: '127.0.0.1:9202', resources: { accelerator: 'L4', count: 1 } },
        { id: 'b3', address: '127.0.0.1:9203', resources: { accelerator: 'H100', count: 1 } },
      ],
    },
  ],
});

for (const engine of ENGINES) {
  const t = suite(`Mesh (${engine})`);

  t('apply builds a versioned snapshot and says what changed', () => {
    const mesh = new Mesh({ engine });
    assert.is(mesh.version, 0);
    const r = mesh.apply(fleet());
    assert.is(r.version, 1);
    assert.equal(r.services.chat!.added, ['h100-1', 'a100-1', 'l4-1']);
    assert.equal(mesh.services(), ['chat', 'embed', 'batch']);
    assert.is(mesh.endpoints('chat')[0]!.capacity, 8 * 989, 'capacity = devices x catalog');
    assert.is(mesh.endpoints('embed')[1]!.capacity, 40.5, 'measured throughput overrides');
    assert.ok(Object.isFrozen(mesh.config));
  });

  t('ring-hash keeps a key on its endpoint and says why; report releases the cost', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(fleet());
    const a = mesh.route({ service: 'chat', key: 'session-42', cost: 3 });
    assert.is(a.reason, 'ring owner');
    assert.is(a.policy, 'ring-hash');
    assert.is(mesh.endpoints('chat').find((e) => e.id === a.endpoint.id)!.load, 3);
    mesh.report(a);
    assert.is(mesh.endpoints('chat').find((e) => e.id === a.endpoint.id)!.load, 0);
    const b = mesh.route({ service: 'chat', key: 'session-42' });
    assert.is(b.endpoint.id, a.endpoint.id);
    throwsCode(() => mesh.report(a), 'INVALID_ARGUMENT', /already reported/);
  });

  t('a bad config throws INVALID_CONFIG and the running snapshot keeps serving, untouched', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(fleet());
    const held = mesh.route({ service: 'chat', key: 'k1', cost: 2 });
    const before = keys(500).map((k) => mesh.route({ service: 'chat', key: k, cost: 0.001 }));
    before.forEach((r) => mesh.report(r));
    const bad = fleet([{ id: 'x', address: 'nope', resources: { accelerator: 'H100', count: 0 } }]);
    throwsCode(() => mesh.apply(bad), 'INVALID_CONFIG', /services\[0\]\.endpoints\[3\]\.address: expected "host:port"/);
    assert.is(mesh.version, 1);
    const after = keys(500).map((k) => mesh.route({ service: 'chat', key: k, cost: 0.001 }));
    assert.equal(after.map((r) => r.endpoint.id), before.map((r) => r.endpoint.id));
    const expected = 2 + after.filter((r) => r.endpoint.id === held.endpoint.id).length * 0.001;
    assert.ok(Math.abs(mesh.endpoints('chat').find((e) => e.id === held.endpoint.id)!.load - expected) < 1e-9, 'in-flight cost intact');
  });

  t('the predicted disruption of an apply is the measured movement (1e5 keys)', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(fleet());
    const ks = keys(100_000);
    const owner = () => routedTo(mesh, 'chat', ks);
    const before = owner();
    const result = mesh.apply(fleet([{ id: 'h100-2', address: '127.0.0.1:9004', resources: { accelerator: 'H100', count: 8 } }]));
    const after = owner();
    const measured = before.filter((id, i) => id !== after[i]).length / ks.length;
    const predicted = result.services.chat!.movedShare!;
    assert.equal(result.services.chat!.added, ['h100-2']);
    // Binomial sampling error of 1e5 keys: 3 sigma is under 0.5%.
    assert.ok(Math.abs(measured - predicted) < 0.005, `measured ${measured} vs predicted ${predicted}`);
    assert.ok(predicted > 0.2, 'a second H100 box takes a large share');
    assert.ok(after.every((id, i) => id === before[i] || id === 'h100-2'), 'keys move only to the new endpoint');
  });

  t('in-flight cost carries over an apply; removed endpoints drop theirs', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(fleet());
    const r = mesh.route({ service: 'embed', cost: 5 });
    mesh.apply(fleet());
    assert.is(mesh.endpoints('embed').find((e) => e.id === r.endpoint.id)!.load, 5);
    mesh.report(r);
    assert.is(mesh.endpoints('embed').find((e) => e.id === r.endpoint.id)!.load, 0);
  });

  t('requirements filter endpoints; none matching is NO_ENDPOINT', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(fleet());
    for (const k of keys(300)) {
      const r = mesh.route({ service: 'chat', key: k, requires: { accelerator: ['L4', 'A100'] } });
      assert.ok(r.endpoint.id !== 'h100-1');
      mesh.report(r);
    }
    assert.is(mesh.route({ service: 'chat', key: 'k', requires: { minMemoryGiB: 60 } }).endpoint.memoryGiB >= 60, true);
    throwsCode(() => mesh.route({ service: 'chat', key: 'k', requires: { minMemoryGiB: 200 } }), 'NO_ENDPOINT', /no endpoint meeting \{"minMemoryGiB":200\}/);
  });

  t('admission control: when every eligible endpoint is at its limit the request is refused with OVERLOADED', () => {
    for (const service of ['chat', 'embed', 'batch']) {
      const mesh = new Mesh({ engine });
      const config = fleet();
      for (const s of config.services) s.endpoints = s.endpoints!.map((e) => ({ ...e, maxInflight: 4 }));
      mesh.apply(config);
      const n = mesh.endpoints(service).length;
      const held = Array.from({ length: 2 * n }, (_, i) => mesh.route({ service, key: `k${i}`, cost: 2 }));
      assert.ok(mesh.endpoints(service).every((e) => e.load === 4), 'filled to the limit, not past it');
      throwsCode(() => mesh.route({ service, key: 'k', cost: 1 }), 'OVERLOADED', /every eligible endpoint is at its in-flight limit for cost 1/);
      assert.ok(mesh.endpoints(service).every((e) => e.load === 4), 'a refusal counts nothing');
      mesh.report(held[0]!);
      assert.is(mesh.route({ service, key: 'k', cost: 2 }).endpoint.id, held[0]!.endpoint.id, 'room again where cost was released');
    }
  });

  t('in-flight limits hold to the exact sum whatever the rounding: 0.6 in flight and 1.7 allowed leave no room for 1.1 (0.6 + 1.1 > 1.7 in doubles)', () => {
    for (const policy of ['swrr', 'p2c'] as const) {
      const mesh = new Mesh({ engine });
      mesh.apply({ services: [{ name: 's', policy, endpoints: ['a', 'b'].map((id, i) => ({ id, address: `127.0.0.1:${9001 + i}`, maxInflight: 1.7, resources: { accelerator: 'L4', count: 1 } })) }] });
      const held = [mesh.route({ service: 's', cost: 0.6 }), mesh.route({ service: 's', cost: 0.6 })];
      assert.equal(held.map((r) => r.endpoint.id).sort(), ['a', 'b'], policy);
      throwsCode(() => mesh.route({ service: 's', cost: 1.1 }), 'OVERLOADED', /at its in-flight limit for cost 1.1/);
      mesh.report(held[0]!);
      assert.is(mesh.route({ service: 's', cost: 1.1 }).endpoint.id, held[0]!.endpoint.id, `${policy}: room again where cost was released`);
    }
  });

  t('swrr spreads by capacity; apply reports each endpoint\'s share change', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(fleet());
    const counts = new Map<string, number>();
    for (let i = 0; i < 1615; i++) {
      const r = mesh.route({ service: 'embed' });
      counts.set(r.endpoint.id, (counts.get(r.endpoint.id) ?? 0) + 1);
      mesh.report(r);
    }
    // Capacities 121 and 40.5: W = 161.5 units, resolved at 1/2: 1,615 picks hold 10 cycles.
    assert.equal(Object.fromEntries(counts), { 'l4-2': 1210, 'cpu-1': 405 });
    const next = fleet();
    next.services[1]!.endpoints![1]!.resources.throughput = 121;
    const change = mesh.apply(next).services.embed!;
    assert.ok(Math.abs(change.shareChange!['cpu-1']! - (0.5 - 40.5 / 161.5)) < 1e-12);
    assert.equal(change.updated, ['cpu-1']);
  });

  t('p2c is reproducible with a seed and takes the less loaded per capacity of its two choices', () => {
    const run = () => {
      const mesh = new Mesh({ engine, random: seededRandom(7) });
      mesh.apply(fleet());
      return Array.from({ length: 200 }, () => mesh.route({ service: 'batch' }).endpoint.id);
    };
    const a = run();
    assert.equal(a, run());
    const mesh = new Mesh({ engine, random: seededRandom(7) });
    mesh.apply(fleet());
    for (let i = 0; i < 3000; i++) mesh.route({ service: 'batch' });
    const load = Object.fromEntries(mesh.endpoints('batch').map((e) => [e.id, e.load]));
    // Held without release: the H100 (8x the capacity of an L4) wins every pair it is drawn in,
    // about 2 of 3 picks; the two L4s, equal, stay within a few requests of each other.
    assert.ok(load.b3! > 1900 && load.b3! < 2100, JSON.stringify(load));
    assert.ok(Math.abs(load.b1! - load.b2!) <= 2, JSON.stringify(load));
  });

  t('bad requests are refused with a stable code', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(fleet());
    throwsCode(() => mesh.route({ service: 'nope' }), 'NO_ENDPOINT', /no service "nope"; services: chat, embed, batch/);
    throwsCode(() => mesh.route({ service: 'chat' }), 'INVALID_KEY', /routes by key/);
    throwsCode(() => mesh.route({ service: 'embed', cost: -1 }), 'INVALID_ARGUMENT', /cost must be a finite number > 0, got -1/);
    for (const bad of [NaN, Infinity, '1'] as const) throwsCode(() => mesh.route({ service: 'embed', cost: bad as number }), 'INVALID_ARGUMENT', /route cost must be a finite number > 0, got/);
    assert.is(mesh.endpoints('embed').reduce((sum, e) => sum + e.load, 0), 0, 'a refused route counts nothing');
    throwsCode(() => new Mesh({ engine: 'x' as never }), 'INVALID_OPTION', /options\.engine must be one of/);
  });

  t.run();
}

const extra = suite('Mesh acquire, release and outcomes');
extra('cost routed elsewhere is counted and released; outcomes are counted per endpoint', () => {
  const mesh = new Mesh();
  mesh.apply(fleet());
  mesh.acquire('embed', 'l4-2', 3);
  assert.is(mesh.endpoints('embed')[0]!.load, 3);
  mesh.release('embed', 'l4-2', 3);
  assert.is(mesh.endpoints('embed')[0]!.load, 0);
  const r1 = mesh.route({ service: 'embed' });
  const r2 = mesh.route({ service: 'embed' });
  mesh.report(r1, { status: 200, latencyMs: 12 });
  mesh.report(r2, { status: 503, latencyMs: 30 });
  const total = mesh.endpoints('embed').reduce((s, e) => ({ requests: s.requests + e.stats.requests, failures: s.failures + e.stats.failures, latency: s.latency + e.stats.latencyMsSum }), { requests: 0, failures: 0, latency: 0 });
  assert.equal(total, { requests: 2, failures: 1, latency: 42 });
  throwsCode(() => mesh.acquire('embed', 'zz'), 'UNKNOWN_NODE', /service "embed" has no endpoint "zz"/);
  throwsCode(() => mesh.acquire('embed', 'l4-2', 0), 'INVALID_ARGUMENT', /cost must be a finite number > 0, got 0/);
});
extra('a route\'s accounting is its own: changing its public fields releases nothing wrong; a route reports once; its JSON has its reason', () => {
  const mesh = new Mesh();
  mesh.apply(fleet());
  const held = Array.from({ length: 30 }, (_, i) => mesh.route({ service: i % 3 === 0 ? 'chat' : i % 3 === 1 ? 'embed' : 'batch', key: `s${i}`, cost: 2 }));
  for (const r of held) {
    // A caller (or a bug) rewriting what it was handed.
    Object.assign(r, { cost: 1000, service: 'embed', attempt: 5 });
    (r as { endpoint: unknown }).endpoint = { id: 'cpu-1' };
  }
  for (const s of ['chat', 'embed', 'batch']) assert.ok(mesh.inflight(s).requests > 0);
  for (const r of held) mesh.report(r, { status: 200 });
  for (const s of ['chat', 'embed', 'batch']) {
    const inflight = mesh.inflight(s);
    assert.ok(inflight.requests === 0 && inflight.retries === 0 && Object.values(inflight.endpoints).every((n) => n === 0), `${s}: ${JSON.stringify(inflight)}`);
    for (const e of mesh.endpoints(s)) assert.is(e.load, 0, `${s} ${e.id}`);
  }
  for (const r of held) throwsCode(() => mesh.report(r), 'INVALID_ARGUMENT', /already reported/);
  throwsCode(() => mesh.report(undefined as never), 'INVALID_ARGUMENT', /report needs the Route that route\(\) returned, got undefined/);
  throwsCode(() => mesh.report({ service: 'chat' } as never), 'INVALID_ARGUMENT', /got an object/);
  const p2c = mesh.route({ service: 'batch' });
  const json = JSON.parse(JSON.stringify(p2c));
  assert.match(json.reason, /^power of two choices: b\d \([\d.]+\) over b\d \([\d.]+\) load per capacity$/);
  assert.is(json.reason, p2c.reason);
  assert.equal(Object.keys(json).sort(), ['attempt', 'cost', 'endpoint', 'policy', 'reason', 'service', 'version']);
  mesh.report(p2c);
});
extra.run();

const more = suite('Mesh bad input, each with its code');
more('options, owner and patch refuse what they cannot do, changing nothing', () => {
  throwsCode(() => new Mesh({ random: 3 } as never), 'INVALID_OPTION', /options\.random must be a function returning numbers in \[0, 1\), got 3/);
  throwsCode(() => new Mesh({ clock: 'now' } as never), 'INVALID_OPTION', /options\.clock must be a function returning milliseconds, got "now"/);
  const mesh = new Mesh();
  mesh.apply(fleet());
  throwsCode(() => mesh.owner('embed', 'k'), 'INVALID_ARGUMENT', /service "embed" is swrr, not ring-hash/);
  assert.is(mesh.owner('chat', 'session-42'), mesh.route({ service: 'chat', key: 'session-42' }).endpoint.id);
  const v = mesh.version;
  assert.equal(mesh.patch({ type: 'remove', service: 'chat', id: 'nope' }).services.chat!.removed, []);
  assert.is(mesh.version, v, 'removing an unknown endpoint changes nothing');
  throwsCode(() => mesh.patch({ type: 'add', service: 'chat', endpoint: { id: '', address: 'x', resources: { accelerator: 'L4', count: 1 } } }), 'INVALID_CONFIG', /id: expected a non-empty string/);
  assert.is(mesh.version, v);
  assert.equal(mesh.weights('chat'), {}, 'weights are an swrr notion');
});
more.run();
