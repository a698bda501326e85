// The upstream response parser: RFC 9112's framing rules, checked on responses built here from
// the grammar (never from the parser's own output), fed whole and split at every byte or at
// random points; the malformed cases are those RFC 9112 11.2 names as smuggling vectors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ResponseParser, type ResponseHeaders } from '../../src/proxy/http1/ResponseParser.js';
import { UpstreamError } from '../../src/proxy/http1/UpstreamError.js';
import { endToEnd, headerOf } from '../../src/proxy/requests.js';

interface Parsed {
  heads: { status: number; headers: ResponseHeaders; text: string }[];
  body: Buffer;
  ended: boolean;
  trailers: ResponseHeaders | undefined;
  used: number;
  keepAlive: boolean;
}

/** Feeds `raw` in the pieces `cuts` makes; the response to a HEAD request when `head`. */
function parse(raw: Buffer, cuts: number[] = [], head = false): Parsed {
  const out: Parsed = { heads: [], body: Buffer.alloc(0), ended: false, trailers: undefined, used: 0, keepAlive: false };
  const chunks: Buffer[] = [];
  const parser = new ResponseParser({
    onHead: (status, headers, text) => out.heads.push({ status, headers, text }),
    onBody: (chunk) => chunks.push(Buffer.from(chunk)),
    onEnd: (trailers) => {
      assert.not.ok(out.ended, 'one end');
      out.ended = true;
      out.trailers = trailers;
    },
  });
  parser.start(head);
  let from = 0;
  for (const at of [...new Set(cuts)].filter((c) => c > 0 && c < raw.length).sort((a, b) => a - b).concat(raw.length)) {
    const piece = raw.subarray(from, at);
    const used = parser.execute(piece);
    out.used += used;
    from = at;
    if (parser.done) break;
  }
  out.body = Buffer.concat(chunks);
  out.keepAlive = parser.keepAlive;
  return out;
}

const bytes = (s: string) => Buffer.from(s, 'latin1');
const throwsBad = (raw: string, why: RegExp) => {
  try {
    parse(bytes(raw));
  } catch (error) {
    assert.instance(error, UpstreamError);
    assert.is((error as UpstreamError).code, 'BAD_RESPONSE');
    assert.match((error as Error).message, why);
    return;
  }
  assert.unreachable(`accepted: ${JSON.stringify(raw)}`);
};

test('content-length: the body, split at every byte, is the same; the head lists headers in order, names lower-cased', () => {
  const raw = bytes('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 11\r\n\r\nhello world');
  for (let cut = 0; cut <= raw.length; cut++) {
    const r = parse(raw, [cut]);
    assert.equal(r.heads, [{ status: 200, text: 'OK', headers: ['content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'content-length', '11'] }]);
    assert.is(r.body.toString(), 'hello world', `cut at ${cut}`);
    assert.ok(r.ended);
    assert.ok(r.keepAlive);
    assert.is(r.used, raw.length);
  }
});

test('chunked (RFC 9112 7.1): extensions ignored, trailers reported, split anywhere', () => {
  const raw = bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n');
  for (let a = 0; a <= raw.length; a += 3) {
    for (let b = a; b <= raw.length; b += 7) {
      const r = parse(raw, [a, b]);
      assert.is(r.body.toString(), 'Wikipedia in\r\n\r\nchunks.', `cuts ${a} ${b}`);
      assert.equal(r.trailers, ['expires', 'never']);
      assert.is(r.used, raw.length);
    }
  }
});

test('chunk sizes in either case, blanks and quoted extensions before the CRLF', () => {
  const raw = bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA \t;ext="a;b" ; x\r\n0123456789\r\na\r\nabcdefghij\r\n0;last\r\n\r\n');
  for (let cut = 0; cut <= raw.length; cut++) {
    const r = parse(raw, [cut]);
    assert.is(r.body.toString(), '0123456789abcdefghij', `cut at ${cut}`);
    assert.is(r.used, raw.length);
  }
});

test('no body: HEAD, 204, 304, content-length 0; informational heads come before the final one', () => {
  assert.is(parse(bytes('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'), [], true).ended, true);
  for (const status of ['204 No Content', '304 Not Modified']) {
    const r = parse(bytes(`HTTP/1.1 ${status}\r\nContent-Length: 5\r\n\r\n`));
    assert.ok(r.ended && r.body.length === 0, status);
  }
  const r = parse(bytes('HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  assert.equal(r.heads.map((h) => h.status), [103, 200]);
  assert.is(r.body.toString(), 'ok');
});

test('connection reuse: close, HTTP/1.0 and a body that runs to the close end it; a keep-alive timeout is read', () => {
  assert.not.ok(parse(bytes('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')).keepAlive);
  assert.not.ok(parse(bytes('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')).keepAlive);
  assert.ok(parse(bytes('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')).keepAlive);
  assert.not.ok(parse(bytes('HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')).keepAlive, 'a close anywhere closes');
  assert.not.ok(parse(bytes('HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n')).keepAlive);
  const parser = new ResponseParser({ onHead() {}, onBody() {}, onEnd() {} });
  parser.start(false);
  parser.execute(bytes('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\n\r\nsome'));
  assert.ok(parser.untilClose);
  assert.not.ok(parser.keepAlive);
  assert.is(parser.keepAliveHintMs, 5000);
  parser.closed();
  assert.ok(parser.done);
});

test('what the client gets of a parsed head: hop-by-hop headers and those Connection names dropped, repeats kept in order', () => {
  const r = parse(bytes('HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nContent-Type: text/event-stream\r\nSet-Cookie: b=2\r\n\r\n0\r\n\r\n'));
  const headers = r.heads[0]!.headers;
  assert.equal(endToEnd(headers), ['set-cookie', 'a=1', 'content-type', 'text/event-stream', 'set-cookie', 'b=2']);
  assert.is(headerOf(headers, 'set-cookie'), 'a=1, b=2');
  assert.is(headerOf(headers, 'content-type'), 'text/event-stream');
  assert.is(headerOf(headers, 'x-absent'), undefined);
});

test('bytes after the end are not this response\'s: the parser says how many it used', () => {
  const r = parse(bytes('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n'));
  assert.is(r.body.toString(), 'ok');
  assert.is(r.used, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'.length);
});

test('malformed framing is refused (RFC 9112 11.2): CL with TE, differing lengths, other codings, bare LF, obs-fold, bad chunks, 101', () => {
  throwsBad('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', /both transfer-encoding and content-length/);
  throwsBad('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', /invalid content-length/);
  throwsBad('HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n', /invalid content-length/);
  throwsBad('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /invalid content-length/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', /unsupported transfer-encoding/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', /unsupported transfer-encoding/);
  throwsBad('HTTP/1.1 200 OK\r\nX: a\nContent-Length: 0\r\n\r\n', /bare CR, LF or NUL|malformed header/);
  throwsBad('HTTP/1.1 200 OK\r\nX: a\r\n  folded\r\nContent-Length: 0\r\n\r\n', /malformed header/);
  throwsBad('HTTP/1.1 200 OK\r\nBad Name: a\r\n\r\n', /malformed header line/);
  throwsBad('HTTP/2 200 OK\r\n\r\n', /malformed status line/);
  throwsBad('HTTP/1.1 2000 OK\r\n\r\n', /malformed status line/);
  throwsBad('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', /101/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /malformed chunk size/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n', /chunk data longer than its size/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n', /not ended by CRLF/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\n0\r\n\r\n', /chunk not ended by CRLF/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n', /longer than 15 hex digits/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 x\r\nab\r\n0\r\n\r\n', /after the digits/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=\nb\r\nab\r\n0\r\n\r\n', /bare LF/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n', /where a hex digit belongs/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: x\r\n\r\n', /malformed trailer line/);
  throwsBad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\n\r\n', /trailer section not ended by CRLF/);
  throwsBad(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70_000)}`, /longer than 65536 bytes/);
});

// A response built from the grammar: a status, headers, a body framed by length, by chunks (of
// the given sizes) or by the close.
const response = fc.record({
  status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
  headers: fc.array(fc.tuple(fc.constantFrom('X-A', 'x-b', 'Cache-Control', 'Set-Cookie'), fc.stringMatching(/^[!-~]([ !-~]{0,10}[!-~])?$/)), { maxLength: 6 }),
  body: fc.uint8Array({ maxLength: 300 }),
  framing: fc.constantFrom('length', 'chunked', 'close'),
  chunkSizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
  cuts: fc.array(fc.nat({ max: 800 }), { maxLength: 8 }),
});

test('any response, fed in any pieces: the same headers, the same body, one end, every byte used', () => {
  fc.assert(
    fc.property(response, ({ status, headers, body, framing, chunkSizes, cuts }) => {
      const data = Buffer.from(body);
      let head = `HTTP/1.1 ${status} Whatever\r\n`;
      for (const [n, v] of headers) head += `${n}: ${v}\r\n`;
      let rest: Buffer;
      if (framing === 'length') {
        head += `Content-Length: ${data.length}\r\n`;
        rest = data;
      } else if (framing === 'chunked') {
        head += 'Transfer-Encoding: chunked\r\n';
        const parts: Buffer[] = [];
        for (let at = 0, i = 0; at < data.length; i++) {
          const size = Math.min(chunkSizes[i % chunkSizes.length]!, data.length - at);
          parts.push(bytes(`${size.toString(16)}\r\n`), data.subarray(at, at + size), bytes('\r\n'));
          at += size;
        }
        parts.push(bytes('0\r\n\r\n'));
        rest = Buffer.concat(parts);
      } else rest = data;
      const raw = Buffer.concat([bytes(`${head}\r\n`), rest]);
      const parser = new ResponseParser({
        onHead: (s, h) => {
          assert.is(s, status);
          const expected = headers.flatMap(([n, v]) => [n.toLowerCase(), v]);
          assert.equal(h.slice(0, expected.length), expected);
        },
        onBody: (chunk) => got.push(Buffer.from(chunk)),
        onEnd: () => ends++,
      });
      const got: Buffer[] = [];
      let ends = 0, used = 0, from = 0;
      parser.start(false);
      for (const at of [...new Set(cuts)].filter((c) => c > 0 && c < raw.length).sort((a, b) => a - b).concat(raw.length)) {
        used += parser.execute(raw.subarray(from, at));
        from = at;
      }
      if (framing === 'close') {
        assert.ok(parser.untilClose || data.length === 0);
        parser.closed();
      }
      assert.is(ends, 1);
      assert.is(used, raw.length);
      assert.ok(Buffer.concat(got).equals(data));
      assert.is(parser.keepAlive, framing !== 'close');
    }),
    { numRuns: 400 },
  );
});

test.run();
