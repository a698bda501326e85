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

t.run();
