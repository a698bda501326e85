// The sidecar's upstream pool against real servers on loopback: node:http for well-behaved
// endpoints, raw TCP for the ones that misbehave. Each attempt must end exactly once (one
// onResponseEnd or onResponseError), the pool's counts must return to zero, and a request is
// on the wire only after onRequestStart.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Http1Pool, type UpstreamController, type UpstreamRequest } from '../../src/proxy/http1/Http1Pool.js';
import { UpstreamError } from '../../src/proxy/http1/UpstreamError.js';

const t = suite('upstream HTTP/1.1 pool');
const servers: (Server | TcpServer)[] = [];
const pools: Http1Pool[] = [];
t.after.each(async () => {
  for (const p of pools.splice(0)) p.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => ((s as Server).closeAllConnections?.(), s.close(r)))));
});

interface Outcome {
  started: boolean;
  status: number;
  headers: string[];
  body: string;
  error: Error | undefined;
  controller: UpstreamController;
}

/** Sends one request; resolves on its single end (a second end fails the test). */
function send(pool: Http1Pool, request: Partial<UpstreamRequest> = {}, hooks: { onStart?: (c: UpstreamController) => void; onHead?: (c: UpstreamController) => void } = {}): Promise<Outcome> & { controller: UpstreamController } {
  let done = false;
  let resolve!: (o: Outcome) => void;
  const promise = new Promise<Outcome>((r) => (resolve = r));
  const out = { started: false, status: 0, headers: [], body: '', error: undefined } as unknown as Outcome;
  const finish = () => {
    assert.not.ok(done, 'an attempt ends once');
    done = true;
    resolve(out);
  };
  const controller = pool.dispatch(
    { method: 'GET', path: '/', headers: ['host', 'a'], headersTimeout: 2000, bodyTimeout: 2000, ...request },
    {
      onRequestStart: (c) => {
        out.started = true;
        hooks.onStart?.(c);
      },
      onResponseStart: (c, status, headers) => {
        if (status < 200) return;
        out.status = status;
        out.headers = headers;
        hooks.onHead?.(c);
      },
      onResponseData: (_c, chunk) => void (out.body += chunk.toString('latin1')),
      onResponseEnd: () => finish(),
      onResponseError: (_c, error) => {
        out.error = error;
        finish();
      },
    },
  );
  out.controller = controller;
  return Object.assign(promise, { controller });
}

async function listen<S extends Server | TcpServer>(server: S): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function pool(address: string, connections = 4, connectTimeoutMs = 1000): Http1Pool {
  const p = new Http1Pool(address, { connections, connectTimeoutMs });
  pools.push(p);
  return p;
}

const idle = (p: Http1Pool) => assert.equal({ running: p.stats.running, pending: p.stats.pending }, { running: 0, pending: 0 });

t('keep-alive: 50 requests in turn share one connection; the endpoint gets the method, path, headers and a Host', async () => {
  let connections = 0;
  const seen: string[] = [];
  const address = await listen(createServer((req, res) => res.end(`${req.method} ${req.url} ${req.headers['x-n']} ${req.headers.host}`)).on('connection', () => connections++));
  const p = pool(address);
  for (let i = 0; i < 50; i++) {
    const r = await send(p, { method: 'GET', path: `/x?i=${i}`, headers: ['x-n', String(i)] });
    seen.push(r.body);
    assert.ok(r.started);
    assert.is(r.status, 200);
  }
  assert.is(connections, 1);
  assert.is(seen[7], `GET /x?i=7 7 ${address}`);
  idle(p);
  assert.is(p.stats.free, 1);
});

t('at most `connections` at once, the rest wait in order; bodies whole, streamed chunked, or with their length', async () => {
  let open = 0, most = 0;
  const order: string[] = [];
  const address = await listen(
    createServer((req, res) => {
      open++;
      most = Math.max(most, open);
      let body = '';
      req.on('data', (d) => (body += d)).on('end', () =>
        setTimeout(() => {
          open--;
          order.push(req.url!);
          res.end(`${req.headers['transfer-encoding'] ?? req.headers['content-length']}:${body}`);
        }, 20),
      );
    }),
  );
  const p = pool(address, 2);
  const rs = Array.from({ length: 8 }, (_, i) => send(p, { method: 'POST', path: `/${i}`, body: Buffer.from(`b${i}`) }));
  // Two connections opening, every request waiting for one.
  assert.equal({ connected: p.stats.connected, pending: p.stats.pending }, { connected: 2, pending: 8 });
  const results = await Promise.all(rs);
  assert.is(most, 2);
  assert.equal(results.map((r) => r.body), Array.from({ length: 8 }, (_, i) => `2:b${i}`));
  assert.equal(order.slice(0, 2).sort(), ['/0', '/1']);
  const stream = Readable.from([Buffer.from('ab'), Buffer.from('cde')]);
  assert.is((await send(p, { method: 'POST', body: stream })).body, 'chunked:abcde');
  assert.is((await send(p, { method: 'POST', headers: ['content-length', '5'], body: Readable.from([Buffer.from('abcde')]) })).body, '5:abcde');
  assert.is((await send(p, { method: 'POST' })).body, '0:', 'a POST with no body says so');
  // Both ways a whole body is sent: behind its head in one buffer, and (past 16 KiB) in a writev of its own.
  for (const size of [16_384, 16_385, 200_000]) {
    const big = Buffer.alloc(size, 'x');
    big[size - 1] = 0x79;
    assert.is((await send(p, { method: 'POST', body: big })).body, `${size}:${big.toString('latin1')}`, `${size} bytes`);
  }
  idle(p);
});

t('a request that would split its head or lie about its length is refused before anything is sent (BAD_REQUEST)', async () => {
  let requests = 0;
  const address = await listen(createServer((_req, res) => (requests++, res.end())));
  const p = pool(address);
  for (const bad of [
    { headers: ['x-a', 'v\r\nx-injected: 1'] },
    { headers: ['bad name', 'v'] },
    { path: '/a b' },
    { path: 'http://elsewhere/' },
    { method: 'POST', headers: ['content-length', '3'], body: Buffer.from('abcd') },
    { headers: ['transfer-encoding', 'chunked'] },
  ]) {
    const r = await send(p, bad);
    assert.instance(r.error, UpstreamError, JSON.stringify(bad));
    assert.is((r.error as UpstreamError).code, 'BAD_REQUEST');
    assert.not.ok(r.started);
  }
  const longer = await send(p, { method: 'POST', headers: ['content-length', '2'], body: Readable.from([Buffer.from('abc')]) });
  assert.is((longer.error as UpstreamError).code, 'BAD_REQUEST');
  assert.is(requests, 0);
  idle(p);
});

t('no endpoint: the connect fails every waiting attempt once, before onRequestStart', async () => {
  const gone = await listen(createServer());
  const address = gone;
  await new Promise((r) => servers.pop()!.close(r));
  const p = pool(address, 2);
  const rs = await Promise.all(Array.from({ length: 5 }, () => send(p)));
  for (const r of rs) {
    assert.not.ok(r.started);
    assert.is((r.error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  }
  idle(p);
  await sleep(20);
  assert.is(p.stats.connected, 0);
});

t('timeouts: no head within headersTimeout, no byte within bodyTimeout; a paused response does not time out', async () => {
  const address = await listen(
    createServer((req, res) => {
      if (req.url === '/hang') return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first');
      if (req.url === '/stall') return;
      setTimeout(() => res.end('last'), 250);
    }),
  );
  const p = pool(address);
  const hang = await send(p, { path: '/hang', headersTimeout: 100 });
  assert.ok(hang.started);
  assert.is((hang.error as UpstreamError).code, 'HEADERS_TIMEOUT');
  const stall = await send(p, { path: '/stall', bodyTimeout: 100 });
  assert.is(stall.status, 200);
  assert.is(stall.body, 'first');
  assert.is((stall.error as UpstreamError).code, 'BODY_TIMEOUT');
  // Paused past bodyTimeout (the client is slow): no timeout; resumed, the rest arrives.
  const slow = send(p, { path: '/slow', bodyTimeout: 100 }, { onHead: (c) => (c.pause(), setTimeout(() => c.resume(), 300)) });
  const r = await slow;
  assert.is(r.error, undefined);
  assert.is(r.body, 'firstlast');
  idle(p);
});

/** A raw TCP endpoint answering each request with what `answer` writes. */
async function rawServer(answer: (socket: Socket, request: string, n: number) => void): Promise<string> {
  let n = 0;
  return listen(
    createTcpServer((socket) => {
      let buffered = '';
      socket.on('data', (d) => {
        buffered += d.toString('latin1');
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const request = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        answer(socket, request, n++);
      });
      socket.on('error', () => {});
    }),
  );
}

t('an endpoint that closes mid-body, mid-head or right after reading: one error each, after onRequestStart; the connection is not reused', async () => {
  const address = await rawServer((socket, request) => {
    if (request.includes('/mid-body')) socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
    else if (request.includes('/mid-head')) socket.end('HTTP/1.1 200 OK\r\ncontent-le');
    else if (request.includes('/reset')) socket.resetAndDestroy();
    else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  });
  const p = pool(address, 1);
  const body = await send(p, { path: '/mid-body' });
  assert.is(body.status, 200);
  assert.is((body.error as UpstreamError).code, 'SOCKET_CLOSED');
  assert.is((await send(p, { path: '/mid-head' })).error instanceof UpstreamError, true);
  const reset = await send(p, { path: '/reset' });
  assert.ok(reset.started);
  assert.ok(reset.error);
  const ok = await send(p);
  assert.is(ok.body, 'ok');
  idle(p);
});

t('a body that runs to the close ends with it; a malformed answer is an error; bytes after the end are not trusted', async () => {
  let connections = 0;
  const address = await rawServer((socket, request) => {
    if (request.includes('/until-close')) socket.end('HTTP/1.1 200 OK\r\n\r\nall of it');
    else if (request.includes('/smuggle')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n');
    else if (request.includes('/extra')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nevil');
    else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  });
  servers.at(-1)!.on('connection', () => connections++);
  const p = pool(address, 1);
  assert.is((await send(p, { path: '/until-close' })).body, 'all of it');
  const smuggle = await send(p, { path: '/smuggle' });
  assert.is((smuggle.error as UpstreamError).code, 'BAD_RESPONSE');
  const extra = await send(p, { path: '/extra' });
  assert.is(extra.body, 'ok');
  const next = await send(p);
  assert.is(next.body, 'ok', 'the next request gets its own answer, not the extra bytes');
  assert.is(connections, 4);
  idle(p);
});

t('abort: waiting (no onRequestStart), running (the endpoint sees the close), from onRequestStart; each ends once and frees its place', async () => {
  let closedByPeer = 0;
  const address = await listen(createServer((req) => req.socket.once('close', () => closedByPeer++)));
  const p = pool(address, 1);
  const running = send(p, { path: '/a' });
  const waiting = send(p, { path: '/b' });
  await sleep(50);
  assert.equal({ running: p.stats.running, pending: p.stats.pending }, { running: 1, pending: 1 });
  const reason = new Error('client left');
  waiting.controller.abort(reason);
  const w = await waiting;
  assert.is(w.error, reason);
  assert.not.ok(w.started);
  running.controller.abort(reason);
  assert.is((await running).error, reason);
  const early = await send(p, { path: '/c' }, { onStart: (c) => c.abort(reason) });
  assert.is(early.error, reason);
  await sleep(50);
  assert.ok(closedByPeer >= 1);
  idle(p);
  running.controller.abort(new Error('again'));
  assert.is((await running).error, reason, 'a later abort changes nothing');
});

t('close() lets the running requests finish and takes no more; destroy() ends everything with POOL_CLOSED', async () => {
  const address = await listen(createServer((_req, res) => setTimeout(() => res.end('done'), 100)));
  const p = pool(address, 1);
  const a = send(p), b = send(p);
  const closed = p.close();
  const late = await send(p);
  assert.is((late.error as UpstreamError).code, 'POOL_CLOSED');
  assert.equal([(await a).body, (await b).body], ['done', 'done']);
  await closed;
  assert.is(p.stats.connected, 0);
  const q = pool(address, 1);
  const c = send(q), d = send(q);
  await sleep(20);
  q.destroy();
  assert.equal([((await c).error as UpstreamError).code, ((await d).error as UpstreamError).code], ['POOL_CLOSED', 'POOL_CLOSED']);
  idle(q);
});

t('the endpoint\'s Keep-Alive timeout is kept: a connection idle past it less a second is not reused', async () => {
  let connections = 0;
  const address = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 2\r\n\r\nok'));
  servers.at(-1)!.on('connection', () => connections++);
  const p = pool(address, 1);
  await send(p);
  await sleep(5);
  await send(p);
  assert.is(connections, 2);
});

t.run();
