import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { Mesh, type DiscoveryEvent } from '../../src/index.js';
import { EtcdDiscovery, endpointKey, etcdClient, registerEndpoint, watchEtcdConfig, type EtcdState } from '../../src/mesh/etcd.js';
import { rejectsCode, throwsCode } from '../support/assert.js';
import { ETCD, etcdAvailable, startEtcd, type EtcdServer } from '../support/etcd.js';

const t = suite('etcd discovery and config (real etcd)');

/** Polls until `check` holds, at most `ms`. */
async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const endpoint = (id: string, port: number, accelerator = 'H100') => ({ id, address: `127.0.0.1:${port}`, zone: 'z1', resources: { accelerator, count: 1 } });
const config = (extra: Record<string, unknown> = {}) => ({ services: [{ name: 'llm', policy: 'ring-hash', endpoints: [], ...extra }] });
const keys = Array.from({ length: 10_000 }, (_, i) => `session-${i}`);

t('bad options: WasmeshError naming what is allowed (no etcd needed)', async () => {
  throwsCode(() => new EtcdDiscovery({ prefix: '/x' }), 'INVALID_OPTION', /EtcdDiscovery needs options\.client or options\.hosts/);
  const client = etcdClient('127.0.0.1:1');
  try {
    await rejectsCode(registerEndpoint({ client, service: 'llm', endpoint: endpoint('gpu-1', 9001), ttlSeconds: 1 }), 'INVALID_OPTION', /ttlSeconds must be an integer >= 2 \(etcd's minimum lease\), got 1/);
    await rejectsCode(registerEndpoint({ client, service: 'llm', endpoint: { id: 'gpu-1', address: 'nowhere', resources: { accelerator: 'L4', count: 1 } } }), 'INVALID_CONFIG', /address/);
  } finally {
    client.close();
  }
});

if (!etcdAvailable()) {
  if (process.env.CI) t('etcd is installed (CI never skips the etcd tests)', () => assert.unreachable(`${ETCD} is missing; .ci/run installs etcd-server`));
} else {
  let etcd: EtcdServer;
  let client: Etcd3;
  let prefixes = 0;
  // Each test works under its own prefix, so they do not see each other's keys.
  const prefix = () => `/wasmesh-test-${++prefixes}`;
  const open: { close(): Promise<void> | void }[] = [];
  const track = <T extends { close(): Promise<void> | void }>(x: T) => (open.push(x), x);

  t.before(async () => {
    etcd = await startEtcd();
    client = etcdClient(etcd.endpoint);
  });
  // A watchdog per test. Its timer also keeps the process alive: etcd3's gRPC channels hold no
  // event-loop handle of their own while they wait or reconnect, and with nothing else pending
  // the process would end in the middle of a test (seen in the full suite, timing-dependent).
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  t.before.each(() => {
    watchdog = setTimeout(() => {
      console.error('an etcd test ran over 60 s: stopping');
      process.exit(1);
    }, 60_000);
  });
  t.after.each(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
    clearTimeout(watchdog);
  });
  t.after(async () => {
    client.close();
    await etcd.destroy();
  });

  t('register, update, and a crashed registrant expiring after its lease TTL', async () => {
    const p = prefix();
    const events: DiscoveryEvent[] = [];
    const source = track(new EtcdDiscovery({ client, prefix: p }));
    source.watch((e) => events.push(e));
    await source.ready();
    const reg = track(await registerEndpoint({ client, service: 'llm', endpoint: endpoint('gpu-1', 9001), prefix: p, ttlSeconds: 2 }));
    assert.is(reg.key, endpointKey('llm', 'gpu-1', p));
    await until('add', () => events.length === 1);
    assert.equal(events[0], { type: 'add', service: 'llm', endpoint: { ...endpoint('gpu-1', 9001), zone: 'z1' }, revision: source.revision });

    // The same id registered again with a new address is an update.
    const again = track(await registerEndpoint({ client, service: 'llm', endpoint: endpoint('gpu-1', 9002), prefix: p, ttlSeconds: 2 }));
    await until('update', () => events.length === 2);
    assert.is(events[1]!.type, 'update');
    assert.is((events[1] as { endpoint: { address: string } }).endpoint.address, '127.0.0.1:9002');

    // A registrant that dies (wasmesh register, killed) stops its keep-alives: its key goes when
    // the lease runs out.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'register', '--etcd', etcd.endpoint, '--prefix', p, '--service', 'llm', '--id', 'gpu-9', '--address', '127.0.0.1:9009', '--accelerator', 'L4', '--ttl', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let said = '';
    child.stdout.on('data', (d) => (said += d));
    await until('add gpu-9', () => events.some((e) => e.type === 'add' && e.endpoint.id === 'gpu-9'), 20_000);
    await until('the registrant says so', () => said.includes(`registered ${endpointKey('llm', 'gpu-9', p)} (lease ttl 2 s)`));
    const died = Date.now();
    child.kill('SIGKILL');
    await until('gpu-9 expires', () => events.some((e) => e.type === 'remove' && e.id === 'gpu-9'), 8000);
    const took = Date.now() - died;
    assert.ok(took >= 500, `removed ${took} ms after its registrant died: the lease should still have been alive`);

    // A clean shutdown deletes the key at once.
    await again.close();
    await until('remove on close', () => events.filter((e) => e.type === 'remove').length === 2);
    assert.equal(events.at(-1), { type: 'remove', service: 'llm', id: 'gpu-1', revision: source.revision });
    await reg.close();
  });

  t('a mesh follows etcd: endpoints patched in, the revision recorded, kept across a config change', async () => {
    const p = prefix();
    const mesh = new Mesh();
    mesh.apply(config());
    const source = track(new EtcdDiscovery({ client, prefix: p }));
    for (let i = 0; i < 5; i++) await client.put(endpointKey('llm', `gpu-${i}`, p)).value(JSON.stringify(endpoint(`gpu-${i}`, 9000 + i)));
    const errors: unknown[] = [];
    mesh.attach(source, (e) => errors.push(e));
    await source.ready();
    await until('5 endpoints', () => mesh.endpoints('llm').length === 5);
    assert.is(mesh.revision, source.revision);
    // A bad value is reported and skipped.
    const invalid: string[] = [];
    const strict = track(new EtcdDiscovery({ client, prefix: p, onInvalid: (key) => invalid.push(key) }));
    await client.put(endpointKey('llm', 'broken', p)).value('{"address": 42}');
    await strict.ready();
    assert.equal(invalid, [endpointKey('llm', 'broken', p)]);
    await until('revision moves on', () => source.revision === strict.revision);
    assert.is(mesh.endpoints('llm').length, 5);
    // A new config keeps the discovered endpoints.
    mesh.apply(config({ ring: { vnodes: 100 } }));
    assert.equal(mesh.endpoints('llm').map((e) => e.id).sort(), ['gpu-0', 'gpu-1', 'gpu-2', 'gpu-3', 'gpu-4']);
    await client.delete().key(endpointKey('llm', 'gpu-3', p));
    await until('gpu-3 removed', () => mesh.endpoints('llm').length === 4);
    assert.is(mesh.revision, source.revision);
    assert.equal(errors, []);
  });

  t('config in etcd: applied atomically on change; an invalid one is reported and the old keeps serving', async () => {
    const p = prefix();
    const mesh = new Mesh();
    const invalid: string[] = [];
    await client.put(`${p}/config`).value('services:\n  - name: llm\n    policy: swrr\n    endpoints: []\n');
    const stop = await watchEtcdConfig({ client, prefix: p, onConfig: (c) => mesh.apply(c), onInvalid: (e) => invalid.push(String(e)) });
    track({ close: stop });
    assert.is(mesh.version, 1);
    assert.is(mesh.config.services[0]!.policy, 'swrr');
    await client.put(`${p}/config`).value(JSON.stringify({ services: [{ name: 'llm', policy: 'ring-hash', endpoints: [endpoint('a', 1)] }] }));
    await until('ring-hash applied', () => mesh.version === 2);
    assert.is(mesh.config.services[0]!.policy, 'ring-hash');
    await client.put(`${p}/config`).value('services:\n  - name: llm\n    policy: fastest\n');
    await until('invalid reported', () => invalid.length === 1);
    assert.match(invalid[0]!, /policy/);
    assert.is(mesh.version, 2);
    assert.is(mesh.config.services[0]!.policy, 'ring-hash');
  });

  t('etcd restarts: degraded while down, then resynced by revision with no missed or duplicated event', async () => {
    const p = prefix();
    const states: EtcdState[] = [];
    const events: DiscoveryEvent[] = [];
    const own = etcdClient(etcd.endpoint);
    const source = track(new EtcdDiscovery({ client: own, prefix: p, onState: (s) => states.push(s) }));
    track({ close: () => own.close() });
    source.watch((e) => events.push(e));
    await source.ready();
    for (let i = 0; i < 3; i++) await client.put(endpointKey('llm', `gpu-${i}`, p)).value(JSON.stringify(endpoint(`gpu-${i}`, 9000 + i)));
    await until('3 adds', () => events.length === 3);

    await etcd.stop();
    await until('degraded', () => source.state === 'degraded');
    await etcd.start();
    // Written as soon as etcd is back, before or while the watch reconnects.
    const writer = etcdClient(etcd.endpoint);
    await writer.put(endpointKey('llm', 'gpu-3', p)).value(JSON.stringify(endpoint('gpu-3', 9003)));
    await writer.delete().key(endpointKey('llm', 'gpu-0', p));
    await writer.put(endpointKey('llm', 'gpu-1', p)).value(JSON.stringify(endpoint('gpu-1', 9101)));
    writer.close();
    await until('resynced', () => events.length === 6 && source.state === 'synced', 15_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(events.slice(3).map((e) => `${e.type} ${e.type === 'remove' ? e.id : e.endpoint.id}`), ['add gpu-3', 'remove gpu-0', 'update gpu-1']);
    const revisions = events.map((e) => e.revision!);
    assert.equal(revisions, [...revisions].sort((a, b) => a - b), 'in revision order');
    assert.is(new Set(revisions.slice(2)).size, 4, 'no revision delivered twice');
    assert.ok(states.includes('degraded') && states.at(-1) === 'synced', states.join(' '));
  });

  t('etcd store wiped and restarted: discovery and config follow the new store (its revisions start below ours)', async () => {
    const p = prefix();
    const own = etcdClient(etcd.endpoint);
    track({ close: () => own.close() });
    const source = track(new EtcdDiscovery({ client: own, prefix: p }));
    const mesh = new Mesh();
    await own.put(`${p}/config`).value(JSON.stringify(config()));
    const stop = await watchEtcdConfig({ client: own, prefix: p, onConfig: (c) => mesh.apply(c) });
    track({ close: stop });
    mesh.attach(source);
    await source.ready();
    // Revisions well above what the new store will reach soon.
    for (let i = 0; i < 20; i++) await client.put(endpointKey('llm', `gpu-${i % 4}`, p)).value(JSON.stringify(endpoint(`gpu-${i % 4}`, 9000 + i)));
    await until('4 endpoints', () => mesh.endpoints('llm').length === 4);
    const before = source.revision;

    await etcd.wipe();
    // Written while the watches reconnect; the polling below keeps the process alive meanwhile
    // (a call waiting on a reconnecting gRPC channel holds no handle of its own).
    const writer = etcdClient(etcd.endpoint);
    void (async () => {
      await writer.put(`${p}/config`).value(JSON.stringify(config({ ring: { vnodes: 50 } })));
      await writer.put(endpointKey('llm', 'fresh', p)).value(JSON.stringify(endpoint('fresh', 9500)));
    })().catch(() => {});
    await until('the new store followed', () => mesh.endpoints('llm').map((e) => e.id).join() === 'fresh' && mesh.config.services[0]!.ring?.vnodes === 50, 15_000);
    // The watches delivered both writes. The writer's own answer may never come (its channel
    // reconnects to the wiped store, an etcd3/gRPC matter, not the mesh's); awaiting it could
    // hang, or end the process for want of a handle. It is closed instead.
    writer.close();
    assert.ok(source.revision < before, `revision ${source.revision} follows the new store (was ${before})`);
    assert.is(mesh.revision, source.revision);
    // The watch may still be settling on its new stream (degraded for a moment after an error).
    await until('synced', () => source.state === 'synced', 10_000);
  });

  t('two meshes watching one etcd converge on the same ring (10,000 keys)', async () => {
    const p = prefix();
    const meshes = [new Mesh(), new Mesh()];
    const sources = meshes.map(() => track(new EtcdDiscovery({ client, prefix: p })));
    meshes.forEach((m, i) => {
      m.apply(config());
      m.attach(sources[i]!);
    });
    await Promise.all(sources.map((s) => s.ready()));
    // Churn: 30 register, 10 leave, 5 change capacity.
    for (let i = 0; i < 30; i++) await client.put(endpointKey('llm', `gpu-${i}`, p)).value(JSON.stringify(endpoint(`gpu-${i}`, 9000 + i, i % 3 ? 'L4' : 'H100')));
    for (let i = 0; i < 10; i++) await client.delete().key(endpointKey('llm', `gpu-${i * 3}`, p));
    for (let i = 0; i < 5; i++) await client.put(endpointKey('llm', `gpu-${i * 3 + 1}`, p)).value(JSON.stringify(endpoint(`gpu-${i * 3 + 1}`, 9000, 'A100')));
    const { header } = await client.getAll().prefix(p).exec();
    await until('both at the last revision', () => meshes.every((m) => m.revision === Number(header.revision)));
    const [a, b] = meshes.map((m) => m.ring('llm').getBatch(keys));
    assert.is(meshes[0]!.endpoints('llm').length, 20);
    assert.equal(a, b);
    assert.is(new Set(a).size, 20);
  });

  t('etcd unreachable at start: UNAVAILABLE, or the last snapshot file, degraded, until etcd answers', async () => {
    const p = prefix();
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-snap-'));
    const file = join(dir, 'endpoints.json');
    try {
      // A first source writes the snapshot file as it follows etcd.
      const writer = new EtcdDiscovery({ client, prefix: p, snapshotFile: file });
      await client.put(endpointKey('llm', 'gpu-a', p)).value(JSON.stringify(endpoint('gpu-a', 9001)));
      await writer.ready();
      await writer.close();
      const down = '127.0.0.1:1';
      const lost = track(new EtcdDiscovery({ hosts: down, prefix: p }));
      await rejectsCode(lost.ready(), 'UNAVAILABLE', /etcd at 127\.0\.0\.1:1 cannot be reached/);
      const events: DiscoveryEvent[] = [];
      const fallback = track(new EtcdDiscovery({ hosts: down, prefix: p, snapshotFile: file }));
      fallback.watch((e) => events.push(e));
      await fallback.ready();
      assert.is(fallback.state, 'degraded');
      assert.equal(events.map((e) => e.type === 'add' && e.endpoint.id), ['gpu-a']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

t.run();
