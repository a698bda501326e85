import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { request } from 'undici';
import { classify, ClientBodyError } from '../../src/proxy/failures.js';
import { UpstreamError } from '../../src/proxy/http1/UpstreamError.js';
import { normalizePath } from '../../src/proxy/paths.js';
import { ep, SidecarHarness, sleep } from '../support/sidecar.js';

// Both ways a request can be read: the proxy's own reader (requests of the common shape) and
// node:http's (every other request, and all of them with fastPath off).
for (const fastPath of [true, false]) {
  // The sidecar as an attacker and a flaky network would try it: what reaches the backends, what
  // the health of the endpoints says afterwards, and what the client reads.
  const t = suite(`sidecar under attack (${fastPath ? "its own request reader" : "node:http's reader only"})`);
  const h = new SidecarHarness({ fastPath });
  t.before.each(() => h.setUp());
  t.after.each(() => h.tearDown());

  const received = () => h.backends.reduce((n, b) => n + b.receivedCount, 0);

  t('a request with two Host headers is answered 400 before routing: no endpoint is blamed, none is ejected', async () => {
    const ms = await h.models(3, { record: true });
    await h.start({ services: [{ name: 'gen', policy: 'swrr', outlier: { consecutiveFailures: 2 }, endpoints: ms.map((m) => ep(m)) }] });
    for (let i = 0; i < 20; i++) {
      const reply = await h.raw('GET /v1 HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n');
      assert.match(reply, /^HTTP\/1\.1 400 /);
      assert.match(reply, /connection: close/i);
      assert.match(reply, /"reason":"duplicate-host"/);
    }
    assert.is(received(), 0, 'nothing reached a backend');
    const health = await h.health('gen');
    assert.ok(health.every((e) => e.healthy && e.failures === 0 && e.requests === 0), JSON.stringify(health));
    assert.match(await h.metrics(), 'wasmesh_bad_requests_total{reason="duplicate-host"} 20');
    assert.is((await h.get('/v1')).status, 200);
  });

  t('a model name that would split the answer\'s head (CR LF in the JSON) is the client\'s mistake: 400 before routing, no endpoint blamed; names past Latin-1 are named back percent-encoded', async () => {
    const ms = await h.models(2, { record: true });
    // Names past Latin-1 are fine, and named back percent-encoded.
    await h.start({ services: [{ name: 'gen', policy: 'swrr', outlier: { consecutiveFailures: 2 }, endpoints: ms.map((m) => ep(m, { id: `${m.name}-节点` })) }], proxy: { gateway: {} } });
    for (let i = 0; i < 4; i++) {
      const r = await h.send('POST', '/v1/chat/completions', JSON.stringify({ model: 'a\r\nx-evil: 1', messages: [{ role: 'user', content: 'hi' }] }), { 'content-type': 'application/json' });
      assert.is(r.status, 400);
      assert.is(r.json().error.reason, 'bad-model');
      assert.is(r.headers['x-evil'], undefined);
    }
    assert.is(received(), 0, 'nothing reached a backend');
    const health = await h.health('gen');
    assert.ok(health.every((e) => e.healthy && e.failures === 0), JSON.stringify(health));
    assert.match(await h.metrics(), 'wasmesh_bad_requests_total{reason="bad-model"} 4');
    const ok = await h.send('POST', '/v1/chat/completions', JSON.stringify({ model: 'модель', messages: [{ role: 'user', content: 'hi' }] }), { 'content-type': 'application/json' });
    assert.is(ok.status, 200);
    assert.is(ok.headers['x-wasmesh-model'], encodeURIComponent('модель'));
    assert.match(String(ok.headers['x-wasmesh-endpoint']), /^m[01]-%E8%8A%82%E7%82%B9$/);
  });

  t('an error the pool raises about the request is the client\'s (4xx, not retried); a reset after the send is not a connect failure', () => {
    assert.equal(classify(new UpstreamError('BAD_REQUEST', 'invalid foo header'), false), { kind: 'client', status: 400, reason: 'bad-request' });
    assert.equal(classify(new UpstreamError('BAD_REQUEST', 'request body longer than its content-length 5'), true), { kind: 'client', status: 400, reason: 'bad-request' });
    assert.equal(classify(new ClientBodyError('too-large', 'x'), true), { kind: 'client', status: 413, reason: 'body-too-large' });
    assert.equal(classify(new ClientBodyError('idle', 'x'), true), { kind: 'client', status: 408, reason: 'body-timeout' });
    assert.equal(classify(new ClientBodyError('aborted', 'x'), true), { kind: 'gone' });
    assert.equal(classify(new UpstreamError('HEADERS_TIMEOUT', 'x'), true), { kind: 'timeout' });
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    assert.equal(classify(reset, true), { kind: 'reset' });
    assert.equal(classify(new UpstreamError('SOCKET_CLOSED', 'other side closed'), true), { kind: 'reset' });
    assert.equal(classify(new UpstreamError('BAD_RESPONSE', 'bad response: malformed status line'), true), { kind: 'reset' });
    assert.equal(classify(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false), { kind: 'connect' });
    assert.equal(classify(new UpstreamError('CONNECT_TIMEOUT', 'x'), false), { kind: 'connect' });
    assert.equal(classify(new UpstreamError('POOL_CLOSED', 'x'), false), { kind: 'connect' });
  });

  t('a POST the endpoint received whole is not replayed when its connection resets, even with retryOn connect-failure; a GET is, with x-wasmesh-attempt', async () => {
    const ms = await h.models(2, { record: true });
    ms[0]!.mode = 'reset';
    await h.start({ services: [{ name: 'gen', policy: 'swrr', retry: { retryOn: ['connect-failure'] }, endpoints: ms.map((m) => ep(m)) }, { name: 'get', policy: 'swrr', endpoints: ms.map((m) => ep(m, { id: `${m.name}-get` })) }], proxy: { routes: [{ pathPrefix: '/get', service: 'get' }, { pathPrefix: '/', service: 'gen' }] } });
    // swrr over two equal endpoints: the first request goes to m0, which resets after reading it.
    const post = await h.send('POST', '/v1', JSON.stringify({ prompt: 'charge my card once' }), { 'content-type': 'application/json' });
    assert.is(post.status, 502);
    assert.is(post.json().error.reason, 'upstream-reset');
    assert.is(received(), 1, 'one endpoint processed it, none a second time');
    assert.is(ms[1]!.receivedCount, 0);
    // The GET goes to m0 too (first of its own service), resets, and is retried on m1.
    const got = await h.get('/get/x');
    assert.is(got.status, 200);
    assert.is(got.json().by, 'm1');
    assert.is(ms[1]!.received.at(-1)!.headers['x-wasmesh-attempt'], '2');
    assert.is(ms[0]!.received.at(-1)!.headers['x-wasmesh-attempt'], undefined);
  });

  t('a POST answered 500 is not replayed by default; a service that opts in (retry.methods) retries it with x-wasmesh-attempt', async () => {
    const ms = await h.models(2, { record: true });
    ms[0]!.mode = 'fail';
    const config = (retry: object) => ({ services: [{ name: 'gen', policy: 'swrr', retry, endpoints: ms.map((m) => ep(m)) }] });
    await h.start(config({}));
    const post = await h.send('POST', '/v1', '{"n":1}');
    assert.is(post.status, 500);
    assert.is(received(), 1);
    // A GET answered 500 is retried elsewhere, as before (round robin: m1, then m0 which fails).
    assert.is((await h.get('/v1')).json().by, 'm1');
    const got = await h.get('/v1');
    assert.is(got.status, 200);
    assert.is(got.json().by, 'm1');
    assert.is(received(), 4);
    await h.sidecar!.close();
    ms.forEach((m) => (m.receivedCount = 0));
    ms.forEach((m) => m.received.splice(0));
    await h.start(config({ methods: ['GET', 'POST'] }));
    const retried = await h.send('POST', '/v1', '{"n":2}');
    assert.is(retried.status, 200);
    assert.is(ms[1]!.received[0]!.headers['x-wasmesh-attempt'], '2');
    assert.is(ms[1]!.received[0]!.bytes, 7, 'the buffered body is sent again whole');
    // A client's own x-wasmesh-attempt never reaches a backend.
    await h.get('/v1', { 'x-wasmesh-attempt': '7' });
    assert.ok(ms.every((m) => m.received.every((r) => r.headers['x-wasmesh-attempt'] !== '7')));
  });

  t('slow uploads: 150 clients trickling bodies reach no endpoint and hold no connection; normal requests keep their latency; a stalled body gets 408', async () => {
    const ms = await h.models(2, { record: true });
    await h.start({ services: [{ name: 'gen', policy: 'swrr', endpoints: ms.map((m) => ep(m)) }], proxy: { timeouts: { bodyIdleMs: 1500 }, limits: { connectionsPerEndpoint: 8 } } });
    const sockets = Array.from({ length: 150 }, () => connect(h.sidecar!.address.port, '127.0.0.1'));
    const replies = sockets.map((s) => {
      let text = '';
      s.on('data', (d) => (text += d)).on('error', () => {});
      return new Promise<string>((resolve) => s.on('close', () => resolve(text)));
    });
    await Promise.all(sockets.map((s) => new Promise((r) => s.once('connect', r))));
    for (const s of sockets) s.write('POST /v1 HTTP/1.1\r\nhost: a\r\ncontent-length: 100\r\n\r\nx');
    const latencies: number[] = [];
    for (let tick = 0; tick < 3; tick++) {
      for (const s of sockets.slice(0, 100)) s.write('x'); // two thirds keep trickling; the rest stall
      for (let i = 0; i < 10; i++) {
        const at = performance.now();
        assert.is((await h.get('/v1')).status, 200);
        latencies.push(performance.now() - at);
      }
      await sleep(300);
    }
    assert.is(ms.reduce((n, m) => n + m.received.filter((r) => r.method === 'POST').length, 0), 0, 'no trickled body reached a backend');
    assert.ok(Math.max(...latencies) < 250, `normal requests took up to ${Math.max(...latencies).toFixed(0)} ms`);
    // The stalled third are answered 408 after bodyIdleMs and closed.
    const stalled = await Promise.all(replies.slice(100));
    assert.ok(stalled.every((r) => /^HTTP\/1\.1 408 /.test(r) && r.includes('"reason":"body-timeout"')), stalled[0]);
    for (const s of sockets) s.destroy();
    await sleep(50);
    assert.equal(h.sidecar!.proxy.upstreams()[ms[0]!.address]?.uploads ?? 0, 0);
  });

  t('streamed uploads (over bufferBodyBytes) are capped per endpoint, then go elsewhere, then get 503 uploads-full; a hung pool is bounded the same way', async () => {
    const ms = await h.models(2, { record: true });
    await h.start({ services: [{ name: 'gen', policy: 'swrr', endpoints: ms.map((m) => ep(m)) }], proxy: { timeouts: { bodyIdleMs: 5000 }, limits: { bufferBodyBytes: 10, maxUploadsPerEndpoint: 2, connectionsPerEndpoint: 2, maxQueuedPerEndpoint: 1 } } });
    const uploads = Array.from({ length: 5 }, () => connect(h.sidecar!.address.port, '127.0.0.1'));
    const replies = uploads.map((s) => {
      let text = '';
      s.on('data', (d) => (text += d)).on('error', () => {});
      return new Promise<string>((resolve) => s.on('close', () => resolve(text)));
    });
    for (const s of uploads) {
      s.write(`POST /v1 HTTP/1.1\r\nhost: a\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n${'y'.repeat(50)}`);
      await sleep(100);
    }
    const counts = h.sidecar!.proxy.upstreams();
    assert.equal(Object.values(counts).map((c) => c.uploads), [2, 2], JSON.stringify(counts));
    const fifth = await replies[4]!;
    assert.match(fifth, /^HTTP\/1\.1 503 /);
    assert.match(fifth, /"reason":"uploads-full"/);
    assert.match(fifth, /retry-after: 1/i);
    // The uploads that finish are answered; the slots free up.
    for (const s of uploads.slice(0, 4)) s.write('y'.repeat(950));
    for (const r of await Promise.all(replies.slice(0, 4))) assert.match(r, /^HTTP\/1\.1 200 /);
    assert.equal(Object.values(h.sidecar!.proxy.upstreams()).map((c) => [c.uploads, c.active]), [[0, 0], [0, 0]]);

    // Both endpoints hang: 2 connections + 1 waiting each, then 503 pool-full at once.
    ms.forEach((m) => (m.mode = 'hang'));
    const hung = Array.from({ length: 6 }, () => request(h.url('/v1')).catch(() => undefined));
    await sleep(200);
    const refused = await h.get('/v1');
    assert.is(refused.status, 503);
    assert.is(refused.json().error.reason, 'pool-full');
    void hung;
  });

  t('the 413 reaches a client still sending its body (lingering close); with expect: 100-continue it comes instead of the 100', async () => {
    const ms = await h.models(1, { record: true });
    await h.start({ services: [{ name: 'gen', policy: 'swrr', endpoints: ms.map((m) => ep(m)) }], proxy: { limits: { maxBodyBytes: 100_000 } } });
    const body = Buffer.alloc(4 * 2 ** 20, 120);
    let seen = 0;
    const tries = 30;
    for (let i = 0; i < tries; i++) {
      const reply = await h.raw(Buffer.concat([Buffer.from(`POST /v1 HTTP/1.1\r\nhost: a\r\ncontent-length: ${body.length}\r\n\r\n`), body]));
      if (/^HTTP\/1\.1 413 /.test(reply) && reply.includes('"reason":"body-too-large"')) seen++;
    }
    assert.is(seen, tries, `${seen} of ${tries} clients read the 413`);
    // Chunked, no declared length: cut off at the limit while it streams, still readable.
    const chunked = await h.raw([`POST /v1 HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n`, ...Array.from({ length: 30 }, () => `2000\r\n${'z'.repeat(0x2000)}\r\n`)]);
    assert.match(chunked, /^HTTP\/1\.1 413 /);
    const expect = await h.raw(`POST /v1 HTTP/1.1\r\nhost: a\r\ncontent-length: ${body.length}\r\nexpect: 100-continue\r\n\r\n`);
    assert.match(expect, /^HTTP\/1\.1 413 /);
    assert.not.match(expect, /100 Continue/);
    assert.is(ms[0]!.receivedCount, 0);
  });

  t('a hung endpoint is not retried on itself: one first-byte timeout, one 504; with another endpoint the retry goes there', async () => {
    const ms = await h.models(2, { record: true });
    ms[0]!.mode = 'hang';
    await h.start({ services: [{ name: 'one', policy: 'swrr', endpoints: [ep(ms[0]!)] }, { name: 'two', policy: 'swrr', endpoints: ms.map((m) => ep(m, { id: `${m.name}-2` })) }], proxy: { routes: [{ pathPrefix: '/two', service: 'two' }, { pathPrefix: '/', service: 'one' }], timeouts: { firstByteMs: 400 } } });
    const at = performance.now();
    const r = await h.get('/v1');
    const took = performance.now() - at;
    assert.is(r.status, 504);
    assert.is(r.json().error.reason, 'upstream-timeout');
    // undici checks its timeouts every half second: one timeout is 400..1000 ms, a retry on itself twice that.
    assert.ok(took < 1500, `504 after ${took.toFixed(0)} ms`);
    assert.is(ms[0]!.receivedCount, 1);
    const two = await h.get('/two');
    assert.is(two.status, 200);
    assert.is(two.json().by, 'm1');
  });

  t('malformed framing and smuggling attempts get 400 with connection: close, are counted, and reach no backend', async () => {
    const ms = await h.models(1, { record: true });
    await h.start({ services: [{ name: 'gen', policy: 'swrr', endpoints: ms.map((m) => ep(m)) }] });
    const attempts = [
      'POST /v1 HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: a\r\n\r\n',
      'POST /v1 HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!',
      'POST /v1 HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      'POST /v1 HTTP/1.1\r\nhost: a\r\ntransfer-encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      'GET /v1 HTTP/1.1\r\nhost: a\r\nbad header: x\r\n\r\n',
      'GET /v1 HTTP/1.1\r\nhost a\r\n\r\n',
    ];
    for (const a of attempts) {
      const reply = await h.raw(a);
      assert.match(reply, /^HTTP\/1\.1 400 /, `${JSON.stringify(a)} -> ${JSON.stringify(reply)}`);
      assert.match(reply, /connection: close/i);
    }
    // Open-proxy attempts.
    assert.match(await h.raw('GET http://example.com/ HTTP/1.1\r\nhost: example.com\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await h.raw('CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.is(ms[0]!.receivedCount, 0);
    const metrics = await h.metrics();
    const counted = [...metrics.matchAll(/^wasmesh_bad_requests_total\{reason="[^"]+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(counted >= attempts.length, metrics);
  });

  t('client address headers: x-forwarded-for and Forwarded appended, x-real-ip overwritten; each policy can pass or strip', async () => {
    const ms = await h.models(1, { record: true });
    const spoof = { 'x-forwarded-for': '10.9.9.9', forwarded: 'for=10.9.9.9', 'x-real-ip': '6.6.6.6' };
    await h.start({ services: [{ name: 'gen', policy: 'swrr', endpoints: ms.map((m) => ep(m)) }] });
    await h.get('/v1', spoof);
    let seen = ms[0]!.received.at(-1)!.headers;
    assert.is(seen['x-forwarded-for'], '10.9.9.9, 127.0.0.1');
    assert.match(String(seen.forwarded), /^for=10\.9\.9\.9, for=127\.0\.0\.1;host="127\.0\.0\.1:\d+";proto=http$/);
    assert.is(seen['x-real-ip'], '127.0.0.1');
    await h.sidecar!.close();
    await h.start({ services: [{ name: 'gen', policy: 'swrr', endpoints: ms.map((m) => ep(m)) }], proxy: { forwarding: { xForwardedFor: 'overwrite', forwarded: 'strip', xRealIp: 'pass' } } });
    await h.get('/v1', spoof);
    seen = ms[0]!.received.at(-1)!.headers;
    assert.equal([seen['x-forwarded-for'], seen.forwarded, seen['x-real-ip']], ['127.0.0.1', undefined, '6.6.6.6']);
  });

  t('normalizePath: routes match the normalized path, the endpoint gets the raw one, encoded slashes are refused; off, the raw path matches', async () => {
    assert.is(normalizePath('/a/./b/../c?x=/../y'), '/a/c');
    assert.is(normalizePath('/%61dmin/%7Euser'), '/admin/~user');
    assert.is(normalizePath('/../../etc'), '/etc');
    assert.is(normalizePath('/a/b/..'), '/a/');
    assert.is(normalizePath('/a%2Fb'), undefined);
    assert.is(normalizePath('/a%5cb'), undefined);
    assert.is(normalizePath('/a%20b'), '/a%20b');
    const ms = await h.models(2, { record: true });
    const config = (normalize: boolean) => ({
      services: [{ name: 'admin', policy: 'swrr', endpoints: [ep(ms[0]!)] }, { name: 'public', policy: 'swrr', endpoints: [ep(ms[1]!)] }],
      proxy: { normalizePath: normalize, routes: [{ pathPrefix: '/admin', service: 'admin' }, { pathPrefix: '/', service: 'public' }] },
    });
    // Raw: a WHATWG URL (fetch, undici) would resolve the dot segments on the client already.
    const by = async (path: string) => {
      const reply = await h.raw(`GET ${path} HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n`);
      return JSON.parse(reply.slice(reply.indexOf('{'), reply.lastIndexOf('}') + 1)).by;
    };
    await h.start(config(true));
    assert.is(await by('/public/../admin/x'), 'm0');
    assert.is(ms[0]!.received.at(-1)!.url, '/public/../admin/x');
    assert.is((await h.get('/%61dmin')).json().by, 'm0');
    const slash = await h.get('/public/..%2Fadmin');
    assert.is(slash.status, 400);
    assert.is(slash.json().error.reason, 'encoded-slash');
    await h.sidecar!.close();
    await h.start(config(false));
    assert.is(await by('/public/../admin/x'), 'm1');
  });

  t('the access log: one JSON line per request with its endpoint, status, attempts, bytes and times; local answers name their reason', async () => {
    const ms = await h.models(2);
    ms[0]!.mode = 'fail';
    await h.start({ services: [{ name: 'gen', policy: 'swrr', endpoints: ms.map((m) => ep(m)) }], proxy: { limits: { maxBodyBytes: 10 } } }, { accessLog: true });
    const ok = await h.get('/v1?q=1');
    await h.send('POST', '/v1', 'x'.repeat(50));
    await sleep(50);
    const [first, second] = h.accessLog;
    assert.is(first!.path, '/v1?q=1');
    assert.equal([first!.method, first!.service, first!.endpoint, first!.status, first!.attempts, first!.bytes, first!.reason], ['GET', 'gen', 'm1', 200, 2, Buffer.byteLength(ok.text), undefined]);
    assert.ok((first!.upstreamMs as number) >= 0 && (first!.durationMs as number) >= (first!.upstreamMs as number));
    assert.equal([second!.status, second!.reason, second!.attempts, second!.endpoint], [413, 'body-too-large', 0, undefined]);
  });
  t.run();
}
