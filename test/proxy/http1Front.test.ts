import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { request } from 'undici';
import { kIncomplete, kUnusual, RequestHeadReader, type Http1Request } from '../../src/proxy/http1/RequestHead.js';
import { Http1Response } from '../../src/proxy/http1/Http1Response.js';
import { SidecarHarness, sleep } from '../support/sidecar.js';

// The sidecar's own reader of requests of the common shape (Http1Front): what it accepts it must
// read as node:http does, everything else must reach node:http unchanged, and the connection's
// life (pipelining, hand-off, keep-alive, close) must be node:http's.
const t = suite("sidecar's own HTTP/1.1 request reader");

const reader = new RequestHeadReader(16_384);
const read = (text: string | Buffer) => reader.read(Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1'), undefined as unknown as Socket);
const kCommon = 'GET /v1/models?x=1 HTTP/1.1\r\nHost: a:8080\r\nX-Session-Id:  s1 \r\naccept: */*\r\nConnection: keep-alive\r\n\r\n';

t('a request of the common shape is read whole: method, target, headers as node:http names them, the raw list, where the head ends', () => {
  const bytes = Buffer.from(`${kCommon}GET /next`, 'latin1');
  const r = read(bytes) as Http1Request;
  assert.is(r.method, 'GET');
  assert.is(r.url, '/v1/models?x=1');
  assert.equal({ ...r.headers }, { host: 'a:8080', 'x-session-id': 's1', accept: '*/*', connection: 'keep-alive' });
  assert.equal(r.rawHeaders, ['Host', 'a:8080', 'X-Session-Id', 's1', 'accept', '*/*', 'Connection', 'keep-alive']);
  assert.is(r.close, false);
  assert.is(reader.end, kCommon.length);
  assert.is((read('DELETE / HTTP/1.1\r\nhost: a\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n') as Http1Request).close, true);
});

t('a content-length body within the reader\'s limit is the request\'s; one over it, or a length not in plain decimal, is node:http\'s', () => {
  const withBodies = new RequestHeadReader(16_384, 100);
  const post = (length: string, body = '') => withBodies.read(Buffer.from(`POST /v1 HTTP/1.1\r\nhost: a\r\ncontent-length: ${length}\r\n\r\n${body}`, 'latin1'), undefined as unknown as Socket);
  const r = post('5', 'hello') as Http1Request;
  assert.is(r.bodyLength, 5);
  assert.is(withBodies.end, 'POST /v1 HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\n'.length, 'the head ends where the body starts');
  assert.is((post('100') as Http1Request).bodyLength, 100, 'the body may come in later reads');
  for (const bad of ['101', '05', '+5', '5, 5', '-1', '0x10', '99999999999999999999']) assert.is(post(bad), kUnusual, bad);
});

t('every cut of a head before its blank line is incomplete (the connection goes to node:http with the bytes)', () => {
  for (let n = 0; n < kCommon.length; n++) assert.is(read(kCommon.slice(0, n)), kIncomplete, `cut at ${n}: ${JSON.stringify(kCommon.slice(0, n))}`);
});

t('anything outside the common shape is left to node:http, however it is cut', () => {
  const cases: Record<string, string> = {
    'HTTP/1.0': 'GET / HTTP/1.0\r\nhost: a\r\n\r\n',
    'absolute-form': 'GET http://evil/ HTTP/1.1\r\nhost: a\r\n\r\n',
    'CONNECT': 'CONNECT evil:443 HTTP/1.1\r\nhost: evil:443\r\n\r\n',
    'unknown method': 'TRACE / HTTP/1.1\r\nhost: a\r\n\r\n',
    'lower-case method': 'get / HTTP/1.1\r\nhost: a\r\n\r\n',
    'a body': 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\nhello',
    'content-length 00': 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 00\r\n\r\n',
    'chunked': 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
    'expect': 'GET / HTTP/1.1\r\nhost: a\r\nexpect: 100-continue\r\n\r\n',
    'upgrade': 'GET / HTTP/1.1\r\nhost: a\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n',
    'connection naming a header': 'GET / HTTP/1.1\r\nhost: a\r\nconnection: x-secret\r\n\r\n',
    'two Host': 'GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n',
    'a name twice': 'GET / HTTP/1.1\r\nhost: a\r\ncookie: a=1\r\nCookie: b=2\r\n\r\n',
    'no Host': 'GET / HTTP/1.1\r\naccept: */*\r\n\r\n',
    'obs-fold': 'GET / HTTP/1.1\r\nhost: a\r\nx-a: 1\r\n 2\r\n\r\n',
    'bare LF': 'GET / HTTP/1.1\nhost: a\n\n',
    'bare LF in a field': 'GET / HTTP/1.1\r\nhost: a\nx: 1\r\n\r\n',
    'blank before the colon': 'GET / HTTP/1.1\r\nhost : a\r\n\r\n',
    'a control in a value': 'GET / HTTP/1.1\r\nhost: a\r\nx: a\x01b\r\n\r\n',
    'a blank in the target': 'GET /a b HTTP/1.1\r\nhost: a\r\n\r\n',
    'non-ASCII in the target': 'GET /\xe9 HTTP/1.1\r\nhost: a\r\n\r\n',
    'two blanks after the method': 'GET  / HTTP/1.1\r\nhost: a\r\n\r\n',
    'too many fields': `GET / HTTP/1.1\r\nhost: a\r\n${Array.from({ length: 64 }, (_, i) => `x-${i}: v\r\n`).join('')}\r\n`,
    'a head over maxHeaderBytes': `GET / HTTP/1.1\r\nhost: a\r\nx: ${'v'.repeat(16_384)}\r\n\r\n`,
    'a target over maxHeaderBytes': `GET /${'a'.repeat(20_000)}`,
  };
  for (const [what, text] of Object.entries(cases)) {
    const whole = read(text);
    assert.ok(whole === kUnusual || whole === kIncomplete, `${what}: read as a request`);
    // A cut only ever says incomplete or unusual, never a request.
    for (let n = 1; n < text.length; n += Math.max(1, text.length >> 5)) assert.type(read(text.slice(0, n)), 'number', `${what} cut at ${n}`);
  }
  // Those whose bytes are all there are unusual, not incomplete: node:http gets them now.
  for (const what of ['HTTP/1.0', 'a body', 'two Host', 'no Host', 'obs-fold', 'bare LF in a field', 'too many fields', 'a head over maxHeaderBytes', 'a target over maxHeaderBytes']) assert.is(read(cases[what]!), kUnusual, what);
});

// A response on a socket that records its writes.
function recorded(request: string) {
  const writes: string[] = [];
  const ends: boolean[] = [];
  const socket = { destroyed: false, writableLength: 0, writableHighWaterMark: 16_384, write: (b: Buffer | string) => (writes.push(Buffer.isBuffer(b) ? b.toString('latin1') : b), true), cork() {}, uncork() {}, once() {}, destroy() {} };
  const owner = { socket: socket as unknown as Socket, closing: false, keepAliveSeconds: 5, finished: (_r: Http1Response, close: boolean) => ends.push(close) };
  return { response: new Http1Response(owner, read(request) as Http1Request), writes, ends };
}

t('an answer is framed as node:http frames it, in as few writes as it can; a header that would split the head is refused and changes nothing', () => {
  const get = 'GET / HTTP/1.1\r\nhost: a\r\n\r\n';
  const small = recorded(get);
  assert.throws(() => small.response.writeHead(200, ['x-a', 'ok', 'x-b', 'v\r\nx-evil: 1']), (e: NodeJS.ErrnoException) => e.code === 'ERR_INVALID_CHAR');
  assert.throws(() => small.response.writeHead(200, { 'bad name': 'v' }), (e: NodeJS.ErrnoException) => e.code === 'ERR_INVALID_HTTP_TOKEN');
  assert.is(small.response.headersSent, false);
  small.response.writeHead(201, ['x-a', 'ok']);
  small.response.end('hi');
  assert.is(small.writes.length, 1, 'head and body in one write');
  // As node:http writes it (its own fields spelled its way).
  assert.match(small.writes[0]!, /^HTTP\/1\.1 201 Created\r\nx-a: ok\r\nDate: [^\r]+ GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n$/);
  assert.equal(small.ends, [false]);
  const stream = recorded(get);
  stream.response.writeHead(200, { 'content-type': 'text/event-stream' });
  stream.response.write(Buffer.from('ab'));
  stream.response.write(Buffer.from('cdefghijklmnopqrstu'));
  stream.response.end();
  assert.match(stream.writes[0]!, /Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n$/);
  assert.equal(stream.writes.slice(1), ['13\r\ncdefghijklmnopqrstu\r\n', '0\r\n\r\n']);
  const head = recorded('HEAD / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
  head.response.writeHead(200, ['content-length', '10']);
  head.response.write(Buffer.from('0123456789'));
  head.response.end();
  assert.is(head.writes.join('').split('\r\n\r\n')[1], '', 'no body for HEAD');
  assert.match(head.writes[0]!, /Connection: close\r\n/);
  assert.equal(head.ends, [true], 'the connection closes after it');
  const none = recorded(get);
  none.response.writeHead(204, []);
  none.response.end();
  assert.not.match(none.writes[0]!, /transfer-encoding|content-length/);
});

// The same calls on node:http's ServerResponse, and the bytes it puts on the wire (the request asks
// for the connection to close, so the answer ends at the close).
async function nodeAnswers(request: string, script: (res: { writeHead: Function; write: Function; end: Function; flushHeaders: Function }) => void): Promise<string> {
  const server = createServer((_req, res) => script(res as never));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const text = await new Promise<string>((resolve) => {
    let got = '';
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (d) => (got += d.toString('latin1'))).on('close', () => resolve(got));
  });
  server.close();
  return text;
}

t('the answer\'s bytes are node:http\'s for the same calls (status line, its own fields and their spelling, framing), Date aside', async () => {
  const scripts: [string, (res: { writeHead: Function; write: Function; end: Function; flushHeaders: Function }) => void][] = [
    ['GET', (res) => (res.writeHead(201, ['x-a', 'ok']), res.end('hi'))],
    ['GET', (res) => (res.writeHead(200, { 'content-type': 'text/event-stream' }), res.write(Buffer.from('ab')), res.write(Buffer.from('cdefghijklmnopqrstu')), res.end())],
    ['GET', (res) => (res.writeHead(200, ['content-length', '5']), res.write(Buffer.from('hello')), res.end())],
    ['GET', (res) => (res.writeHead(204, []), res.end())],
    ['GET', (res) => (res.writeHead(304, ['etag', '"v"']), res.end())],
    ['GET', (res) => (res.writeHead(503, { 'content-type': 'application/json', 'content-length': 2, 'retry-after': '1' }), res.end('{}'))],
    ['GET', (res) => (res.writeHead(200, ['x-b', 'v']), res.flushHeaders(), res.write(Buffer.from('late')), res.end())],
    ['HEAD', (res) => (res.writeHead(200, ['content-length', '10']), res.end())],
  ];
  const undate = (text: string) => text.replace(/\r\nDate: [^\r]+/, '\r\nDate: -');
  for (const [method, script] of scripts) {
    const request = `${method} / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n`;
    const ours = recorded(request);
    script(ours.response as never);
    assert.is(undate(ours.writes.join('')), undate(await nodeAnswers(request, script)), `${method} ${script.toString()}`);
  }
});

// node:http's own reading of the same bytes: the oracle for what the reader accepts.
async function nodeReads(heads: string[]): Promise<{ method: string; url: string; headers: Record<string, unknown>; raw: string[] }[]> {
  const seen: { method: string; url: string; headers: Record<string, unknown>; raw: string[] }[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: { ...req.headers }, raw: req.rawHeaders });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  let answers = 0;
  socket.on('data', (d) => (answers += (d.toString('latin1').match(/HTTP\/1\.1 200/g) ?? []).length));
  socket.write(Buffer.from(heads.join(''), 'latin1'));
  for (let i = 0; i < 500 && answers < heads.length; i++) await sleep(10);
  socket.destroy();
  server.close();
  return seen;
}

t('what the reader accepts, node:http reads the same way (random heads, node:http as the oracle)', async () => {
  const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,15}$/).filter((n) => !['host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'keep-alive', 'te', 'trailer', 'proxy-connection', 'http2-settings'].includes(n.toLowerCase()));
  const value = fc.stringMatching(/^[ \t]{0,2}([!-~\x80-\xff]([ \t!-~\x80-\xff]{0,20}[!-~\x80-\xff])?)?[ \t]{0,2}$/);
  const head = fc.record({
    method: fc.constantFrom('GET', 'HEAD', 'DELETE', 'OPTIONS', 'POST', 'PUT', 'PATCH'),
    target: fc.stringMatching(/^\/[!-~]{0,30}$/),
    fields: fc.uniqueArray(fc.tuple(name, value), { maxLength: 12, selector: ([n]) => n.toLowerCase() }),
    connection: fc.constantFrom(undefined, 'keep-alive', 'Keep-Alive'),
  });
  const samples = fc.sample(head, { numRuns: 120, seed: 7 });
  const texts = samples.map((s) => `${s.method} ${s.target} HTTP/1.1\r\nHost: h\r\n${s.fields.map(([n, v]) => `${n}:${v}\r\n`).join('')}${s.connection ? `Connection: ${s.connection}\r\n` : ''}${s.method === 'POST' ? 'Content-Length: 0\r\n' : ''}\r\n`);
  const oracle = await nodeReads(texts);
  assert.is(oracle.length, texts.length, 'node:http answered every head');
  for (const [i, text] of texts.entries()) {
    const ours = read(text);
    assert.type(ours, 'object', `read as a request: ${JSON.stringify(text)}`);
    const r = ours as Http1Request;
    assert.equal({ method: r.method, url: r.url, headers: { ...r.headers }, raw: r.rawHeaders }, oracle[i], JSON.stringify(text));
  }
});

// A backend whose answers cover the framings a response can have.
type Seen = { method: string; url: string; headers: Record<string, unknown>; body: string };
function backend(): Promise<{ server: Server; address: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const entry: Seen = { method: req.method!, url: req.url!, headers: { ...req.headers }, body: '' };
    seen.push(entry);
    req.on('data', (d: Buffer) => (entry.body += d.toString('latin1')));
    // Answered once the body is read whole.
    req.on('end', () => answer(req, res));
  });
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url!.split('?')[0];
    if (path === '/204') return void res.writeHead(204, { 'x-kind': 'none' }).end();
    if (path === '/304') return void res.writeHead(304, { etag: '"v1"' }).end();
    if (path === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`data: ${n}\n\n`);
        if (++n === 3) {
          clearInterval(timer);
          res.end();
        }
      }, 5);
      return;
    }
    if (path === '/slow') {
      res.writeHead(200, { 'content-length': '4' });
      res.write('sl');
      setTimeout(() => res.end('ow'), 300);
      return;
    }
    const body = JSON.stringify({ url: req.url, n: seen.length });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen })));
}

// A sidecar (`fastPath` or not) in front of one backend(), for `body`; both stopped after it.
async function withSidecar(fastPath: boolean, body: (h: SidecarHarness, b: Awaited<ReturnType<typeof backend>>) => Promise<void>): Promise<void> {
  const h = new SidecarHarness({ fastPath });
  h.setUp();
  const b = await backend();
  try {
    await h.start(config(b.address));
    await body(h, b);
  } finally {
    await h.tearDown();
    b.server.close();
  }
}

const config = (address: string) => ({ services: [{ name: 'b', policy: 'swrr', endpoints: [{ id: 'e0', address, resources: { accelerator: 'L4', count: 1 } }] }] });

// Reads from a socket until `done` says the text is whole, or the socket closes.
function exchange(port: number, parts: string[], done: (text: string) => boolean, gapMs = 0): Promise<{ text: string; closed: boolean; socket: Socket }> {
  return new Promise((resolve) => {
    let text = '', closed = false, settled = false;
    const socket = connect(port, '127.0.0.1', async () => {
      for (const [i, part] of parts.entries()) {
        if (i && gapMs) await sleep(gapMs);
        socket.write(part);
      }
    });
    const finish = () => {
      if (!settled) (settled = true), resolve({ text, closed, socket });
    };
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (done(text)) finish();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
  });
}
const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;
// Requests read by each reader, from the sidecar's metrics.
async function readBy(h: SidecarHarness): Promise<{ own: number; node: number }> {
  const text = await h.metrics();
  const n = (reader: string) => Number(new RegExp(`wasmesh_requests_read_total\\{reader="${reader}"\\} (\\d+)`).exec(text)?.[1]);
  return { own: n('own'), node: n('node') };
}

for (const fastPath of [true, false]) {
  const how = fastPath ? 'own reader' : "node:http's reader";

  t(`(${how}) the same answers as node:http gives: framing kept or chunked, no body for HEAD, 204 and 304, the same headers reach the endpoint`, () =>
    withSidecar(fastPath, async (h, b) => {
      const get = async (path: string, method = 'GET', headers: Record<string, string> = {}) => {
        const r = await request(h.url(path), { method: method as 'GET', headers: { 'x-session-id': 'k', ...headers } });
        return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
      };
      const json = await get('/json?q=1');
      assert.is(json.status, 200);
      assert.is(json.headers['content-length'], String(Buffer.byteLength(json.text)));
      assert.is(JSON.parse(json.text).url, '/json?q=1');
      assert.is(json.headers['x-wasmesh-endpoint'], 'e0');
      assert.is(json.headers.connection, 'keep-alive');
      assert.is(json.headers['keep-alive'], 'timeout=5');
      assert.ok(json.headers.date, 'a date');
      const chunked = await get('/chunked');
      assert.is(chunked.text, 'data: 0\n\ndata: 1\n\ndata: 2\n\n');
      assert.is(chunked.headers['transfer-encoding'], 'chunked');
      const head = await get('/json?q=1', 'HEAD');
      assert.is(head.text, '');
      assert.is(head.headers['content-length'], json.headers['content-length']);
      const none = await get('/204');
      assert.equal([none.status, none.text, none.headers['x-kind'], none.headers['transfer-encoding']], [204, '', 'none', undefined]);
      const notModified = await get('/304', 'GET', { 'if-none-match': '"v1"' });
      assert.equal([notModified.status, notModified.text, notModified.headers.etag], [304, '', '"v1"']);
      // What the endpoint saw: hop-by-hop fields gone, x-forwarded-* added.
      const forwarded = b.seen.at(-1)!.headers;
      assert.is(forwarded['if-none-match'], '"v1"');
      assert.is(forwarded['x-forwarded-for'], '127.0.0.1');
      assert.is(forwarded['x-forwarded-proto'], 'http');
      assert.is(forwarded['x-session-id'], 'k');
      assert.is(forwarded.connection, undefined, 'hop-by-hop: not forwarded (the pool keeps its connection alive by HTTP/1.1 default)');
      assert.equal(await readBy(h), fastPath ? { own: 5, node: 0 } : { own: 0, node: 5 });
    }));

  t(`(${how}) pipelined requests are answered in order on one connection, a body among them; a chunked one hands the connection to node:http and is answered in its turn`, () =>
    withSidecar(fastPath, async (h, b) => {
      const port = h.sidecar!.address.port;
      const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
      const post = 'POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello';
      const chunked = 'POST /chunked-post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
      const r = await exchange(port, [get('/1') + get('/slow') + post + get('/2') + chunked + get('/3', 'Connection: close\r\n')], () => false);
      assert.ok(r.closed, 'closed after the request that asked for it');
      assert.is(count(r.text, /HTTP\/1\.1 200/g), 6);
      const urls = [...r.text.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
      assert.equal(urls, ['/1', '/post', '/2', '/chunked-post', '/3'], r.text);
      assert.ok(r.text.indexOf('slow') > r.text.indexOf('"/1"') && r.text.indexOf('slow') < r.text.indexOf('"/post"'), 'the slow answer in its turn');
      assert.equal(b.seen.find((s) => s.url === '/post')!.body, 'hello');
      assert.equal(b.seen.find((s) => s.url === '/chunked-post')!.body, 'hello');
      // node:http reads a pipelined request while the one before is being answered: the endpoint may see them out of order.
      assert.equal(b.seen.map((s) => s.url).sort(), ['/1', '/2', '/3', '/chunked-post', '/post', '/slow']);
      // From the chunked POST on, the connection is node:http's.
      assert.equal(await readBy(h), fastPath ? { own: 4, node: 2 } : { own: 0, node: 6 });
    }));

  t(`(${how}) a head that arrives in pieces, and one of each unusual kind, get node:http's answers`, () =>
    withSidecar(fastPath, async (h, b) => {
      const port = h.sidecar!.address.port;
      const pieces = await exchange(port, ['GET /pie', 'ces HTTP/1.1\r\nHo', 'st: x\r\n\r\n'], (text) => text.includes('"n":'), 30);
      assert.match(pieces.text, /^HTTP\/1\.1 200 OK/);
      assert.match(pieces.text, /"url":"\/pieces"/);
      pieces.socket.destroy();
      const bad = await exchange(port, ['GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n'], () => false);
      assert.match(bad.text, /^HTTP\/1\.1 400 /);
      const absolute = await exchange(port, ['GET http://evil/ HTTP/1.1\r\nHost: evil\r\n\r\n'], () => false);
      assert.match(absolute.text, /"reason":"not-origin-form"/);
      const huge = await exchange(port, [`GET / HTTP/1.1\r\nHost: x\r\nX: ${'v'.repeat(20_000)}\r\n\r\n`], () => false);
      assert.match(huge.text, /^HTTP\/1\.1 431 /);
      assert.ok(b.seen.every((s) => s.url === '/pieces'), 'none of the bad ones reached the endpoint');
      assert.is((await readBy(h)).own, 0);
    }));

  t(`(${how}) a client that leaves mid-answer releases everything; close() ends idle connections and lets a busy one finish with connection: close`, () =>
    withSidecar(fastPath, async (h, b) => {
      const port = h.sidecar!.address.port;
      const proxy = h.sidecar!.proxy;
      const left = await exchange(port, ['GET /slow HTTP/1.1\r\nHost: x\r\n\r\n'], (text) => text.endsWith('sl'));
      left.socket.destroy();
      for (let i = 0; i < 100 && proxy.inflight > 0; i++) await sleep(10);
      assert.is(proxy.inflight, 0);
      assert.is(Object.values(proxy.upstreams()).reduce((n, u) => n + u.active, 0), 0);
      const endpoints = await h.health('b');
      assert.is(endpoints[0]!.load, 0, 'the mesh in-flight count is released');
      const idle = await exchange(port, ['GET /1 HTTP/1.1\r\nHost: x\r\n\r\n'], (text) => text.includes('"n":'));
      const busy = await exchange(port, ['GET /slow HTTP/1.1\r\nHost: x\r\n\r\n'], (text) => text.endsWith('sl'));
      const busyClosed = new Promise<string>((resolve) => {
        let rest = busy.text;
        busy.socket.on('data', (d) => (rest += d.toString('latin1'))).on('close', () => resolve(rest));
      });
      const idleClosed = new Promise<void>((resolve) => (idle.socket.destroyed ? resolve() : idle.socket.on('close', () => resolve())));
      const closing = h.sidecar!.close();
      await idleClosed;
      const text = await busyClosed;
      assert.ok(text.endsWith('slow'), text);
      await closing;
      h.sidecar = undefined;
    }));
}

t('a body that comes after its head is waited for; one still incomplete a second or two later goes to node:http, which reads the rest', () =>
  withSidecar(true, async (h, b) => {
    const port = h.sidecar!.address.port;
    const head = (path: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n`;
    const soon = await exchange(port, [head('/soon'), 'hello', 'world'], (text) => text.includes('"n":'), 50);
    assert.match(soon.text, /^HTTP\/1\.1 200 /);
    soon.socket.destroy();
    assert.equal(await readBy(h), { own: 1, node: 0 });
    const slow = await exchange(port, [head('/late') + 'hello', 'world'], (text) => text.includes('"n":'), 2500);
    assert.match(slow.text, /^HTTP\/1\.1 200 /);
    slow.socket.destroy();
    assert.equal(await readBy(h), { own: 1, node: 1 });
    assert.equal(b.seen.map((s) => [s.url, s.headers['content-length'], s.body]), [['/soon', '10', 'helloworld'], ['/late', '10', 'helloworld']]);
  }));

t("the reader reads a body whole up to bufferBodyBytes as the config says now: a reload that lowers it sends larger bodies to node:http", () =>
  withSidecar(true, async (h, b) => {
    const post = () => h.send('POST', '/x', 'helloworld');
    assert.is((await post()).status, 200);
    assert.equal(await readBy(h), { own: 1, node: 0 });
    h.writeConfig({ ...config(b.address), proxy: { limits: { bufferBodyBytes: 4 } } });
    for (let i = 0; i < 50 && h.sidecar!.proxy.settings.limits.bufferBodyBytes !== 4; i++) await sleep(100);
    assert.is(h.sidecar!.proxy.settings.limits.bufferBodyBytes, 4, 'reloaded');
    assert.is((await post()).status, 200);
    assert.equal(await readBy(h), { own: 1, node: 1 });
    assert.equal(b.seen.map((s) => s.body), ['helloworld', 'helloworld']);
  }));

t('an idle keep-alive connection is closed after the Keep-Alive timeout it was told (5 s), as node:http does', () =>
  withSidecar(true, async (h, b) => {
    const started = performance.now();
    const r = await exchange(h.sidecar!.address.port, ['GET /1 HTTP/1.1\r\nHost: x\r\n\r\n'], () => false);
    const ms = performance.now() - started;
    assert.match(r.text, /keep-alive: timeout=5/i);
    assert.ok(ms >= 5000 && ms < 8000, `closed after ${ms.toFixed(0)} ms`);
  }));

t.run();
