// One proxied request, from its arrival to the last byte of the answer. It is also the undici
// dispatch handler of each attempt (a retry reuses it): the endpoint's response is written
// straight into the client's as undici parses it, with no stream or promise in between, so a
// token stream passes chunk by chunk and the common request costs one object and two closures.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { WasmeshError } from '../core/WasmeshError.js';
import type { Mesh, Route } from '../mesh/Mesh.js';
import type { FailureKind } from '../mesh/retry.js';
import { endToEnd, forwardHeaders, keyFromBody, keyFromHeaders, readPrefix, serviceOf, type HashKeySource } from './requests.js';

/** What an exchange needs from its proxy: the mesh, the settings of the moment, a pool per endpoint. */
export interface ExchangeContext {
  readonly mesh: Mesh;
  readonly settings: ProxySettings;
  dispatcher(address: string): Dispatcher;
  log(line: string): void;
}

/** The proxy section of the config with its defaults filled in, as requests read it. */
export interface ProxySettings {
  readonly hashKeys: ReadonlyMap<string, HashKeySource>;
  /** Services with an admission queue: their requests may wait for room (routeAsync). */
  readonly queued: ReadonlySet<string>;
  readonly timeouts: { connectMs: number; firstByteMs: number; idleMs: number };
  readonly limits: { maxHeaderBytes: number; maxBodyBytes: number; maxKeyBodyBytes: number };
  readonly endpointHeader: string | false;
  readonly closing: boolean;
}

/** Sends a JSON error; `reason` names why, for people and for scripts. */
export function fail(res: ServerResponse, status: number, reason: string, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { status, reason, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const kClientGone = new Error('the client closed the connection');

export class Exchange implements Dispatcher.DispatchHandler {
  readonly #context: ExchangeContext;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #started = performance.now();
  #settings!: ProxySettings;
  #route!: Route;
  #headers!: string[];
  #body: Buffer | undefined;
  #chunks: Buffer[] = [];
  // Safe to send again: the whole body is at hand (none, or buffered). A streamed body is gone
  // once sent, whatever the method.
  #retrySafe = true;
  #bodyBytes = 0;
  // The attempt under way: its start, response status (0 before headers), whether mesh.retry
  // has reported it, and the retry its 5xx answer asked for (its body is then thrown away).
  #attemptStart = 0;
  #status = 0;
  #reported = false;
  #next: { route: Route; delayMs: number } | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #clientGone = false;

  constructor(context: ExchangeContext, req: IncomingMessage, res: ServerResponse) {
    this.#context = context;
    this.#req = req;
    this.#res = res;
  }

  /** Routes the request and sends it; everything after that happens in the handler methods. */
  run(): void {
    const req = this.#req, res = this.#res;
    const settings = (this.#settings = this.#context.settings);
    const { limits } = settings;
    if (settings.closing) return fail(res, 503, 'shutting-down', 'the proxy is shutting down', { connection: 'close' });
    // Origin-form only: an absolute URL or CONNECT would make this an open proxy.
    if (req.method === 'CONNECT' || !req.url?.startsWith('/')) return fail(res, 400, 'not-origin-form', 'only origin-form request targets ("/path") are proxied');
    const service = serviceOf(this.#context.mesh.config, req.headers.host, req.url);
    if (!service) return fail(res, 404, 'no-route', `no route for host ${JSON.stringify(req.headers.host ?? '')} path ${JSON.stringify(req.url)}`);
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > limits.maxBodyBytes) return this.#tooLarge(`request body of ${length} bytes exceeds ${limits.maxBodyBytes}`);
    const bodyless = length === 0 && req.headers['transfer-encoding'] === undefined;
    const hashKey = settings.hashKeys.get(service);
    if (!hashKey || !('jsonField' in hashKey)) {
      if (!bodyless) this.#retrySafe = false;
      return this.#routeTo(service, keyFromHeaders(hashKey, req.headers));
    }
    // A body key: read at most maxKeyBodyBytes, keep them for the send (and a retry).
    readPrefix(req, limits.maxKeyBodyBytes).then(
      (prefix) => {
        if (prefix.bytes > limits.maxBodyBytes) return this.#tooLarge(`request body exceeds ${limits.maxBodyBytes} bytes`);
        this.#chunks = prefix.chunks;
        this.#bodyBytes = prefix.bytes;
        this.#retrySafe = prefix.done;
        if (prefix.done) this.#body = prefix.bytes ? Buffer.concat(prefix.chunks) : undefined;
        this.#routeTo(service, keyFromBody(hashKey, this.#body ?? Buffer.concat(prefix.chunks)));
      },
      (error: unknown) => this.#internal(error),
    );
  }

  /** The client's response closed: when before the answer ended, the endpoint's work stops too (a token stream, say). */
  closed(): void {
    if (this.#res.writableFinished) return;
    this.#clientGone = true;
    this.#controller?.abort(kClientGone);
  }

  #routeTo(service: string, key: string | undefined): void {
    const request = key === undefined ? { service } : { service, key };
    const mesh = this.#context.mesh;
    if (this.#settings.queued.has(service)) {
      mesh.routeAsync(request).then(
        (route) => this.#begin(route),
        (error: unknown) => this.#refused(error),
      );
      return;
    }
    let route: Route;
    try {
      route = mesh.route(request);
    } catch (error) {
      return this.#refused(error);
    }
    this.#begin(route);
  }

  #begin(route: Route): void {
    if (this.#clientGone) return this.#context.mesh.report(route, { latencyMs: 0 });
    this.#headers = forwardHeaders(this.#req);
    this.#send(route);
  }

  #send(route: Route): void {
    const { timeouts } = this.#settings;
    this.#route = route;
    this.#status = 0;
    this.#reported = false;
    this.#next = undefined;
    this.#controller = undefined;
    this.#attemptStart = performance.now();
    const req = this.#req;
    this.#context.dispatcher(route.endpoint.address).dispatch(
      { method: req.method ?? 'GET', path: req.url!, headers: this.#headers, body: this.#requestBody(), headersTimeout: timeouts.firstByteMs, bodyTimeout: timeouts.idleMs },
      this,
    );
  }

  #requestBody(): Buffer | Readable | IncomingMessage | undefined {
    if (this.#retrySafe) return this.#body;
    const req = this.#req;
    const { maxBodyBytes } = this.#settings.limits;
    // A declared length was checked against the limit, and Node's parser holds the body to it.
    if (this.#chunks.length === 0 && req.headers['content-length'] !== undefined) return req;
    const self = this;
    return Readable.from(
      (async function* () {
        yield* self.#chunks;
        for await (const chunk of req as AsyncIterable<Buffer>) {
          self.#bodyBytes += chunk.length;
          if (self.#bodyBytes > maxBodyBytes) throw new WasmeshError('INVALID_ARGUMENT', `request body exceeds ${maxBodyBytes} bytes`);
          yield chunk;
        }
      })(),
    );
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#clientGone) controller.abort(kClientGone);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // 1xx: Node answers the client's expect: 100-continue itself; the final status follows.
    if (statusCode < 200) return;
    this.#status = statusCode;
    const route = this.#route;
    if (statusCode >= 500 && this.#retrySafe) {
      this.#next = this.#retryAfter(route, { status: statusCode });
      this.#reported = true;
      if (this.#next) return;
    }
    const res = this.#res;
    const out = endToEnd(headers);
    const endpointHeader = this.#settings.endpointHeader;
    if (endpointHeader) out.push(endpointHeader, route.endpoint.id);
    res.writeHead(statusCode, out);
    // A token stream shows its headers at once, before the first token.
    if (headers['content-type']?.includes('text/event-stream')) res.flushHeaders();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#next) return;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (this.#next) return this.#retry(this.#next);
    this.#res.end();
    if (!this.#reported) this.#context.mesh.report(this.#route, { status: this.#status, latencyMs: performance.now() - this.#started });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const mesh = this.#context.mesh;
    const route = this.#route, res = this.#res;
    const { maxBodyBytes } = this.#settings.limits;
    if (this.#clientGone) {
      // Nobody to answer; the endpoint did nothing wrong.
      if (!this.#reported) mesh.report(route, { latencyMs: performance.now() - this.#attemptStart });
      return;
    }
    if (this.#bodyBytes > maxBodyBytes) {
      mesh.report(route, { status: 413, latencyMs: performance.now() - this.#attemptStart, failed: false });
      return this.#tooLarge(`request body exceeds ${maxBodyBytes} bytes`);
    }
    if (this.#status !== 0) {
      // Failed after the answer began (idle timeout, endpoint gone mid-body): cut it off.
      if (!this.#reported) mesh.report(route, { status: this.#status, failed: true, latencyMs: performance.now() - this.#started });
      if (this.#next) this.#retry(this.#next);
      else res.destroy();
      return;
    }
    const timeout = (error as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT';
    const failure: FailureKind = timeout ? { status: 504 } : { connectFailure: true };
    // mesh.retry reports the failed attempt itself; otherwise it is reported here.
    const next = this.#retrySafe ? this.#retryAfter(route, failure) : undefined;
    if (next) return this.#retry(next);
    if (!this.#retrySafe) mesh.report(route, { failed: true, latencyMs: performance.now() - this.#attemptStart });
    fail(res, timeout ? 504 : 502, timeout ? 'upstream-timeout' : 'upstream-unreachable', `endpoint ${route.endpoint.id}: ${error.message}`);
  }

  // mesh.retry reports the failed attempt; a retry it cannot route (every other endpoint full or
  // gone) is no retry.
  #retryAfter(route: Route, failure: FailureKind): { route: Route; delayMs: number } | undefined {
    try {
      return this.#context.mesh.retry(route, failure);
    } catch (error) {
      if (error instanceof WasmeshError) return undefined;
      throw error;
    }
  }

  #retry(next: { route: Route; delayMs: number }): void {
    setTimeout(() => {
      if (this.#clientGone) return this.#context.mesh.report(next.route, { latencyMs: 0 });
      this.#send(next.route);
    }, next.delayMs);
  }

  #tooLarge(message: string): void {
    fail(this.#res, 413, 'body-too-large', message, { connection: 'close' });
  }

  #refused(error: unknown): void {
    const res = this.#res;
    if (!(error instanceof WasmeshError)) return this.#internal(error);
    if (error.code === 'OVERLOADED' && error.message.startsWith('circuit open')) return fail(res, 503, 'circuit-open', error.message);
    if (error.code === 'OVERLOADED') return fail(res, 429, 'overloaded', error.message, { 'retry-after': '1' });
    if (error.code === 'NO_ENDPOINT') return fail(res, 503, 'no-endpoint', error.message);
    if (error.code === 'INVALID_KEY') return fail(res, 400, 'no-key', `${error.message}; send the service's hash key`);
    this.#internal(error);
  }

  #internal(error: unknown): void {
    if (this.#clientGone) return;
    this.#context.log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
    fail(this.#res, 500, 'internal', 'the proxy failed on this request');
  }
}
