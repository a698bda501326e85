// An endpoint's keep-alive HTTP/1.1 connections, as the sidecar sends to it: at most
// `connections` at once, one request on each at a time (no pipelining), the rest waiting in
// order. Written by hand because it is on every proxied request: measured side by side on this
// VM, a node:http server sending with undici's Pool cost ~150 µs of CPU a request, the same server
// with a bare socket client ~100, and the sidecar went from the minimal node:http + undici
// proxy's cost to 0.7-0.8 of it (bench:proxy-peers). The proxy needs only what is here.
//
// NOTE: an attempt ends exactly once, in onEnd() or fail() of its connection (or refuse() while
// it waits): each calls one of onResponseEnd / onResponseError, and the attempt's `ended` guards
// every later event (a timer, a late close, an abort from the handler itself).
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ResponseParser, type ResponseHeaders, type ResponseSink } from './ResponseParser.js';
import { isDigits, isFieldValue, isToken } from './chars.js';
import { UpstreamError } from './UpstreamError.js';

export type { ResponseHeaders } from './ResponseParser.js';

/** What a handler may do to its attempt while it runs. */
export interface UpstreamController {
  /** Ends the attempt now: the handler's onResponseError gets `reason` (unless it ended already). */
  abort(reason: Error): void;
  /** Stops reading the response (the client is slow); the idle timeout waits too. */
  pause(): void;
  resume(): void;
  readonly aborted: boolean;
  readonly paused: boolean;
}

/** Told of an attempt's course: the request's start, then the response's head, bytes and end, or its error; one of the last two, once. */
export interface UpstreamHandler {
  /** A connection is ready and the request is about to be written: from here the endpoint may receive it. */
  onRequestStart(controller: UpstreamController): void;
  /** A response head: informational (1xx) ones first, then the final one. */
  onResponseStart(controller: UpstreamController, statusCode: number, headers: ResponseHeaders, statusText: string): void;
  onResponseData(controller: UpstreamController, chunk: Buffer): void;
  onResponseEnd(controller: UpstreamController, trailers: ResponseHeaders | undefined): void;
  onResponseError(controller: UpstreamController, error: Error): void;
}

/** A request to send. */
export interface UpstreamRequest {
  readonly method: string;
  /** Origin-form: "/path?query". */
  readonly path: string;
  /** Names and values in turn, as sent (a Host is added when none is given). */
  readonly headers: readonly string[];
  /** Whole, or streamed (sent chunked unless headers give its content-length). */
  readonly body?: Buffer | Readable | undefined;
  /** Milliseconds from the request's send to the response head; 0: none. */
  readonly headersTimeout: number;
  /** Milliseconds without a response byte once the head is in; 0: none. */
  readonly bodyTimeout: number;
}

export interface Http1PoolOptions {
  /** Connections at most (each carries one request at a time); more requests wait in order. */
  readonly connections: number;
  readonly connectTimeoutMs: number;
  /** An idle connection is not reused after this long (nor after the endpoint's Keep-Alive timeout less a second). Default 30 s. */
  readonly keepAliveMs?: number;
  /** A response head longer than this is a bad response. Default 64 KiB. */
  readonly maxHeadBytes?: number;
}

/** What the pool holds now. */
export interface Http1PoolStats {
  /** Connections open or opening. */
  readonly connected: number;
  /** Open connections with no request. */
  readonly free: number;
  /** Requests on a connection. */
  readonly running: number;
  /** Requests waiting for a connection. */
  readonly pending: number;
  /** running + pending: every request dispatched and not ended. */
  readonly queued: number;
}

// Methods whose request means something with content (RFC 9110 9.3): without a body, they say so.
const kContentMethods = new Set(['POST', 'PUT', 'PATCH']);
const kClosed = () => new UpstreamError('POOL_CLOSED', 'the endpoint\'s pool is closed');

export class Http1Pool {
  readonly #host: string;
  readonly #port: number;
  readonly #options: Required<Http1PoolOptions>;
  readonly #connections = new Set<Connection>();
  readonly #free: Connection[] = [];
  #queue: Attempt[] = [];
  #queueHead = 0;
  #pending = 0;
  #running = 0;
  #closed = false;
  #drained: (() => void) | undefined;

  /** `address`: "host:port" ("[v6]:port"). */
  constructor(address: string, options: Http1PoolOptions) {
    const colon = address.lastIndexOf(':');
    const port = Number(address.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) throw new TypeError(`address ${JSON.stringify(address)} is not host:port`);
    this.#host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    this.#port = port;
    this.#options = { keepAliveMs: 30_000, maxHeadBytes: 65_536, ...options };
  }

  get stats(): Http1PoolStats {
    return { connected: this.#connections.size, free: this.#free.length, running: this.#running, pending: this.#pending, queued: this.#running + this.#pending };
  }

  /**
   * Sends `request` on a free connection, a new one, or when one frees; the handler hears of it.
   * Returns its controller: an attempt still waiting for a connection can be aborted too.
   */
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): UpstreamController {
    const attempt = new Attempt(this, request, handler);
    let problem: UpstreamError | undefined;
    if (this.#closed) problem = kClosed();
    else {
      try {
        composeHead(attempt, this.#host, this.#port);
      } catch (error) {
        problem = error as UpstreamError;
      }
    }
    // Refused before it began: told on the next tick, as any other failure, never within dispatch().
    if (problem) {
      process.nextTick(() => attempt.refuse(problem));
      return attempt;
    }
    const free = this.#takeFree();
    if (free) free.run(attempt);
    else {
      this.#queue.push(attempt);
      this.#pending++;
      if (this.#connections.size < this.#options.connections) this.#open();
    }
    return attempt;
  }

  /** Takes no more requests; resolves once those under way have ended and every connection is closed. */
  close(): Promise<void> {
    this.#closed = true;
    return new Promise((resolve) => {
      this.#drained = resolve;
      this.#checkDrained();
    });
  }

  /** Ends every request under way or waiting with POOL_CLOSED and closes every connection. */
  destroy(): void {
    this.#closed = true;
    const waiting = this.#queue.slice(this.#queueHead);
    this.#queue = [];
    this.#queueHead = 0;
    this.#pending = 0;
    for (const attempt of waiting) attempt.refuse(kClosed());
    for (const connection of [...this.#connections]) connection.fail(kClosed());
    this.#checkDrained();
  }

  // A free connection still worth using (LIFO: the warmest), or undefined.
  #takeFree(): Connection | undefined {
    for (let c = this.#free.pop(); c; c = this.#free.pop()) {
      if (c.idleUntil >= performance.now()) return c;
      c.close();
    }
    return undefined;
  }

  #open(): void {
    this.#connections.add(new Connection(this, this.#host, this.#port, this.#options));
  }

  // The next waiting attempt, skipping those aborted while they waited.
  #nextWaiting(): Attempt | undefined {
    while (this.#queueHead < this.#queue.length) {
      const attempt = this.#queue[this.#queueHead]!;
      this.#queue[this.#queueHead++] = undefined!;
      if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
      if (attempt.ended) continue;
      this.#pending--;
      return attempt;
    }
    return undefined;
  }

  /** @internal An attempt left the queue (aborted while waiting). */
  unqueued(): void {
    this.#pending--;
    this.#checkDrained();
  }

  /** @internal A connection is ready for a request: the next waiting one, else it idles. */
  ready(connection: Connection, keepAliveHintMs: number | undefined): void {
    const next = this.#nextWaiting();
    if (next) return connection.run(next);
    if (this.#closed) {
      connection.close();
      return this.#checkDrained();
    }
    const keepAlive = keepAliveHintMs === undefined ? this.#options.keepAliveMs : Math.min(this.#options.keepAliveMs, keepAliveHintMs - 1000);
    connection.idle(performance.now() + keepAlive);
    this.#free.push(connection);
  }

  /** @internal Counts requests on connections. */
  started(): void {
    this.#running++;
  }

  /** @internal A request on a connection ended. */
  finished(): void {
    this.#running--;
    this.#checkDrained();
  }

  /** @internal A connection closed (or never opened, with `error`): it is forgotten, and waiting requests may need another. */
  gone(connection: Connection, connectError: Error | undefined): void {
    if (!this.#connections.delete(connection)) return;
    const i = this.#free.indexOf(connection);
    if (i >= 0) this.#free.splice(i, 1);
    // The endpoint cannot be reached now: everything waiting fails at once (the proxy retries
    // elsewhere) rather than one by one on a connect timeout each.
    if (connectError) for (let attempt = this.#nextWaiting(); attempt; attempt = this.#nextWaiting()) attempt.refuse(connectError);
    // Requests accepted before a close are still served.
    if (this.#pending > 0 && this.#connections.size < this.#options.connections) this.#open();
    this.#checkDrained();
  }

  #checkDrained(): void {
    if (!this.#closed || this.#running > 0 || this.#pending > 0) return;
    for (const c of this.#free.splice(0)) c.close();
    if (this.#connections.size > 0 || !this.#drained) return;
    const drained = this.#drained;
    this.#drained = undefined;
    drained();
  }
}

// The attempt's request head as written, and the body length it declares: its validation is
// undici's (header names are tokens, values hold no CR, LF or NUL), so that nothing a client sends
// can split it.
function composeHead(attempt: Attempt, host: string, port: number): void {
  const { method, path, headers, body } = attempt.request;
  if (!isToken(method)) throw new UpstreamError('BAD_REQUEST', `invalid method ${JSON.stringify(method)}`);
  if (path[0] !== '/' || !isFieldValue(path) || path.includes(' ') || path.includes('\t')) throw new UpstreamError('BAD_REQUEST', `invalid request target ${JSON.stringify(path)}`);
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let hasHost = false;
  let length: number | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!, value = headers[i + 1]!;
    if (!isToken(name)) throw new UpstreamError('BAD_REQUEST', `invalid header name ${JSON.stringify(name)}`);
    if (!isFieldValue(value)) throw new UpstreamError('BAD_REQUEST', `invalid ${name} header: it holds CR, LF, NUL or another control character`);
    if (name.length === 4 && name.toLowerCase() === 'host') hasHost = true;
    else if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (!isDigits(value) || (length !== undefined && length !== Number(value))) throw new UpstreamError('BAD_REQUEST', `invalid content-length ${JSON.stringify(value)}`);
      length = Number(value);
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      throw new UpstreamError('BAD_REQUEST', 'transfer-encoding is the pool\'s to set');
    }
    head += `${name}: ${value}\r\n`;
  }
  if (!hasHost) head += `host: ${host.includes(':') ? `[${host}]` : host}:${port}\r\n`;
  if (body === undefined) {
    if (length === undefined && kContentMethods.has(method)) head += 'content-length: 0\r\n';
    else if (length !== undefined && length !== 0) throw new UpstreamError('BAD_REQUEST', `content-length ${length} for a request with no body`);
  } else if (Buffer.isBuffer(body)) {
    if (length === undefined) head += `content-length: ${body.length}\r\n`;
    else if (length !== body.length) throw new UpstreamError('BAD_REQUEST', `content-length ${length} for a body of ${body.length} bytes`);
  } else if (length === undefined) head += 'transfer-encoding: chunked\r\n';
  attempt.head = `${head}\r\n`;
  attempt.declaredLength = length;
}

/** One request's try on the pool; the handler's controller. */
class Attempt implements UpstreamController {
  readonly pool: Http1Pool;
  readonly request: UpstreamRequest;
  readonly handler: UpstreamHandler;
  /** The request's head, and the content-length it declares (undefined: none, a streamed body goes chunked). */
  head = '';
  declaredLength: number | undefined;
  connection: Connection | undefined;
  ended = false;
  aborted = false;
  paused = false;

  constructor(pool: Http1Pool, request: UpstreamRequest, handler: UpstreamHandler) {
    this.pool = pool;
    this.request = request;
    this.handler = handler;
  }

  abort(reason: Error): void {
    if (this.ended) return;
    this.aborted = true;
    if (this.connection) return this.connection.fail(reason);
    // Still waiting for a connection.
    this.pool.unqueued();
    this.refuse(reason);
  }

  pause(): void {
    if (this.ended || this.paused) return;
    this.paused = true;
    this.connection?.pause();
  }

  resume(): void {
    if (this.ended || !this.paused) return;
    this.paused = false;
    this.connection?.resume();
  }

  /** Ends an attempt that never ran on a connection. */
  refuse(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.handler.onResponseError(this, error);
  }
}

/** One keep-alive connection to the endpoint; the parser's sink for the attempt it carries. */
class Connection implements ResponseSink {
  readonly #pool: Http1Pool;
  readonly #socket: Socket;
  readonly #parser: ResponseParser;
  #connected = false;
  #attempt: Attempt | undefined;
  // The request (its body too) is written whole: the connection may carry the next one.
  #requestDone = false;
  #body: Readable | undefined;
  #bodyListeners: { data: (chunk: Buffer) => void; end: () => void; error: (e: Error) => void } | undefined;
  // What the timers guard now: the connect, the first byte, the body's idleness.
  #phase: 'connect' | 'head' | 'body' | 'none' = 'connect';
  #connectTimer: Timer | undefined;
  #headTimer: Timer | undefined;
  #bodyTimer: Timer | undefined;
  #shut = false;
  // Once the response ended, whether the connection goes back to the pool (after the read that ended it).
  #release = false;
  idleUntil = 0;

  constructor(pool: Http1Pool, host: string, port: number, options: Required<Http1PoolOptions>) {
    this.#pool = pool;
    this.#parser = new ResponseParser(this, options.maxHeadBytes);
    const socket = (this.#socket = connect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 }));
    this.#arm('connect', options.connectTimeoutMs);
    socket.on('connect', () => {
      this.#connected = true;
      this.#phase = 'none';
      this.#pool.ready(this, undefined);
    });
    socket.on('data', (data: Buffer) => this.#read(data));
    socket.on('end', () => {
      // The endpoint closed its side: a body that runs to the close ends; anything else fails.
      if (this.#attempt && this.#parser.untilClose) this.#parser.closed();
      this.fail(new UpstreamError('SOCKET_CLOSED', 'the endpoint closed the connection before the response was whole'));
    });
    socket.on('error', (error: Error) => this.fail(error));
    socket.on('close', () => this.fail(new UpstreamError('SOCKET_CLOSED', 'the connection closed before the response was whole')));
  }

  /** Sends the attempt's request on this connection. */
  run(attempt: Attempt): void {
    this.#attempt = attempt;
    attempt.connection = this;
    this.#requestDone = false;
    this.#release = false;
    this.#pool.started();
    this.#socket.ref();
    attempt.handler.onRequestStart(attempt);
    // Aborted in onRequestStart: fail() has ended it and closed this connection already.
    if (attempt.ended) return;
    const { request } = attempt;
    this.#parser.start(request.method === 'HEAD');
    const socket = this.#socket;
    const body = request.body;
    if (body === undefined) {
      socket.write(attempt.head, 'latin1');
      this.#requestDone = true;
    } else if (Buffer.isBuffer(body)) {
      const head = attempt.head;
      if (body.length <= kJoinBodyBytes) {
        // One buffer, one write: cheaper than a writev of a string and a buffer (the writev path
        // was a tenth of the sidecar's CPU on 1 KB JSON bodies).
        const joined = Buffer.allocUnsafe(head.length + body.length);
        body.copy(joined, joined.write(head, 0, 'latin1'));
        socket.write(joined);
      } else {
        // One writev for the head and the body, which is not copied.
        socket.cork();
        socket.write(head, 'latin1');
        socket.write(body);
        socket.uncork();
      }
      this.#requestDone = true;
    } else {
      socket.write(attempt.head, 'latin1');
      this.#stream(body, attempt);
    }
    if (attempt.ended) return;
    this.#arm('head', request.headersTimeout);
    if (attempt.paused) socket.pause();
  }

  // A streamed body: chunked unless the head gave its length; paced by the socket.
  #stream(body: Readable, attempt: Attempt): void {
    const declared = attempt.declaredLength;
    const chunked = declared === undefined;
    let sent = 0;
    const socket = this.#socket;
    const data = (chunk: Buffer) => {
      sent += chunk.length;
      if (declared !== undefined && sent > declared) return this.fail(new UpstreamError('BAD_REQUEST', `request body longer than its content-length ${declared}`));
      if (chunked) {
        if (chunk.length === 0) return;
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        socket.write('\r\n', 'latin1');
        socket.uncork();
      } else socket.write(chunk);
      if (socket.writableNeedDrain) {
        body.pause();
        socket.once('drain', () => this.#body === body && body.resume());
      }
    };
    const end = () => {
      if (declared !== undefined && sent !== declared) return this.fail(new UpstreamError('BAD_REQUEST', `request body of ${sent} bytes for its content-length ${declared}`));
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      this.#stopBody(false);
      this.#requestDone = true;
    };
    const error = (e: Error) => this.fail(e);
    this.#body = body;
    this.#bodyListeners = { data, end, error };
    body.on('data', data).on('end', end).on('error', error);
  }

  #stopBody(destroy: boolean): void {
    const body = this.#body, listeners = this.#bodyListeners;
    if (!body || !listeners) return;
    this.#body = undefined;
    this.#bodyListeners = undefined;
    body.off('data', listeners.data).off('end', listeners.end).off('error', listeners.error);
    if (destroy && !body.destroyed) body.destroy();
  }

  #read(data: Buffer): void {
    const attempt = this.#attempt;
    // Bytes with no request under way (a late 408, garbage): the connection is not to be trusted.
    if (!attempt) return void this.close();
    let used: number;
    try {
      used = this.#parser.execute(data);
    } catch (error) {
      return this.fail(error as Error);
    }
    if (!this.#release) return;
    this.#release = false;
    // Bytes after the response's end: framing went wrong somewhere; do not reuse.
    if (used < data.length) return this.close();
    this.#pool.ready(this, this.#parser.keepAliveHintMs);
  }

  onHead(status: number, headers: ResponseHeaders, statusText: string): void {
    const attempt = this.#attempt!;
    if (status >= 200) this.#arm('body', attempt.request.bodyTimeout);
    attempt.handler.onResponseStart(attempt, status, headers, statusText);
  }

  onBody(chunk: Buffer): void {
    const attempt = this.#attempt!;
    if (this.#phase === 'body') this.#bodyTimer!.refresh();
    attempt.handler.onResponseData(attempt, chunk);
  }

  onEnd(trailers: ResponseHeaders | undefined): void {
    const attempt = this.#attempt!;
    this.#detach(attempt);
    // Reused only when the endpoint keeps it open and the whole request went out (an answer
    // that came before the end of an upload leaves the connection mid-request).
    const reuse = this.#parser.keepAlive && this.#requestDone && this.#connected && !this.#socket.destroyed;
    if (!this.#requestDone) this.#stopBody(true);
    if (reuse) this.#release = true;
    else this.close();
    attempt.handler.onResponseEnd(attempt, trailers);
  }

  /** Ends the attempt under way with `error` (if any) and closes the connection. */
  fail(error: Error): void {
    if (this.#shut && !this.#attempt) return;
    const attempt = this.#attempt;
    // Never connected and carrying nothing: the endpoint could not be reached.
    const connectError = !this.#connected && !attempt ? error : undefined;
    this.#shutDown();
    if (attempt) {
      this.#detach(attempt);
      this.#stopBody(true);
    }
    this.#pool.gone(this, connectError);
    if (attempt) attempt.handler.onResponseError(attempt, error);
  }

  // The attempt leaves the connection: ended, counted, its timers off.
  #detach(attempt: Attempt): void {
    this.#attempt = undefined;
    attempt.ended = true;
    attempt.connection = undefined;
    this.#phase = 'none';
    if (attempt.paused) this.#socket.resume();
    this.#pool.finished();
  }

  /** Closes a connection that carries nothing. */
  close(): void {
    if (this.#shut) return;
    this.#shutDown();
    this.#pool.gone(this, undefined);
  }

  #shutDown(): void {
    this.#shut = true;
    this.#connected = false;
    this.#parser.stop();
    this.#phase = 'none';
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#headTimer);
    clearTimeout(this.#bodyTimer);
    this.#socket.destroy();
  }

  /** Waits in the pool's free list until `until` (performance.now()), unreferenced. */
  idle(until: number): void {
    this.idleUntil = until;
    this.#socket.unref();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
    if (this.#phase === 'body') this.#bodyTimer!.refresh();
  }

  // Guards `phase` for `ms` (0: nothing). A timer per phase, re-armed: a timer that fires in
  // another phase than its own does nothing.
  #arm(phase: 'connect' | 'head' | 'body', ms: number): void {
    if (ms <= 0) {
      this.#phase = 'none';
      return;
    }
    this.#phase = phase;
    if (phase === 'connect') this.#connectTimer = this.#timer(this.#connectTimer, phase, ms);
    else if (phase === 'head') this.#headTimer = this.#timer(this.#headTimer, phase, ms);
    else this.#bodyTimer = this.#timer(this.#bodyTimer, phase, ms);
  }

  #timer(timer: Timer | undefined, phase: 'connect' | 'head' | 'body', ms: number): Timer {
    if (timer && timer.ms === ms) return timer.refresh();
    clearTimeout(timer);
    const made = setTimeout(() => this.#expired(phase, ms), ms) as Timer;
    made.ms = ms;
    return made.unref();
  }

  #expired(phase: 'connect' | 'head' | 'body', ms: number): void {
    if (this.#phase !== phase) return;
    // A paused response waits for the client, not the endpoint.
    if (phase === 'body' && this.#attempt?.paused) return void this.#bodyTimer?.refresh();
    this.fail(
      phase === 'connect'
        ? new UpstreamError('CONNECT_TIMEOUT', `no connection within ${ms} ms`)
        : phase === 'head'
          ? new UpstreamError('HEADERS_TIMEOUT', `no response within ${ms} ms`)
          : new UpstreamError('BODY_TIMEOUT', `no response byte within ${ms} ms`),
    );
  }
}

type Timer = ReturnType<typeof setTimeout> & { ms: number };

// Bodies up to this size are copied behind their head and sent in one write.
const kJoinBodyBytes = 16_384;
