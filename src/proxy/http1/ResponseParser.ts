// An HTTP/1.1 response parser for the sidecar's upstream connections, fed the bytes as the
// socket delivers them. Written by hand, with Http1Pool, because it is on every proxied request
// (see there for the figures), and what the proxy needs of a response is narrow: the head as a
// header list, the body's bytes (chunked framing taken off), its end, and whether the connection
// may carry the next request.
//
// Strict where leniency lets two parties disagree on where a message ends (RFC 9112 11.2): CRLF
// line ends only, no obs-fold, one content-length value, transfer-encoding only as `chunked`
// and never with content-length. Anything else is a bad response: the attempt fails and the
// connection closes.
import { isDigits, isToken, kClass, kValue } from './chars.js';
import { FieldSpans, kMalformed, kPartial, latin1, scanFields } from './fields.js';
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

const CR = 13, LF = 10, SP = 32, HTAB = 9;
const kHttp1 = Buffer.from('HTTP/1.', 'latin1');
// The longest chunk-size line read (its digits and any extensions, which are skipped as every
// recipient may skip them).
const kMaxChunkLine = 4096;

export class ResponseParser {
  readonly #sink: ResponseSink;
  readonly #maxHeadBytes: number;
  #state = State.Done;
  #noBody = false;
  // The head (or a trailer line) read so far when a read ended inside it.
  #partial: Buffer | undefined;
  readonly #fields = new FieldSpans();
  #remaining = 0;
  // A chunk-size line as it is read: its digits so far, where in the line (digits, blanks after
  // them, an extension, the LF after its CR), the line's length; and the CR after a chunk's data.
  #sizeDigits = 0;
  #sizeAt: 'digits' | 'blanks' | 'extension' | 'lf' = 'digits';
  #sizeLine = 0;
  #crSeen = false;
  #trailers: ResponseHeaders | undefined;
  // The head's parts as scanned, reported by #headDone once the head is whole.
  #status = 0;
  #statusText = '';
  #headers: ResponseHeaders = [];
  #minor = 1;
  #length: string | undefined;
  #chunked = false;
  // Connection: close seen; Connection: keep-alive seen (what keeps an HTTP/1.0 connection open).
  #close = false;
  #keepAliveToken = false;
  #keepAliveHint: string | undefined;

  /** The connection may carry another request once this response ends. */
  keepAlive = false;
  /** Milliseconds the endpoint said it keeps an idle connection (Keep-Alive: timeout=N), or undefined. */
  keepAliveHintMs: number | undefined;

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
          // Read byte by byte (a token stream is a chunk an event): no line is gathered or copied.
          at = this.#chunkSize(data, at);
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.#remaining, end - at);
          this.#remaining -= n;
          const chunk = data.subarray(at, at + n);
          at += n;
          if (this.#remaining === 0) {
            this.#state = State.ChunkDataEnd;
            this.#crSeen = false;
          }
          this.#sink.onBody(chunk);
          break;
        }
        case State.ChunkDataEnd: {
          // The CRLF after a chunk's data, possibly split across reads.
          const c = data[at++];
          if (this.#crSeen ? c !== LF : c !== CR) throw bad(c === LF ? 'chunk not ended by CRLF' : 'chunk data longer than its size');
          if (this.#crSeen) this.#enterChunkSize();
          else this.#crSeen = true;
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
            if (!isToken(name)) throw bad(`malformed trailer line ${JSON.stringify(line.text.slice(0, 40))}`);
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

  #enterChunkSize(): void {
    this.#state = State.ChunkSize;
    this.#remaining = 0;
    this.#sizeDigits = 0;
    this.#sizeAt = 'digits';
    this.#sizeLine = 0;
  }

  // Reads a chunk-size line (hex digits, blanks, an optional ";extension", CRLF) from `at`, as far
  // as `data` goes; returns where it stopped. At the line's end, the chunk's data (or, for size 0,
  // the trailers) comes next.
  #chunkSize(data: Buffer, at: number): number {
    const end = data.length;
    while (at < end) {
      const c = data[at++]!;
      if (++this.#sizeLine > kMaxChunkLine) throw bad(`chunk-size line longer than ${kMaxChunkLine} bytes`);
      const where = this.#sizeAt;
      if (where === 'digits') {
        const v = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
        if (v >= 0) {
          if (++this.#sizeDigits > 15) throw bad('chunk size longer than 15 hex digits');
          this.#remaining = this.#remaining * 16 + v;
          continue;
        }
        if (this.#sizeDigits === 0) throw bad(`malformed chunk size: byte ${c} where a hex digit belongs`);
        this.#sizeAt = 'blanks';
      }
      if (this.#sizeAt === 'blanks') {
        if (c === SP || c === HTAB) continue;
        if (c === 59) {
          this.#sizeAt = 'extension';
          continue;
        }
        if (c === LF) throw bad('chunk-size line not ended by CRLF');
        if (c !== CR) throw bad(`malformed chunk size: byte ${c} after the digits`);
        this.#sizeAt = 'lf';
        continue;
      }
      if (this.#sizeAt === 'extension') {
        if (c === CR) this.#sizeAt = 'lf';
        else if (c === LF || c === 0) throw bad('chunk extension holds a bare LF or NUL');
        continue;
      }
      // After the CR.
      if (c !== LF) throw bad('chunk-size line not ended by CRLF');
      this.#state = this.#remaining === 0 ? State.Trailers : State.ChunkData;
      return at;
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

  // The head from `at`: when whole, parsed and reported, and the body's framing set. A head cut
  // by the end of a read is kept and scanned again whole with the next one (heads are small).
  #readHead(data: Buffer, at: number): number {
    let bytes = data, from = at;
    const kept = this.#partial;
    if (kept) {
      bytes = Buffer.concat([kept, data.subarray(at)]);
      from = 0;
    }
    const end = this.#scanHead(bytes, from);
    if (end < 0) {
      if (bytes.length - from > this.#maxHeadBytes) throw bad(`response head longer than ${this.#maxHeadBytes} bytes`);
      this.#partial = kept ? bytes : Buffer.from(bytes.subarray(from));
      return data.length;
    }
    this.#partial = undefined;
    this.#headDone();
    return kept ? end - kept.length + at : end;
  }

  // Scans a head from `from` byte by byte (one string made of it, its parts sliced from that):
  // where it ends (past the blank line), or -1 when the bytes end first. Throws on a malformed head.
  #scanHead(b: Buffer, from: number): number {
    const n = b.length;
    // The status line: HTTP/1.x NNN[ reason]
    if (n - from < 14) return -1;
    for (let k = 0; k < 7; k++) if (b[from + k] !== kHttp1[k]) throw bad(`malformed status line ${JSON.stringify(latin1(b, from, Math.min(n, from + 40)))}`);
    const minor = b[from + 7]! - 48, d1 = b[from + 9]! - 48, d2 = b[from + 10]! - 48, d3 = b[from + 11]! - 48;
    const after = b[from + 12];
    if ((minor !== 0 && minor !== 1) || b[from + 8] !== SP || !(d1 >= 1 && d1 <= 9) || !(d2 >= 0 && d2 <= 9) || !(d3 >= 0 && d3 <= 9) || (after !== SP && after !== CR)) {
      throw bad(`malformed status line ${JSON.stringify(latin1(b, from, Math.min(n, from + 40)))}`);
    }
    let i = from + 12;
    while (i < n && kClass[b[i]!]! & kValue) i++;
    if (i + 1 >= n) return this.#tooLong(i - from);
    if (b[i] !== CR || b[i + 1] !== LF) throw bad('status line not ended by CRLF');
    const reasonEnd = i;
    const fields = this.#fields;
    i = scanFields(b, from, i + 2, this.#maxHeadBytes, fields);
    if (i === kPartial) return -1;
    if (i === kMalformed) throw bad(fields.problem);
    const text = latin1(b, from, i);
    this.#status = d1 * 100 + d2 * 10 + d3;
    this.#statusText = reasonEnd > from + 13 ? text.slice(13, reasonEnd - from) : '';
    this.#minor = minor;
    this.#length = undefined;
    this.#chunked = false;
    this.#close = false;
    this.#keepAliveToken = false;
    this.#keepAliveHint = undefined;
    const headers: ResponseHeaders = (this.#headers = []);
    const { spans, upper } = fields;
    for (let h = 0, u = 0; u < fields.count; h += 4, u++) {
      let name = text.slice(spans[h]!, spans[h + 1]!);
      if (upper[u]) name = name.toLowerCase();
      const value = text.slice(spans[h + 2]!, spans[h + 3]!);
      headers.push(name, value);
      // The framing and connection headers, told apart by length first.
      const len = name.length;
      if (len === 14 && name === 'content-length') {
        // Repeated or listed (RFC 9110 8.6): every value the same, or the message is invalid.
        for (const v of isDigits(value) ? [value] : value.split(',')) {
          const t = v.trim();
          if (!isDigits(t) || (this.#length !== undefined && this.#length !== t)) throw bad(`invalid content-length ${JSON.stringify(value)}`);
          this.#length = t;
        }
      } else if (len === 17 && name === 'transfer-encoding') {
        if (this.#chunked || value.toLowerCase() !== 'chunked') throw bad(`unsupported transfer-encoding ${JSON.stringify(value)}`);
        this.#chunked = true;
      } else if (len === 10 && name === 'connection') {
        const tokens = value.toLowerCase();
        if (tokens === 'close' || /(^|,)\s*close\s*(,|$)/.test(tokens)) this.#close = true;
        else if (tokens === 'keep-alive' || /(^|,)\s*keep-alive\s*(,|$)/.test(tokens)) this.#keepAliveToken = true;
      } else if (len === 10 && name === 'keep-alive') this.#keepAliveHint = value;
    }
    return i;
  }

  // A head not yet whole: -1, unless it is too long already.
  #tooLong(bytes: number): number {
    if (bytes > this.#maxHeadBytes) throw bad(`response head longer than ${this.#maxHeadBytes} bytes`);
    return -1;
  }

  #headDone(): void {
    const status = this.#status, headers = this.#headers, statusText = this.#statusText;
    if (status < 200) {
      // Informational: the final head follows. 101 would switch protocols, which no request asked for.
      if (status === 101) throw bad('101 Switching Protocols to a request that asked for no upgrade');
      this.#sink.onHead(status, headers, statusText);
      return;
    }
    const length = this.#length, chunked = this.#chunked;
    if (chunked && length !== undefined) throw bad('both transfer-encoding and content-length');
    this.keepAlive = !this.#close && (this.#minor === 1 || this.#keepAliveToken);
    const hint = this.#keepAliveHint && /timeout\s*=\s*(\d+)/i.exec(this.#keepAliveHint);
    this.keepAliveHintMs = hint ? Number(hint[1]) * 1000 : undefined;
    if (this.#noBody || status === 204 || status === 304) this.#state = State.Done;
    else if (chunked) this.#enterChunkSize();
    else if (length !== undefined) {
      this.#remaining = Number(length);
      this.#state = this.#remaining === 0 ? State.Done : State.Length;
    } else {
      this.#state = State.UntilClose;
      this.keepAlive = false;
    }
    const whole = this.#state === State.Done;
    this.#sink.onHead(status, headers, statusText);
    if (whole && this.#state === State.Done) this.#finish();
  }
}

const bad = (message: string) => new UpstreamError('BAD_RESPONSE', `bad response: ${message}`);
