import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HashRing, Maglev, Mesh, movedShare, type Route } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';

const t = suite('Mesh policy maglev');

const ep = (id: string, accelerator: string, count = 1) => ({ id, address: `${id}:8000`, resources: { accelerator, count } });
const endpoints = [ep('10.0.0.1', 'H100'), ep('10.0.0.2', 'A100'), ep('10.0.0.3', 'A100'), ep('10.0.0.4', 'L4', 4)];

t('keys go where Envoy\'s Maglev puts them (weights: capacities), whatever the order endpoints are listed in', () => {
  const a = new Mesh(), b = new Mesh();
  a.apply({ services: [{ name: 's', policy: 'maglev', endpoints }] });
  b.apply({ services: [{ name: 's', policy: 'maglev', endpoints: [...endpoints].reverse() }] });
  const reference = new Maglev().addMany([['10.0.0.1', { weight: 989 }], ['10.0.0.2', { weight: 312 }], ['10.0.0.3', { weight: 312 }], ['10.0.0.4', { weight: 484 }]]);
  for (let i = 0; i < 500; i++) {
    const key = `session-${i}`;
    const ra = a.route({ service: 's', key }), rb = b.route({ service: 's', key });
    assert.is(ra.endpoint.id, reference.get(key));
    assert.is(rb.endpoint.id, ra.endpoint.id);
    assert.is(ra.reason, 'maglev owner');
    a.report(ra, { status: 200 });
    b.report(rb, { status: 200 });
  }
});

t('bounded loads: an owner at its bound passes keys to the next entries of the table; without bounds (0) keys never move', () => {
  const mesh = new Mesh();
  mesh.apply({ services: [{ name: 's', policy: 'maglev', maglev: { boundedLoad: 1.25 }, endpoints }] });
  const held: Route[] = [];
  for (let i = 0; i < 40; i++) held.push(mesh.route({ service: 's', key: 'hot' }));
  const moved = held.filter((r) => r.reason.startsWith('bounded load'));
  assert.ok(moved.length > 0 && moved.length < 40, `${moved.length} moved`);
  for (const r of held) mesh.report(r, { status: 200 });
  const exact = new Mesh();
  exact.apply({ services: [{ name: 's', policy: 'maglev', maglev: { boundedLoad: 0 }, endpoints }] });
  const owners = new Set(Array.from({ length: 40 }, () => exact.route({ service: 's', key: 'hot' }).endpoint.id));
  assert.is(owners.size, 1);
});

t('bounded loads after discovery: the bounds follow the new total capacity, as for a mesh given the same endpoints at once', () => {
  const patched = new Mesh(), applied = new Mesh();
  const config = (list: typeof endpoints) => ({ services: [{ name: 's', policy: 'maglev' as const, maglev: { boundedLoad: 1.25 }, endpoints: list }] });
  patched.apply(config(endpoints.slice(0, 3)));
  patched.patch({ type: 'add', service: 's', endpoint: endpoints[3]! });
  patched.patch({ type: 'update', service: 's', endpoint: ep('10.0.0.2', 'H100', 2) });
  applied.apply(config([endpoints[0]!, ep('10.0.0.2', 'H100', 2), endpoints[2]!, endpoints[3]!]));
  // Routes held (none reported): hot keys pile up until owners reach their bounds and pass keys on.
  const moved: string[] = [];
  for (let i = 0; i < 120; i++) {
    const key = `hot-${i % 3}`;
    const a = patched.route({ service: 's', key }), b = applied.route({ service: 's', key });
    assert.is(a.endpoint.id, b.endpoint.id, `route ${i}`);
    if (a.reason.startsWith('bounded load')) moved.push(a.endpoint.id);
  }
  assert.ok(moved.length > 10, `${moved.length} moved`);
});

t('apply and discovery report the exact share of table entries that change; retries skip the endpoint that failed', () => {
  const mesh = new Mesh();
  mesh.apply({ services: [{ name: 's', policy: 'maglev', endpoints }] });
  const table = new Maglev().addMany([['10.0.0.1', { weight: 989 }], ['10.0.0.2', { weight: 312 }], ['10.0.0.3', { weight: 312 }], ['10.0.0.4', { weight: 484 }]]);
  const share = table.shares().get('10.0.0.3')!;
  const applied = mesh.apply({ services: [{ name: 's', policy: 'maglev', endpoints: endpoints.filter((e) => e.id !== '10.0.0.3') }] });
  const moved = applied.services.s!.movedShare!;
  assert.ok(moved >= share && moved < share * 1.3, `moved ${moved}, its share ${share}`);
  const patched = mesh.patch({ type: 'add', service: 's', endpoint: endpoints[2]! });
  assert.ok(Math.abs(patched.services.s!.movedShare! - moved) < 0.05);
  const first = mesh.route({ service: 's', key: 'k' });
  const retry = mesh.retry(first, { status: 503 })!;
  assert.is.not(retry.route.endpoint.id, first.endpoint.id);
});

t('ring-hash with hash: envoy: Envoy\'s ring of the endpoints in id order, whatever order they are listed or discovered in; moves reported', () => {
  const a = new Mesh(), b = new Mesh();
  const config = (list: typeof endpoints) => ({ services: [{ name: 's', policy: 'ring-hash' as const, ring: { hash: 'envoy' as const, minRingSize: 1024, boundedLoad: 1.25, unit: 1 }, endpoints: list }] });
  a.apply(config(endpoints));
  b.apply(config([...endpoints].reverse().slice(1)));
  const added = b.patch({ type: 'add', service: 's', endpoint: endpoints[endpoints.length - 1]! });
  const reference = new HashRing({ hash: 'envoy' }).addMany([['10.0.0.1', { weight: 989 }], ['10.0.0.2', { weight: 312 }], ['10.0.0.3', { weight: 312 }], ['10.0.0.4', { weight: 484 }]]);
  // The reported share is the one between the two rings built from scratch, on either engine
  // (the 'envoy' ring is rebuilt on a patch: the share must be read from the new ring, not the freed one).
  const without = new HashRing({ hash: 'envoy' }).addMany([['10.0.0.1', { weight: 989 }], ['10.0.0.2', { weight: 312 }], ['10.0.0.3', { weight: 312 }]]);
  const expected = movedShare(without, reference);
  assert.ok(expected > 0.05 && expected < 0.5, String(expected));
  assert.ok(Math.abs(added.services.s!.movedShare! - expected) < 1e-12, `${added.services.s!.movedShare} against ${expected}`);
  const twin = new Mesh({ engine: 'ts' });
  twin.apply(config([...endpoints].reverse().slice(1)));
  assert.is(twin.patch({ type: 'add', service: 's', endpoint: endpoints[endpoints.length - 1]! }).services.s!.movedShare, added.services.s!.movedShare);
  assert.equal(b.ring('s').pointList(), reference.pointList());
  for (let i = 0; i < 200; i++) {
    const key = `user-${i}`;
    const ra = a.route({ service: 's', key }), rb = b.route({ service: 's', key });
    assert.is(ra.endpoint.id, reference.get(key));
    assert.is(rb.endpoint.id, ra.endpoint.id);
    a.report(ra, { status: 200 });
    b.report(rb, { status: 200 });
  }
});

t('bad config: INVALID_CONFIG naming the field and what is allowed; no key: INVALID_KEY', () => {
  const mesh = new Mesh();
  throwsCode(() => mesh.apply({ services: [{ name: 's', policy: 'maglev', maglev: { tableSize: 65536 }, endpoints }] }), 'INVALID_CONFIG', /services\[0\].maglev.tableSize: expected a prime from 7 to 16777213/);
  throwsCode(() => mesh.apply({ services: [{ name: 's', policy: 'maglev', maglev: { boundedLoad: 0.5 }, endpoints }] }), 'INVALID_CONFIG', /maglev.boundedLoad: expected 0 \(none\) or a number >= 1/);
  mesh.apply({ services: [{ name: 's', policy: 'maglev', endpoints }] });
  throwsCode(() => mesh.route({ service: 's' }), 'INVALID_KEY', /maglev service routes by key/);
});

t.run();
