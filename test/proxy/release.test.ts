import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { request } from 'undici';
import { seededRandom } from '../../src/index.js';
import { ep, SidecarHarness, sleep } from '../support/sidecar.js';

// However an exchange ends (the client leaving at any phase, the endpoint failing, resetting or
// hanging, a timeout, a limit), everything it held is released exactly once: afterwards every
// in-flight count, pool slot and upload slot is back at zero, and memory stays where it was.
const t = suite('sidecar releases what each request holds');
const h = new SidecarHarness();
t.before.each(() => h.setUp());
t.after.each(() => h.tearDown());

type Phase = 'ok' | 'post' | 'stream-abort' | 'abort-waiting' | 'abort-mid-body' | 'abort-after-headers' | 'fail' | 'reset' | 'hang' | 'too-large' | 'streamed-upload';
const kPhases: [Phase, number][] = [
  ['ok', 30], ['post', 15], ['stream-abort', 8], ['abort-waiting', 8], ['abort-mid-body', 8], ['abort-after-headers', 6],
  ['fail', 8], ['reset', 6], ['hang', 1], ['too-large', 5], ['streamed-upload', 5],
];
const kTotal = kPhases.reduce((n, [, w]) => n + w, 0);

async function one(phase: Phase, random: () => number): Promise<void> {
  const port = h.sidecar!.address.port;
  const raw = (text: string, then: (socket: ReturnType<typeof connect>) => void) =>
    new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(text);
        then(socket);
      });
      socket.on('error', () => {}).on('close', () => resolve());
      socket.on('data', () => {});
    });
  const call = async (path: string, options: Parameters<typeof request>[1] = {}) => {
    try {
      const r = await request(h.url(path), options);
      await r.body.text();
    } catch {
      // Aborted on purpose.
    }
  };
  switch (phase) {
    case 'ok':
      return call('/v1');
    case 'post':
      return call('/v1', { method: 'POST', body: 'x'.repeat(1 + Math.floor(random() * 4000)) });
    case 'fail':
    case 'reset':
    case 'hang':
      return call('/v1', { headers: { 'x-model-mode': phase } });
    case 'too-large':
      return call('/v1', { method: 'POST', body: 'x'.repeat(70_000) });
    case 'streamed-upload':
      return call('/v1', { method: 'POST', body: 'u'.repeat(3000 + Math.floor(random() * 3000)) });
    case 'stream-abort': {
      const controller = new AbortController();
      try {
        const r = await request(h.url('/stream'), { signal: controller.signal });
        for await (const _chunk of r.body) {
          controller.abort();
          break;
        }
      } catch {
        // Aborted on purpose.
      }
      return;
    }
    case 'abort-waiting': {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 1 + random() * 40);
      return call('/v1', { signal: controller.signal, headers: { 'x-model-delay-ms': '30' } });
    }
    case 'abort-mid-body':
      return raw('POST /v1 HTTP/1.1\r\nhost: a\r\ncontent-length: 5000\r\n\r\n' + 'b'.repeat(Math.floor(random() * 4000)), (s) => setTimeout(() => s.destroy(), random() * 20));
    case 'abort-after-headers':
      return raw('GET /v1 HTTP/1.1\r\nhost: a\r\nx-model-delay-ms: 20\r\n\r\n', (s) => setTimeout(() => s.destroy(), random() * 25));
  }
}

t('10,000 requests ended at random phases: every in-flight count, pool and upload slot back to 0, RSS stable', async () => {
  const ms = await h.models(3, { obeyHeaders: true, tokens: 5, tokenGapMs: 5 });
  await h.start({
    services: [{ name: 'gen', policy: 'swrr', outlier: { consecutiveFailures: 1000 }, endpoints: ms.map((m) => ep(m)) }],
    proxy: { timeouts: { firstByteMs: 300, bodyIdleMs: 500 }, limits: { maxBodyBytes: 65_536, bufferBodyBytes: 2048, maxUploadsPerEndpoint: 4 } },
  });
  const random = seededRandom(7);
  const pick = (): Phase => {
    let r = random() * kTotal;
    for (const [phase, w] of kPhases) if ((r -= w) < 0) return phase;
    return 'ok';
  };
  const run = async (n: number) => {
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < n) {
        next++;
        await one(pick(), random);
      }
    }));
    for (let i = 0; i < 200 && h.sidecar!.proxy.inflight > 0; i++) await sleep(25);
  };
  await run(1000);
  const rssBefore = process.memoryUsage().rss;
  await run(10_000);
  const rssAfter = process.memoryUsage().rss;
  const proxy = h.sidecar!.proxy;
  assert.is(proxy.inflight, 0, 'exchanges in flight');
  for (const [address, u] of Object.entries(proxy.upstreams())) assert.equal(u, { active: 0, uploads: 0, running: 0, pending: 0, queued: 0 }, address);
  const mesh = h.sidecar!.mesh;
  assert.equal(mesh.inflight('gen'), { requests: 0, retries: 0, endpoints: { m0: 0, m1: 0, m2: 0 } });
  assert.ok(mesh.endpoints('gen').every((e) => e.load === 0), JSON.stringify(mesh.endpoints('gen')));
  const stats = mesh.endpoints('gen').map((e) => e.stats);
  assert.ok(stats.every((s) => s.cancelled > 0 && s.failures > 0 && s.requests > s.failures), JSON.stringify(stats));
  assert.ok(rssAfter - rssBefore < 80 * 2 ** 20, `RSS grew ${((rssAfter - rssBefore) / 2 ** 20).toFixed(1)} MB over 10,000 requests`);
});

type LlmPhase = 'json' | 'stream' | 'abort-stream' | 'abort-waiting' | 'cut' | 'busy-replay' | 'sheddable';
const kLlm: [LlmPhase, number][] = [['json', 20], ['stream', 20], ['abort-stream', 15], ['abort-waiting', 15], ['cut', 8], ['busy-replay', 8], ['sheddable', 4]];
const kLlmTotal = kLlm.reduce((n, [, w]) => n + w, 0);

t('10,000 LLM requests through the gateway (budgets, fair queue, fallbacks, engine scrapes) with random client aborts: every count, load and budget reservation back to 0', async () => {
  const ms = await h.models(3, { obeyHeaders: true, openai: true, tokens: 3, tokenGapMs: 3 });
  const endpoints = ms.map((m) => ep(m, { maxInflight: 4000 }));
  await h.start({
    services: [
      { name: 'chat', policy: 'ttft', model: 'big', fallback: ['small'], metrics: { intervalMs: 50 }, admission: { queue: 64, timeoutMs: 200 }, outlier: { consecutiveFailures: 100000 }, endpoints: endpoints.slice(0, 2) },
      { name: 'small', policy: 'prefix-cache', model: 'little', endpoints: endpoints.slice(2) },
    ],
    proxy: { routes: [{ pathPrefix: '/v1', service: 'chat' }], gateway: { budgets: [{ tenant: 'capped', tokensPerMinute: 600 }, { tokensPerMinute: 1e9 }] } },
  });
  const random = seededRandom(11);
  const pick = (): LlmPhase => {
    let r = random() * kLlmTotal;
    for (const [phase, w] of kLlm) if ((r -= w) < 0) return phase;
    return 'json';
  };
  const body = (stream: boolean) => JSON.stringify({ model: 'big', stream, max_tokens: 3, messages: [{ role: 'system', content: `team ${Math.floor(random() * 8)} handbook `.repeat(30) }, { role: 'user', content: `question ${Math.floor(random() * 1000)}` }] });
  const one = async (phase: LlmPhase) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-tenant-id': random() < 0.1 ? 'capped' : `t${Math.floor(random() * 5)}` };
    const controller = new AbortController();
    if (phase === 'cut') headers['x-model-mode'] = 'cut';
    if (phase === 'busy-replay') Object.assign(headers, { 'x-model-mode': 'busy', 'idempotency-key': String(random()) });
    if (phase === 'sheddable') headers['x-wasmesh-priority'] = '-1';
    if (phase === 'abort-waiting') {
      headers['x-model-delay-ms'] = '20';
      setTimeout(() => controller.abort(), 1 + random() * 25);
    }
    try {
      const r = await request(h.url('/v1/chat/completions'), { method: 'POST', body: body(phase !== 'json'), headers, signal: controller.signal });
      if (phase === 'abort-stream') {
        for await (const _chunk of r.body) {
          controller.abort();
          break;
        }
      }
      await r.body.text();
    } catch {
      // Aborted on purpose, or cut by the engine.
    }
  };
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < 10_000) {
      next++;
      await one(pick());
    }
  }));
  const sidecar = h.sidecar!;
  for (let i = 0; i < 200 && sidecar.proxy.inflight > 0; i++) await sleep(25);
  await sleep(50);
  assert.is(sidecar.proxy.inflight, 0, 'exchanges in flight');
  for (const [address, u] of Object.entries(sidecar.proxy.upstreams())) assert.equal(u, { active: 0, uploads: 0, running: 0, pending: 0, queued: 0 }, address);
  const mesh = sidecar.mesh;
  for (const service of ['chat', 'small']) {
    assert.is(mesh.inflight(service).requests, 0, service);
    assert.is(mesh.queued(service), 0, service);
    assert.ok(mesh.endpoints(service).every((e) => e.load === 0), JSON.stringify(mesh.endpoints(service).map((e) => [e.id, e.load])));
  }
  assert.is(sidecar.proxy.gateway.budgets.open, 0, 'budget reservations open');
  const text = await h.metrics();
  assert.match(text, /wasmesh_budget_reservations_open 0/);
  // Each kind of ending happened: fallbacks, limited tenants, shed requests, streams cut and left.
  assert.match(text, /wasmesh_fallbacks_total\{from="chat",to="small",reason="upstream-429"\} [1-9]/);
  assert.match(text, /wasmesh_budget_decisions_total\{result="limited"\} [1-9]/);
  assert.ok(ms.reduce((n, m) => n + m.abandoned, 0) > 0);
  assert.ok(mesh.endpoints('chat').every((e) => e.stats.cancelled > 0 && e.stats.requests > 0));
});

t.run();
