// The answer to a request read by Http1Connection: the subset of node:http's ServerResponse that
// Exchange uses, with node:http's framing and defaults, byte for byte (Date, Connection and
// Keep-Alive added when absent, spelled as node:http spells them; content-length passed through, chunked otherwise; no body for HEAD, 204 and 304), and
// fewer writes: the head goes out with the first body bytes in one buffer, so a small answer is
// one write to the socket.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { isFieldValue, isToken } from './chars.js';
import type { Http1Request } from './RequestHead.js';

/** Where a response reports its end (its connection). */
export interface ResponseOwner {
  readonly socket: Socket;
  /** Responses say `connection: close` (the proxy is shutting down). */
  readonly closing: boolean;
  /** The Keep-Alive timeout announced, in whole seconds. */
  readonly keepAliveSeconds: number;
  /** The response's last bytes are written; `close`: the connection closes after them. */
  finished(response: Http1Response, close: boolean): void;
}

type Headers = readonly string[] | Readonly<Record<string, string | number>>;

const kCrlf = Buffer.from('\r\n', 'latin1');
const kLastChunk = Buffer.from('0\r\n\r\n', 'latin1');
// Bodies larger than this go out as their own write, after the head (no copy).
const kCoalesceBytes = 16_384;
const kNoBody = Buffer.alloc(0);
const kLength = 1, kTransferEncoding = 2, kDate = 4, kConnection = 8, kClose = 16;

// Date, as node:http makes it: formatted once a second.
let utcDate = '';
function dateNow(): string {
  if (!utcDate) {
    const now = new Date();
    utcDate = now.toUTCString();
    setTimeout(() => (utcDate = ''), 1000 - now.getMilliseconds()).unref();
  }
  return utcDate;
}

// One field line, refused (as node:http refuses it) when it would break the head.
function field(name: string, value: string): string {
  if (!isToken(name)) throw invalid(name);
  if (!isFieldValue(value)) throw invalid(name, value);
  return `${name}: ${value}\r\n`;
}

// Which of the fields that decide the framing and the connection `name` is (told apart by length first).
function kindOf(name: string, value: string): number {
  const len = name.length;
  if (len === 14 && name.toLowerCase() === 'content-length') return kLength;
  if (len === 17 && name.toLowerCase() === 'transfer-encoding') return kTransferEncoding;
  if (len === 4 && name.toLowerCase() === 'date') return kDate;
  if (len === 10 && name.toLowerCase() === 'connection') {
    return /(^|,)\s*close\s*(,|$)/i.test(value) ? kConnection | kClose : kConnection;
  }
  return 0;
}

/** A header name or value that would break the head: node:http's error (ERR_INVALID_CHAR / ERR_INVALID_HTTP_TOKEN). */
function invalid(name: string, value?: string): Error {
  const error = value === undefined ? new TypeError(`Header name must be a valid HTTP token ["${name}"]`) : new TypeError(`Invalid character in header content ["${name}"]`);
  (error as NodeJS.ErrnoException).code = value === undefined ? 'ERR_INVALID_HTTP_TOKEN' : 'ERR_INVALID_CHAR';
  return error;
}

export class Http1Response {
  statusCode = 200;
  /** writeHead was called (as node:http's: true before the head is on the wire). */
  headersSent = false;
  /** end() was called and its bytes handed to the socket. */
  writableFinished = false;
  readonly #owner: ResponseOwner;
  readonly #socket: Socket;
  readonly #headRequest: boolean;
  readonly #requestClose: boolean;
  // The field lines of writeHead's headers (checked as they are given, as node:http does), and
  // which of the fields that decide framing and the connection were among them; then whether the
  // head is written, and the framing #compose chose.
  #fields = '';
  #seen = 0;
  #headWritten = false;
  #hasBody = true;
  #chunked = false;
  #close = false;
  #done = false;
  #onClose: (() => void) | undefined;
  #moreOnClose: (() => void)[] | undefined;

  constructor(owner: ResponseOwner, request: Http1Request) {
    this.#owner = owner;
    this.#socket = owner.socket;
    this.#headRequest = request.method === 'HEAD';
    this.#requestClose = request.close;
  }

  /** Sets the status and headers ([name, value, ...] or an object); they are written with the first body bytes, or by flushHeaders. */
  writeHead(status: number, headers?: Headers): this {
    if (this.headersSent) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
    let fields = '', seen = 0;
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) {
        fields += field(headers[i]!, headers[i + 1]!);
        seen |= kindOf(headers[i]!, headers[i + 1]!);
      }
    } else if (headers) {
      for (const name in headers) {
        const value = String((headers as Record<string, string | number>)[name]);
        fields += field(name, value);
        seen |= kindOf(name, value);
      }
    }
    this.statusCode = status;
    this.#fields = fields;
    this.#seen = seen;
    this.headersSent = true;
    return this;
  }

  /** Writes the head now (a token stream's client sees it before the first token). */
  flushHeaders(): void {
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (!this.#headWritten) this.#send(this.#compose(undefined), undefined, false);
  }

  writeContinue(): void {
    this.#socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
  }

  /** Writes body bytes (the head first, in the same write); false when the socket's buffer is full ('drain' follows). */
  write(chunk: Buffer | string): boolean {
    if (this.#done || this.#socket.destroyed) return true;
    const head = this.#headWritten ? undefined : this.#compose(undefined);
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    return this.#send(head, this.#hasBody ? data : undefined, false);
  }

  /** Writes the last bytes (and the head, when not yet written); the connection then takes its next request, or closes. */
  end(chunk?: Buffer | string): this {
    if (this.#done) return this;
    this.#done = true;
    const data = chunk === undefined ? undefined : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!this.#socket.destroyed) {
      // As node:http: the length of end()'s data is the content-length only when writeHead was not called.
      const head = this.#headWritten ? undefined : this.#compose(this.headersSent ? undefined : (data ?? kNoBody));
      this.#send(head, this.#hasBody ? data : undefined, true);
    }
    this.writableFinished = true;
    this.#owner.finished(this, this.#close || this.#requestClose || this.#owner.closing);
    return this;
  }

  /** Ends the connection at once (the answer cannot be completed). */
  destroy(): void {
    this.#socket.destroy();
  }

  /** 'drain': the socket took the bytes it held; 'close': the response ended (finished or not). */
  once(event: 'drain' | 'close', listener: () => void): this {
    if (event === 'drain') this.#socket.once('drain', listener);
    else if (!this.#onClose) this.#onClose = listener;
    else (this.#moreOnClose ??= []).push(listener);
    return this;
  }

  /** Called once by the connection: the response is over, finished or cut off. */
  closed(): void {
    this.#done = true;
    this.#onClose?.();
    if (this.#moreOnClose) for (const f of this.#moreOnClose) f();
  }

  // The head, as node:http writes it; `whole`: the body when the head goes out with end() and no
  // writeHead came before (its length is then the content-length).
  #compose(whole: Buffer | undefined): string {
    if (!this.headersSent) this.writeHead(this.statusCode);
    this.#headWritten = true;
    const status = this.statusCode;
    this.#hasBody = !this.#headRequest && status !== 204 && status !== 304 && !(status >= 100 && status < 200);
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n${this.#fields}`;
    const seen = this.#seen;
    if (seen & kClose) this.#close = true;
    if (!(seen & kDate)) head += `Date: ${dateNow()}\r\n`;
    if (!(seen & kConnection)) {
      const close = this.#requestClose || this.#owner.closing;
      if (close) this.#close = true;
      head += close ? 'Connection: close\r\n' : `Connection: keep-alive\r\nKeep-Alive: timeout=${this.#owner.keepAliveSeconds}\r\n`;
    }
    if (this.#hasBody && !(seen & kLength)) {
      if (seen & kTransferEncoding) this.#chunked = true;
      else if (whole) head += `Content-Length: ${whole.length}\r\n`;
      else {
        head += 'Transfer-Encoding: chunked\r\n';
        this.#chunked = true;
      }
    }
    return `${head}\r\n`;
  }

  // One write of the head (if not written yet), the data framed, and the last chunk when ending.
  #send(head: string | undefined, data: Buffer | undefined, last: boolean): boolean {
    const socket = this.#socket;
    const chunked = this.#chunked && this.#hasBody;
    const size = data && data.length > 0 && chunked ? `${data.length.toString(16)}\r\n` : '';
    const dataBytes = data?.length ?? 0;
    const tail = chunked ? (dataBytes > 0 ? 2 : 0) + (last ? kLastChunk.length : 0) : 0;
    const headBytes = head?.length ?? 0;
    if (dataBytes > kCoalesceBytes) {
      socket.cork();
      if (head) socket.write(head, 'latin1');
      if (size) socket.write(size, 'latin1');
      socket.write(data!);
      if (chunked) socket.write(last ? Buffer.concat([kCrlf, kLastChunk]) : kCrlf);
      socket.uncork();
      return socket.writableLength < socket.writableHighWaterMark;
    }
    const total = headBytes + size.length + dataBytes + tail;
    if (total === 0) return true;
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    if (head) at += out.write(head, 0, 'latin1');
    if (size) at += out.write(size, at, 'latin1');
    if (dataBytes > 0) at += data!.copy(out, at);
    if (chunked) {
      if (dataBytes > 0) at += kCrlf.copy(out, at);
      if (last) kLastChunk.copy(out, at);
    }
    return socket.write(out);
  }
}
