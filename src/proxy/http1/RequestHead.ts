// The heads of the requests the sidecar reads itself (Http1Connection): the common shape only,
// checked strictly. A request of that shape is read here in one pass over its bytes; anything
// else is "unusual" and its connection goes to node:http, whose parser answers it as before (a
// 400 or 431 for a malformed one, a body read, an upgrade refused). So this reader never has to
// judge a malformed request: it only has to be sure that what it accepts is well-formed and
// means to it what it means to node:http and to the endpoint.
//
// The common shape: HTTP/1.1, a method of those below, an origin-form target of visible ASCII,
// one Host, no body or one framed by a content-length within the reader's body limit (no
// transfer-encoding), no expect or upgrade, a Connection of keep-alive or close only, no name
// twice, at most kMaxFields fields, the whole head within the proxy's maxHeaderBytes and within
// the bytes read so far. (The body may come in later reads: Http1Connection waits for it.)
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { isDigits } from './chars.js';
import { FieldSpans, kMalformed, kPartial, latin1, scanFields } from './fields.js';

/** A request of the common shape, as Exchange reads requests (the subset of node:http's IncomingMessage it uses). */
export class Http1Request {
  /** Always: a request is served once its body (if any) is read whole. */
  readonly complete = true;
  /** The body, read whole (undefined when content-length is absent or 0). */
  body: Buffer | undefined;
  readonly httpVersion = '1.1';
  constructor(
    readonly method: string,
    readonly url: string,
    /** Names in lower case; no name appears twice. */
    readonly headers: IncomingHttpHeaders,
    /** As sent: [name, value, ...], values without surrounding blanks. */
    readonly rawHeaders: string[],
    readonly socket: Socket,
    /** The request asked for the connection to close after the answer. */
    readonly close: boolean,
    /** Its content-length (0 when absent). */
    readonly bodyLength: number,
  ) {}
}

/** The bytes read end inside the head: the connection goes to node:http with them. */
export const kIncomplete = 0;
/** Not of the common shape: the connection goes to node:http from this request on. */
export const kUnusual = 1;

const SP = 32;
// More fields than a client sends to a proxy (browsers send ~15): such a head goes to node:http.
const kMaxFields = 64;
// Interned: a request's method costs no string.
const kMethods = new Map(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => [m, m]));
const kVersion = Buffer.from(' HTTP/1.1\r\n', 'latin1');

/** Reads a head at the start of `b`; the request and where its head ends, or kIncomplete / kUnusual. */
export class RequestHeadReader {
  readonly #fields = new FieldSpans();
  readonly #maxBytes: number;
  /** The largest body read here (a larger one is node:http's, read as a stream); follows config reloads. */
  maxBodyBytes: number;
  /** Where the last head read ended in its buffer. */
  end = 0;

  /** Heads up to `maxBytes`; bodies up to `maxBodyBytes` (a larger one is node:http's, read as a stream). */
  constructor(maxBytes: number, maxBodyBytes = 0) {
    this.#maxBytes = maxBytes;
    this.maxBodyBytes = maxBodyBytes;
  }

  read(b: Buffer, socket: Socket): Http1Request | typeof kIncomplete | typeof kUnusual {
    const n = b.length, max = this.#maxBytes;
    // Method: upper-case letters, then one SP.
    let i = 0;
    while (i < n && i < 8 && b[i]! >= 65 && b[i]! <= 90) i++;
    if (i === n) return kIncomplete;
    if (b[i] !== SP || i === 0) return kUnusual;
    const methodEnd = i++;
    // Target: origin-form, visible ASCII.
    if (i === n) return kIncomplete;
    if (b[i] !== 47 /* / */) return kUnusual;
    const targetStart = i;
    while (i < n && b[i]! > SP && b[i]! < 127) i++;
    if (i === n) return i > max ? kUnusual : kIncomplete;
    const targetEnd = i;
    for (let k = 0; k < kVersion.length; k++, i++) {
      if (i === n) return kIncomplete;
      if (b[i] !== kVersion[k]) return kUnusual;
    }
    const fields = this.#fields;
    const end = scanFields(b, 0, i, max, fields);
    if (end === kPartial) return kIncomplete;
    if (end === kMalformed || fields.count > kMaxFields) return kUnusual;
    const text = latin1(b, 0, end);
    const method = kMethods.get(text.slice(0, methodEnd));
    if (method === undefined) return kUnusual;
    const { spans, upper } = fields;
    const headers: IncomingHttpHeaders = Object.create(null) as IncomingHttpHeaders;
    const raw: string[] = [];
    let close = false, host = false, bodyLength = 0;
    for (let h = 0, u = 0; u < fields.count; h += 4, u++) {
      const name = text.slice(spans[h]!, spans[h + 1]!);
      const lower = upper[u] ? name.toLowerCase() : name;
      const value = text.slice(spans[h + 2]!, spans[h + 3]!);
      // node:http joins some repeated fields, keeps the first of others, drops none: leave it to it.
      if (headers[lower] !== undefined) return kUnusual;
      headers[lower] = value;
      raw.push(name, value);
      // The fields that change the message's framing or the connection's fate, told apart by length first.
      const len = lower.length;
      if (len === 4 && lower === 'host') host = true;
      else if (len === 14 && lower === 'content-length') {
        // Plain decimal (no sign, no leading zero, no list): what every parser reads alike.
        if (!isDigits(value) || (value.length > 1 && value.charCodeAt(0) === 48)) return kUnusual;
        bodyLength = Number(value);
        if (bodyLength > this.maxBodyBytes) return kUnusual;
      } else if (len === 10 && lower === 'connection') {
        const v = value.toLowerCase();
        if (v === 'close') close = true;
        else if (v !== 'keep-alive') return kUnusual;
      } else if ((len === 17 && lower === 'transfer-encoding') || (len === 6 && lower === 'expect') || (len === 7 && lower === 'upgrade')) return kUnusual;
    }
    // node:http refuses an HTTP/1.1 request without Host (400): so it answers it.
    if (!host) return kUnusual;
    this.end = end;
    return new Http1Request(method, text.slice(targetStart, targetEnd), headers, raw, socket, close, bodyLength);
  }
}
