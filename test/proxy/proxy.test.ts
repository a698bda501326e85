import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import type { ModelServer } from '../../src/demo/modelServer.js';
import { ep, SidecarHarness, sleep } from '../support/sidecar.js';

// Real sockets on 127.0.0.1: fake model servers, the sidecar in front, requests through it.
const t = suite('sidecar proxy');
const h = new SidecarHarness();
t.before.each(() => h.setUp());
t.after.each(() => h.tearDown());

const models = (n: number, options: { delayMs?: number; tokens?: number; tokenGapMs?: number } = {}): Promise<ModelServer[]> => h.models(n, options);
const start = (config: unknown) => h.start(config);
const url = (path = '/') => h.url(path);
const admin = (path: string) => h.admin(path);
const get = (path = '/', headers: Record<string, string> = {}) => h.get(path, headers);

t('affinity: a session stays on one endpoint; a JSON prompt prefix too; the endpoint is named in a header', async () => {
  const ms = await models(4);
  await start({ services: [{ name: 'chat', policy: 'ring-hash', hashKey: { header: 'x-session-id' }, endpoints: ms.map((m) => ep(m)) }] });
  const seen = new Map<string, Set<string>>();
  for (let round = 0; round < 4; round++) {
    for (let s = 0; s < 25; s++) {
      const r = await get('/v1/chat', { 'x-session-id': `session-${s}` });
      assert.is(r.status, 200);
      assert.is(r.headers['x-wasmesh-endpoint'], r.json().by);
      seen.set(`session-${s}`, (seen.get(`session-${s}`) ?? new Set()).add(r.json().by));
    }
  }
  assert.ok([...seen.values()].every((set) => set.size === 1));
  // Ring-hash needs the key: without the header, 400 naming what to send.
  const keyless = await get('/v1/chat');
  assert.is(keyless.status, 400);
  assert.is(keyless.json().error.reason, 'no-key');
  assert.ok(new Set([...seen.values()].map((set) => [...set][0])).size > 1, 'sessions spread over endpoints');
  assert.is(h.sidecar!.mesh.owner('chat', 'session-3'), [...seen.get('session-3')!][0]);
  await h.sidecar!.close();

  await start({ services: [{ name: 'chat', policy: 'ring-hash', hashKey: { jsonField: 'messages.0.content', prefixChars: 24 }, endpoints: ms.map((m) => ep(m)) }] });
  const prompt = (tail: string) => JSON.stringify({ messages: [{ role: 'system', content: `You are a careful assistant. ${tail}` }] });
  const owners = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const r = await request(url('/v1/chat'), { method: 'POST', body: prompt(`question ${i}`), headers: { 'content-type': 'application/json' } });
    const body = (await r.body.json()) as { by: string; bytes: number };
    assert.is(body.bytes, Buffer.byteLength(prompt(`question ${i}`)), 'the buffered body is forwarded whole');
    owners.add(body.by);
  }
  assert.equal([...owners], [h.sidecar!.mesh.owner('chat', 'You are a careful assistant. question 0'.slice(0, 24))!]);
});

t('weighted shares: smooth round robin by capacity, exactly', async () => {
  const ms = await models(2);
  await start({ services: [{ name: 'gen', policy: 'swrr', endpoints: [ep(ms[0]!, { resources: { accelerator: 'L4', count: 1, throughput: 3 } }), ep(ms[1]!, { resources: { accelerator: 'L4', count: 1, throughput: 1 } })] }] });
  for (let i = 0; i < 400; i++) assert.is((await get()).status, 200);
  assert.equal([ms[0]!.served, ms[1]!.served], [300, 100]);
});

t('failover: a backend that dies mid-test loses no request (connect failures are retried)', async () => {
  const ms = await models(3);
  await start({ services: [{ name: 'gen', policy: 'swrr', endpoints: ms.map((m) => ep(m)) }] });
  const statuses: number[] = [];
  for (let i = 0; i < 300; i++) {
    if (i === 100) await ms[1]!.kill();
    statuses.push((await get()).status);
  }
  assert.ok(statuses.every((s) => s === 200), statuses.filter((s) => s !== 200).join(','));
  assert.is(ms[0]!.served + ms[2]!.served + ms[1]!.served, 300);
});

t('ejection and recovery: a failing backend is ejected, clients see no error, it comes back', async () => {
  const ms = await models(3);
  await start({ services: [{ name: 'gen', policy: 'swrr', outlier: { consecutiveFailures: 3, baseEjectionMs: 400 }, slowStart: { windowMs: 0 }, endpoints: ms.map((m) => ep(m)) }] });
  ms[2]!.mode = 'fail';
  for (let i = 0; i < 60; i++) assert.is((await get()).status, 200);
  const health = async () => ((await (await request(admin('/endpoints'))).body.json()) as Record<string, { id: string; healthy: boolean; failures: number }[]>).gen!;
  assert.equal((await health()).map((e) => e.healthy), [true, true, false]);
  assert.is((await health())[2]!.failures, 3);
  ms[2]!.mode = 'ok';
  await sleep(500);
  const before = ms[2]!.served;
  for (let i = 0; i < 60; i++) assert.is((await get()).status, 200);
  assert.ok(ms[2]!.served > before, 'traffic returns after the ejection time');
  assert.equal((await health()).map((e) => e.healthy), [true, true, true]);
});

t('hot reload under load: endpoints added and removed with zero failed requests; a bad file keeps the old config', async () => {
  const ms = await models(4);
  const config = (list: ModelServer[]) => ({ services: [{ name: 'gen', policy: 'swrr', endpoints: list.map((m) => ep(m)) }] });
  const s = await start(config(ms.slice(0, 2)));
  let running = true;
  const failures: number[] = [];
  let done = 0;
  const clients = Array.from({ length: 4 }, async () => {
    while (running) {
      const r = await get();
      done++;
      if (r.status !== 200) failures.push(r.status);
    }
  });
  const file = join(h.dir, 'mesh.json');
  for (const list of [ms.slice(0, 3), ms.slice(1, 4), [ms[3]!], ms]) {
    await sleep(150);
    writeFileSync(file, JSON.stringify(config(list)));
    assert.ok(await s.reload());
  }
  writeFileSync(file, '{"services": [{"name": "gen", "policy": "fastest"}]}');
  assert.not.ok(await s.reload());
  await sleep(150);
  running = false;
  await Promise.all(clients);
  assert.equal(failures, []);
  assert.ok(done > 100, `${done} requests`);
  assert.is(s.mesh.endpoints('gen').length, 4);
  assert.ok(ms.every((m) => m.served > 0));
});

t('hot reload follows saves that rename a new file over the config, one after another; listener changes wait for a restart (logged)', async () => {
  const ms = await models(3);
  await start({ services: [{ name: 'gen', policy: 'swrr', endpoints: [ep(ms[0]!)] }] });
  const logs = h.logs;
  const file = join(h.dir, 'mesh.json');
  const saveByRename = (n: number, proxy?: unknown) => {
    writeFileSync(`${file}.swp`, JSON.stringify({ services: [{ name: 'gen', policy: 'swrr', endpoints: ms.slice(0, n).map((m) => ep(m)) }], proxy }));
    renameSync(`${file}.swp`, file);
  };
  for (const n of [2, 3]) {
    saveByRename(n);
    for (let i = 0; i < 100 && h.sidecar!.mesh.endpoints('gen').length !== n; i++) await sleep(20);
    assert.is(h.sidecar!.mesh.endpoints('gen').length, n, `after save ${n - 1}`);
  }
  const before = h.sidecar!.mesh.version;
  // Unrelated files in the directory, or the same text saved again, change nothing.
  writeFileSync(join(h.dir, 'other.txt'), 'x');
  saveByRename(3);
  await sleep(300);
  assert.is(h.sidecar!.mesh.version, before);
  // Listeners stay as started; the log says so.
  saveByRename(3, { listen: { port: 15999 } });
  for (let i = 0; i < 100 && h.sidecar!.mesh.version === before; i++) await sleep(20);
  assert.ok(logs.some((l) => l.startsWith('proxy.listen changed: in force at the next start')), logs.join('\n'));
  assert.is((await get('/')).status, 200);
});

t('drain: a removed endpoint finishes its requests in flight; new ones go elsewhere', async () => {
  const [slow, fast] = await models(2);
  slow!.delayMs = 600;
  const s = await start({ services: [{ name: 'gen', policy: 'swrr', endpoints: [ep(slow!)] }] });
  const inflight = get();
  await sleep(100);
  writeFileSync(join(h.dir, 'mesh.json'), JSON.stringify({ services: [{ name: 'gen', policy: 'swrr', endpoints: [ep(fast!)] }] }));
  assert.ok(await s.reload());
  const next = await get();
  assert.is(next.json().by, 'm1');
  const first = await inflight;
  assert.is(first.status, 200);
  assert.is(first.json().by, 'm0');
});

t('server-sent events: the first token passes through as soon as the backend sends it', async () => {
  const [m] = await models(1, { tokens: 6, tokenGapMs: 150 });
  await start({ services: [{ name: 'gen', policy: 'swrr', endpoints: [ep(m!)] }] });
  const firstToken = async (target: string) => {
    const startAt = performance.now();
    const r = await request(target, { headers: { accept: 'text/event-stream' } });
    let first = 0;
    let text = '';
    for await (const chunk of r.body) {
      if (!first) first = performance.now() - startAt;
      text += chunk;
    }
    return { first, total: performance.now() - startAt, text, type: r.headers['content-type'] };
  };
  const direct = await firstToken(`http://${m!.address}/stream`);
  const proxied = await firstToken(url('/stream'));
  assert.is(proxied.type, 'text/event-stream');
  assert.is(proxied.text.split('data: ').length - 1, 7);
  assert.ok(proxied.total >= 700, `the stream lasts ${proxied.total} ms`);
  assert.ok(proxied.first < 100, `first token after ${proxied.first.toFixed(0)} ms through the proxy (direct ${direct.first.toFixed(0)} ms)`);
});

t('a client that leaves a token stream stops it at the backend; expect: 100-continue is answered by the proxy', async () => {
  const [m] = await models(1, { tokens: 50, tokenGapMs: 20 });
  await start({ services: [{ name: 'gen', policy: 'swrr', endpoints: [ep(m!)] }] });
  const r = await request(url('/stream'), { headers: { accept: 'text/event-stream' } });
  for await (const _chunk of r.body) break;
  for (let i = 0; i < 50 && m!.abandoned === 0; i++) await sleep(20);
  assert.is(m!.abandoned, 1, 'the backend saw the stream abandoned');
  assert.is(m!.served, 1);
  // curl sends expect: 100-continue for larger bodies; the proxy answers it and forwards the body.
  const reply = await new Promise<string>((resolve) => {
    const socket = connect(h.sidecar!.address.port, '127.0.0.1', () => socket.write('POST /v1 HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n'));
    let text = '';
    socket.on('data', (d) => {
      text += d;
      if (text.startsWith('HTTP/1.1 100') && !text.includes('\r\n\r\nHTTP')) socket.write('hello');
    });
    socket.on('end', () => resolve(text));
  });
  assert.match(reply, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200/);
  assert.is(JSON.parse(reply.slice(reply.indexOf("{"), reply.lastIndexOf("}") + 1)).bytes, 5);
});

t('limits and safety: 431, 413, no open proxy, hop-by-hop stripped, x-forwarded-for set, circuit 503, overload 429', async () => {
  const [m] = await models(1);
  m!.delayMs = 300;
  await start({
    services: [{ name: 'gen', policy: 'swrr', circuit: { maxRequests: 1 }, endpoints: [ep(m!)] }, { name: 'small', policy: 'p2c', endpoints: [ep(m!, { id: 'm0b', maxInflight: 1 })] }],
    proxy: { routes: [{ pathPrefix: '/small', service: 'small' }, { pathPrefix: '/v1', service: 'gen' }], limits: { maxHeaderBytes: 4096, maxBodyBytes: 1000 } },
  });
  assert.is((await get('/v1', { 'x-big': 'x'.repeat(8000) })).status, 431);
  const big = await request(url('/v1'), { method: 'POST', body: 'y'.repeat(5000) });
  assert.is(big.statusCode, 413);
  assert.is(((await big.body.json()) as { error: { reason: string } }).error.reason, 'body-too-large');
  // Without a content-length the limit is counted while the body streams upstream.
  const chunked = await request(url('/v1'), { method: 'POST', body: Readable.from(Array.from({ length: 50 }, () => Buffer.alloc(100))) });
  assert.is(chunked.statusCode, 413);
  assert.is(((await chunked.body.json()) as { error: { reason: string } }).error.reason, 'body-too-large');
  assert.is((await get('/elsewhere')).status, 404);
  assert.is((await get('/elsewhere')).json().error.reason, 'no-route');
  // An absolute-form target names a host of the client's choosing: refused.
  const raw = await new Promise<string>((resolve) => {
    const socket = connect(h.sidecar!.address.port, '127.0.0.1', () => socket.end('GET http://example.com/ HTTP/1.1\r\nhost: example.com\r\n\r\n'));
    let text = '';
    socket.on('data', (d) => (text += d)).on('end', () => resolve(text));
  });
  assert.match(raw, /^HTTP\/1\.1 400/);
  const echoed = (await get('/v1', { 'proxy-authorization': 'secret', 'x-forwarded-for': '10.1.1.1' })).json();
  assert.is(echoed.hopByHop, null);
  assert.is(echoed.forwardedFor, '10.1.1.1, 127.0.0.1');
  const [a, b] = await Promise.all([get('/v1'), sleep(50).then(() => get('/v1'))]);
  assert.is(a.status, 200);
  assert.is(b.status, 503);
  assert.is(b.json().error.reason, 'circuit-open');
  const [c, d] = await Promise.all([get('/small'), sleep(50).then(() => get('/small'))]);
  assert.is(c.status, 200);
  assert.is(d.status, 429);
  assert.is(d.headers['retry-after'], '1');
});

t('admin: /metrics, /healthz, /ready, /config, /endpoints on their own loopback port', async () => {
  const [m] = await models(1);
  await start({ services: [{ name: 'gen', policy: 'swrr', endpoints: [ep(m!)] }] });
  assert.is(h.sidecar!.adminAddress.address, '127.0.0.1');
  assert.is(h.sidecar!.address.address, '127.0.0.1');
  await get();
  const text = async (path: string) => {
    const r = await request(admin(path));
    return { status: r.statusCode, body: await r.body.text() };
  };
  assert.match((await text('/metrics')).body, 'wasmesh_outcomes_total{service="gen",endpoint="m0",result="success"} 1');
  assert.equal(await text('/healthz'), { status: 200, body: 'ok\n' });
  assert.is(JSON.parse((await text('/ready')).body).ready, true);
  const config = JSON.parse((await text('/config')).body);
  assert.is(config.version, 1);
  assert.equal(config.services, [{ name: 'gen', policy: 'swrr', endpoints: 1 }]);
  assert.is(JSON.parse((await text('/endpoints')).body).gen[0].requests, 1);
  assert.is((await text('/nope')).status, 404);
});

t.run();
