// An HTTP/1.1 response parser for the sidecar's upstream connections, fed the bytes as the
// socket delivers them. Written by hand because it is on every proxied request: undici's client
// costs about twice the rest of the sidecar's path together (bench:proxy-peers), and what the
// proxy needs of a response is narrow: the head as a header object, the body's bytes (chunked
// framing taken off), its end, and whether the connection may carry the next request.
//
// Strict where leniency lets two parties disagree on where a message ends (RFC 9112 11.2): CRLF
// line ends only, no obs-fold, one content-length value, transfer-encoding only as `chunked`
// and never with content-length. Anything else is a bad response: the attempt fails and the
// connection closes.
import { UpstreamError } from './UpstreamError.js';

/** Response headers as they came, names in lower case: [name, value, name, value, ...]. */
export type ResponseHeaders = string[];

/** What a parser reports, in order: heads (1xx first, then the final one), body bytes, the end. */
export interface ResponseSink {
  onHead(status: number, headers: ResponseHeaders, statusText: string): void;
  onBody(chunk: Buffer): void;
  onEnd(trailers: ResponseHeaders | undefined): void;
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
  // Stopped from outside (the attempt ended): nothing more is read or reported.
  Stopped,
}

const CR = 13, LF = 10;
const kToken = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const kBadValue = /[\0\r\n]/;
// A chunk-size line: hex digits, then optional extensions (ignored, as every recipient may).
const kChunkSize = /^([0-9A-Fa-f]{1,15})[ \t]*(?:;.*)?$/;
const kMaxChunkLine = 4096;

export class ResponseParser {
  readonly #sink: ResponseSink;
  readonly #maxHeadBytes: number;
  #state = State.Done;
  #noBody = false;
  // The head (or chunk-size line, or trailers) read so far when a read ended inside it.
  #partial: Buffer | undefined;
  #remaining = 0;
  #trailers: ResponseHeaders | undefined;
  /** The connection may carry another request once this response ends. */
  keepAlive = false;
  /** Milliseconds the endpoint said it keeps an idle connection (Keep-Alive: timeout=N), or undefined. */
  keepAliveHintMs: number | undefined;
  /** The final head was read: the status is known. */
  headed = false;

  constructor(sink: ResponseSink, maxHeadBytes = 65_536) {
    this.#sink = sink;
    this.#maxHeadBytes = maxHeadBytes;
  }

  /** Expects the response to a request just sent; a HEAD request's has no body. */
  start(head: boolean): void {
    this.#state = State.Head;
    this.#noBody = head;
    this.#partial = undefined;
    this.#trailers = undefined;
    this.keepAlive = false;
    this.keepAliveHintMs = undefined;
    this.headed = false;
  }

  /** The response is complete. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** The body runs until the connection closes: the close is its end. */
  get untilClose(): boolean {
    return this.#state === State.UntilClose;
  }

  /** Stops reading: nothing more is reported (the attempt ended from outside). */
  stop(): void {
    this.#state = State.Stopped;
    this.keepAlive = false;
  }

  /** The close of a body that runs until it: the end. */
  closed(): void {
    if (this.#state !== State.UntilClose) return;
    this.#state = State.Done;
    this.#sink.onEnd(undefined);
  }

  /**
   * Reads `data`; returns how many of its bytes belong to this response (the rest, when it is
   * done, came after its end). Throws an UpstreamError (BAD_RESPONSE) on a malformed response.
   */
  execute(data: Buffer): number {
    let at = 0;
    const end = data.length;
    while (at < end) {
      switch (this.#state) {
        case State.Head: {
          at = this.#readHead(data, at);
          break;
        }
        case State.Length: {
          const n = Math.min(this.#remaining, end - at);
          this.#remaining -= n;
          const chunk = data.subarray(at, at + n);
          at += n;
          const last = this.#remaining === 0;
          if (last) this.#state = State.Done;
          this.#sink.onBody(chunk);
          if (last && this.#state === State.Done) this.#finish();
          break;
        }
        case State.ChunkSize: {
          const line = this.#line(data, at, kMaxChunkLine, 'chunk-size line');
          if (line === undefined) return end;
          at = line.next;
          const m = kChunkSize.exec(line.text);
          if (!m) throw bad(`malformed chunk size ${JSON.stringify(line.text.slice(0, 40))}`);
          this.#remaining = parseInt(m[1]!, 16);
          this.#state = this.#remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.#remaining, end - at);
          this.#remaining -= n;
          const chunk = data.subarray(at, at + n);
          at += n;
          if (this.#remaining === 0) this.#state = State.ChunkDataEnd;
          this.#sink.onBody(chunk);
          break;
        }
        case State.ChunkDataEnd: {
          // The CRLF after a chunk's data, possibly split across reads.
          const line = this.#line(data, at, 2, 'chunk');
          if (line === undefined) return end;
          if (line.text !== '') throw bad('chunk data longer than its size');
          at = line.next;
          this.#state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const line = this.#line(data, at, this.#maxHeadBytes, 'trailer section');
          if (line === undefined) return end;
          at = line.next;
          if (line.text === '') {
            this.#state = State.Done;
            this.#finish();
          } else {
            const colon = line.text.indexOf(':');
            const name = colon > 0 ? line.text.slice(0, colon) : '';
            if (!kToken.test(name)) throw bad(`malformed trailer line ${JSON.stringify(line.text.slice(0, 40))}`);
            (this.#trailers ??= []).push(name.toLowerCase(), line.text.slice(colon + 1).trim());
          }
          break;
        }
        case State.UntilClose: {
          const chunk = at === 0 ? data : data.subarray(at);
          at = end;
          this.#sink.onBody(chunk);
          break;
        }
        case State.Done:
        case State.Stopped:
          return at;
      }
    }
    return at;
  }

  #finish(): void {
    const trailers = this.#trailers;
    this.#trailers = undefined;
    this.#sink.onEnd(trailers);
  }

  // A CRLF-ended line from `at` (joined with a part kept from the last read), or undefined when
  // the read ended first (the part is kept).
  #line(data: Buffer, at: number, max: number, what: string): { text: string; next: number } | undefined {
    const lf = data.indexOf(LF, at);
    if (lf < 0) {
      this.#keep(data.subarray(at), max, what);
      return undefined;
    }
    let bytes = data.subarray(at, lf + 1);
    if (this.#partial) {
      bytes = Buffer.concat([this.#partial, bytes]);
      this.#partial = undefined;
    }
    if (bytes.length > max + 2) throw bad(`${what} longer than ${max} bytes`);
    if (bytes.length < 2 || bytes[bytes.length - 2] !== CR) throw bad(`${what} not ended by CRLF`);
    return { text: bytes.toString('latin1', 0, bytes.length - 2), next: lf + 1 };
  }

  #keep(part: Buffer, max: number, what: string): void {
    const kept = this.#partial ? Buffer.concat([this.#partial, part]) : Buffer.from(part);
    if (kept.length > max + 2) throw bad(`${what} longer than ${max} bytes`);
    this.#partial = kept;
  }

  // The head from `at`: when whole, parsed and reported, and the body's framing set.
  #readHead(data: Buffer, at: number): number {
    let bytes = data, from = at;
    if (this.#partial) {
      bytes = Buffer.concat([this.#partial, data.subarray(at)]);
      from = 0;
    }
    // Searched from a little before the new bytes: the blank line may straddle two reads.
    const end = bytes.indexOf('\r\n\r\n', this.#partial ? Math.max(0, this.#partial.length - 3) : from, 'latin1');
    if (end < 0) {
      if (bytes.length - from > this.#maxHeadBytes) throw bad(`response head longer than ${this.#maxHeadBytes} bytes`);
      this.#partial = from === 0 && bytes !== data ? bytes : Buffer.from(bytes.subarray(from));
      return data.length;
    }
    if (end - from > this.#maxHeadBytes) throw bad(`response head longer than ${this.#maxHeadBytes} bytes`);
    const consumed = this.#partial ? end + 4 - this.#partial.length + at : end + 4;
    this.#partial = undefined;
    this.#parseHead(bytes.toString('latin1', from, end));
    return consumed;
  }

  #parseHead(text: string): void {
    // The status line: HTTP/1.x NNN [reason]
    const eol = text.indexOf('\r\n');
    const statusLine = eol < 0 ? text : text.slice(0, eol);
    const minor = statusLine.charCodeAt(7) - 48;
    const status = Number(statusLine.slice(9, 12));
    if (!statusLine.startsWith('HTTP/1.') || (minor !== 0 && minor !== 1) || statusLine.charCodeAt(8) !== 32 || !/^[1-9]\d\d$/.test(statusLine.slice(9, 12)) || (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32)) {
      throw bad(`malformed status line ${JSON.stringify(statusLine.slice(0, 40))}`);
    }
    const headers: ResponseHeaders = [];
    let length: string | undefined, chunked = false, close = minor === 0, keepAliveHint: string | undefined;
    for (let from = eol < 0 ? text.length : eol + 2; from < text.length; ) {
      let next = text.indexOf('\r\n', from);
      if (next < 0) next = text.length;
      const colon = text.indexOf(':', from);
      if (colon <= from || colon > next) throw bad(`malformed header line ${JSON.stringify(text.slice(from, Math.min(next, from + 40)))}`);
      const name = text.slice(from, colon);
      if (!kToken.test(name)) throw bad(`malformed header name ${JSON.stringify(name.slice(0, 40))}`);
      const value = text.slice(colon + 1, next).trim();
      if (kBadValue.test(value)) throw bad(`header ${name} has a bare CR, LF or NUL`);
      const lower = name.toLowerCase();
      headers.push(lower, value);
      if (lower === 'content-length') {
        // Repeated or listed (RFC 9110 8.6): every value the same, or the message is invalid.
        for (const v of value.split(',')) {
          const t = v.trim();
          if (!/^\d{1,15}$/.test(t) || (length !== undefined && length !== t)) throw bad(`invalid content-length ${JSON.stringify(value)}`);
          length = t;
        }
      } else if (lower === 'transfer-encoding') {
        if (chunked || value.toLowerCase() !== 'chunked') throw bad(`unsupported transfer-encoding ${JSON.stringify(value)}`);
        chunked = true;
      } else if (lower === 'connection') {
        const tokens = value.toLowerCase();
        if (/(^|,)\s*close\s*(,|$)/.test(tokens)) close = true;
        else if (minor === 0 && /(^|,)\s*keep-alive\s*(,|$)/.test(tokens)) close = false;
      } else if (lower === 'keep-alive') keepAliveHint = value;
      from = next + 2;
    }
    if (status < 200) {
      // Informational: the final head follows. 101 would switch protocols, which no request asked for.
      if (status === 101) throw bad('101 Switching Protocols to a request that asked for no upgrade');
      this.#sink.onHead(status, headers, statusLine.slice(13));
      return;
    }
    if (chunked && length !== undefined) throw bad('both transfer-encoding and content-length');
    this.headed = true;
    this.keepAlive = !close;
    const hint = keepAliveHint && /timeout\s*=\s*(\d+)/i.exec(keepAliveHint);
    this.keepAliveHintMs = hint ? Number(hint[1]) * 1000 : undefined;
    if (this.#noBody || status === 204 || status === 304) this.#state = State.Done;
    else if (chunked) this.#state = State.ChunkSize;
    else if (length !== undefined) {
      this.#remaining = Number(length);
      this.#state = this.#remaining === 0 ? State.Done : State.Length;
    } else {
      this.#state = State.UntilClose;
      this.keepAlive = false;
    }
    const whole = this.#state === State.Done;
    this.#sink.onHead(status, headers, statusLine.slice(13));
    if (whole && this.#state === State.Done) this.#finish();
  }
}

const bad = (message: string) => new UpstreamError('BAD_RESPONSE', `bad response: ${message}`);
