// One proxied request, from its arrival to the last byte of the answer. It is also the undici
// dispatch handler of each attempt (a retry reuses it): the endpoint's response is written
// straight into the client's as undici parses it, with no stream or promise in between, so a
// token stream passes chunk by chunk and the common request costs one object and two closures.
//
// NOTE: everything an attempt holds (the mesh route, the endpoint's connection and upload slots)
// is released exactly once, by #settle(): whatever ends the attempt (an answer, an error, the
// client leaving, a retry) passes through it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { WasmeshError } from '../core/WasmeshError.js';
import type { Mesh, Outcome, Route } from '../mesh/Mesh.js';
import type { FailureKind } from '../mesh/retry.js';
import type { AccessLog } from './AccessLog.js';
import { classify, ClientBodyError } from './failures.js';
import { lingerOnClose } from './lingeringClose.js';
import { normalizePath } from './paths.js';
import type { ProxyMetrics } from './ProxyMetrics.js';
import { readBody, streamBody } from './requestBody.js';
import { endToEnd, forwardHeaders, keyFromBody, keyFromHeaders, malformation, serviceOf, type ForwardingPolicy, type HashKeySource } from './requests.js';
import { promptOf, usageOf } from './openai.js';
import type { PromptFields } from '../mesh/llm/prompt.js';

/** An endpoint as the proxy sends to it: its keep-alive pool and what is under way there now. */
export interface Upstream {
  readonly dispatcher: Dispatcher;
  /** Attempts dispatched and not ended (on a connection, or waiting for one). */
  active: number;
  /** Attempts whose body streams from the client (larger than bufferBodyBytes). */
  uploads: number;
}

/** What an exchange needs from its proxy: the mesh, the settings of the moment, an upstream per endpoint. */
export interface ExchangeContext {
  readonly mesh: Mesh;
  readonly settings: ProxySettings;
  readonly accessLog: AccessLog;
  readonly metrics: ProxyMetrics;
  upstream(address: string): Upstream;
  log(line: string): void;
}

/** The proxy section of the config with its defaults filled in, as requests read it. */
export interface ProxySettings {
  readonly hashKeys: ReadonlyMap<string, HashKeySource>;
  /** Services with an admission queue: their requests may wait for room (routeAsync). */
  readonly queued: ReadonlySet<string>;
  /** prefix-cache and ttft services: their requests' prompts are read from OpenAI-style bodies. */
  readonly prompted: ReadonlySet<string>;
  readonly timeouts: { connectMs: number; firstByteMs: number; idleMs: number; bodyIdleMs: number; lingerMs: number };
  readonly limits: {
    maxHeaderBytes: number;
    maxBodyBytes: number;
    maxKeyBodyBytes: number;
    bufferBodyBytes: number;
    maxUploadsPerEndpoint: number;
    connectionsPerEndpoint: number;
    maxQueuedPerEndpoint: number;
    lingerBytes: number;
  };
  readonly endpointHeader: string | false;
  readonly forwarding: ForwardingPolicy;
  readonly normalizePath: boolean;
  readonly closing: boolean;
}

/** The JSON body of every answer the proxy gives itself; `reason` names why, for people and for scripts. */
export function errorBody(status: number, reason: string, message: string): string {
  return JSON.stringify({ error: { status, reason, message } });
}

/** Sends a JSON error (errorBody). */
export function fail(res: ServerResponse, status: number, reason: string, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(status, reason, message);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const kClientGone = new Error('the client closed the connection');
// A body this small left unread is read and dropped by node:http to keep the connection; a
// larger one (or one of unknown length) is not worth it: the connection closes, lingering.
const kDumpBytes = 65_536;
// The last bytes of an LLM answer kept to read its usage from (usageOf).
const kTailBytes = 4096;

export class Exchange implements Dispatcher.DispatchHandler {
  readonly #context: ExchangeContext;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #expectsContinue: boolean;
  readonly #started = performance.now();
  #settings!: ProxySettings;
  #service: string | undefined;
  #key: string | undefined;
  // prefix-cache and ttft services: the prompt; when the attempt's first token came (ms after its
  // start, token streams only) and the answer's last bytes (its usage).
  #prompt: PromptFields | undefined;
  #firstTokenMs: number | undefined;
  #sse = false;
  #tail: Buffer | undefined;
  #headers!: string[];
  // The body: whole (#body; none when undefined and not #streamed), or its first part (#head)
  // with the rest still coming from the client.
  #body: Buffer | undefined;
  #head: Buffer[] = [];
  #headBytes = 0;
  #streamed = false;
  // The attempt under way: its route, what it holds at the endpoint, whether undici began to
  // send it, its start, response status (0 before headers), whether its route is reported, and
  // the retry its 5xx answer asked for (its body is then thrown away).
  #route: Route | undefined;
  #upstream: Upstream | undefined;
  #upload = false;
  #sent = false;
  #attemptStart = 0;
  #attempts = 0;
  #status = 0;
  #reported = false;
  #next: { route: Route; delayMs: number } | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #clientGone = false;
  // For the access log.
  #bytesOut = 0;
  #upstreamMs: number | undefined;
  #reason: string | undefined;
  #cause: string | undefined;

  constructor(context: ExchangeContext, req: IncomingMessage, res: ServerResponse, expectsContinue = false) {
    this.#context = context;
    this.#req = req;
    this.#res = res;
    this.#expectsContinue = expectsContinue;
  }

  /** Checks the request, reads its body when it has one, routes it and sends it. */
  run(): void {
    const req = this.#req;
    const settings = (this.#settings = this.#context.settings);
    const { limits } = settings;
    if (settings.closing) return this.#answer(503, 'shutting-down', 'the proxy is shutting down', { connection: 'close' });
    // Origin-form only: an absolute URL or CONNECT would make this an open proxy.
    if (req.method === 'CONNECT' || !req.url?.startsWith('/')) return this.#badRequest('not-origin-form', 'only origin-form request targets ("/path") are proxied');
    const bad = malformation(req);
    if (bad) return this.#badRequest(bad, 'a request has one Host header (RFC 9112 3.2)');
    const path = settings.normalizePath ? normalizePath(req.url) : req.url;
    if (path === undefined) return this.#badRequest('encoded-slash', 'encoded "/" or "\\" in the path are refused (proxy.normalizePath)');
    const service = (this.#service = serviceOf(this.#context.mesh.config, req.headers.host, path));
    if (!service) return this.#answer(404, 'no-route', `no route for host ${JSON.stringify(req.headers.host ?? '')} path ${JSON.stringify(req.url)}`);
    const length = Number(req.headers['content-length'] ?? 0);
    // With expect: 100-continue this answer comes instead of the 100: the body is never sent.
    if (length > limits.maxBodyBytes) return this.#answer(413, 'body-too-large', `request body of ${length} bytes exceeds ${limits.maxBodyBytes}`);
    const hashKey = settings.hashKeys.get(service);
    const prompted = settings.prompted.has(service);
    if (req.complete || (length === 0 && req.headers['transfer-encoding'] === undefined)) return this.#routeTo(keyFromHeaders(hashKey, req.headers));
    if (this.#expectsContinue) this.#res.writeContinue();
    const bufferLimit = Math.min(limits.bufferBodyBytes, limits.maxBodyBytes);
    readBody(req, bufferLimit, settings.timeouts.bodyIdleMs).then(
      (prefix) => {
        if (prefix.bytes > limits.maxBodyBytes) return this.#answer(413, 'body-too-large', `request body exceeds ${limits.maxBodyBytes} bytes`);
        if (prefix.done) this.#body = prefix.bytes ? Buffer.concat(prefix.chunks, prefix.bytes) : undefined;
        else {
          this.#streamed = true;
          this.#head = prefix.chunks;
          this.#headBytes = prefix.bytes;
        }
        if (prompted) return this.#routeTo(keyFromHeaders(hashKey, req.headers), this.#promptOf(prefix.chunks, prefix.bytes, prefix.done));
        if (!hashKey || !('jsonField' in hashKey)) return this.#routeTo(keyFromHeaders(hashKey, req.headers));
        // Past maxKeyBodyBytes the body is not parsed: its first characters are the key.
        const whole = this.#body ?? Buffer.concat(prefix.chunks, prefix.bytes);
        this.#routeTo(keyFromBody(hashKey, whole.length > limits.maxKeyBodyBytes ? whole.subarray(0, limits.maxKeyBodyBytes) : whole));
      },
      (error: unknown) => this.#bodyFailed(error),
    );
  }

  /** The client's response closed (answered, or the client left): the endpoint's work stops too, and the request is logged. */
  closed(): void {
    const res = this.#res;
    if (!res.writableFinished) {
      this.#clientGone = true;
      this.#controller?.abort(kClientGone);
    }
    const status = res.headersSent ? res.statusCode : 499;
    const log = this.#context.accessLog;
    if (!log.wants(status)) return;
    log.record({
      // When it arrived: read off the monotonic start, so that a request not logged costs no clock read.
      time: new Date(Date.now() - (performance.now() - this.#started)).toISOString(),
      method: this.#req.method ?? '',
      path: this.#req.url ?? '',
      service: this.#service,
      endpoint: this.#route?.endpoint.id,
      status,
      attempts: this.#attempts,
      bytes: this.#bytesOut,
      durationMs: Math.round((performance.now() - this.#started) * 1000) / 1000,
      upstreamMs: this.#upstreamMs === undefined ? undefined : Math.round(this.#upstreamMs * 1000) / 1000,
      reason: status === 499 ? 'client-gone' : this.#reason,
      cause: this.#cause,
    });
  }

  // The prompt of a body read whole up to maxKeyBodyBytes: parsed (promptOf). A body larger than
  // that (or streamed) is not parsed: its first maxKeyBodyBytes bytes, as text, are the prompt, so
  // large requests alike still meet on one endpoint (their blocks are not a parsed prompt's).
  #promptOf(chunks: Buffer[], bytes: number, done: boolean): PromptFields | undefined {
    const max = this.#settings.limits.maxKeyBodyBytes;
    if (bytes === 0 || max === 0) return undefined;
    const whole = this.#body ?? Buffer.concat(chunks, bytes);
    if (done && bytes <= max) {
      try {
        return promptOf(JSON.parse(whole.toString('utf8')));
      } catch {
        return undefined;
      }
    }
    return { prompt: whole.subarray(0, max).toString('utf8') };
  }

  #routeTo(key: string | undefined, prompt?: PromptFields): void {
    this.#key = key;
    this.#prompt = prompt;
    const service = this.#service!;
    const request = prompt ? { ...prompt, service, ...(key === undefined ? {} : { key }) } : key === undefined ? { service } : { service, key };
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
    if (this.#clientGone) return this.#context.mesh.report(route, { cancelled: true });
    this.#headers = forwardHeaders(this.#req, this.#settings.forwarding);
    this.#send(route);
  }

  #send(route: Route): void {
    const { timeouts, limits } = this.#settings;
    const context = this.#context;
    let upstream = context.upstream(route.endpoint.address);
    // An endpoint whose connections and queue are taken, or whose upload slots are, gets no
    // more: a first try goes to another endpoint, a retry is not made.
    const avoid: string[] = [];
    for (let busy = this.#fullness(upstream); busy; busy = this.#fullness(upstream)) {
      context.mesh.report(route, { cancelled: true });
      avoid.push(route.endpoint.id);
      try {
        if (route.attempt > 0) throw new WasmeshError('NO_ENDPOINT', 'a retry goes to one endpoint only');
        route = context.mesh.route({ ...this.#prompt, service: route.service, ...(this.#key === undefined ? {} : { key: this.#key }), avoid, strictAvoid: true });
      } catch {
        this.#route = undefined;
        const what = busy === 'uploads-full' ? `${limits.maxUploadsPerEndpoint} streamed uploads` : `${limits.connectionsPerEndpoint} connections and ${limits.maxQueuedPerEndpoint} waiting requests`;
        return this.#answer(503, busy, `every eligible endpoint has ${what} under way`, { 'retry-after': '1' });
      }
      upstream = context.upstream(route.endpoint.address);
    }
    this.#route = route;
    this.#upstream = upstream;
    upstream.active++;
    this.#upload = this.#streamed;
    if (this.#upload) upstream.uploads++;
    this.#status = 0;
    this.#sent = false;
    this.#reported = false;
    this.#next = undefined;
    this.#controller = undefined;
    this.#firstTokenMs = undefined;
    this.#sse = false;
    this.#tail = undefined;
    this.#attemptStart = performance.now();
    this.#attempts++;
    const req = this.#req;
    // A retry says which try it is, so that an endpoint can recognise a request it has seen.
    const headers = this.#attempts > 1 ? [...this.#headers, 'x-wasmesh-attempt', String(this.#attempts)] : this.#headers;
    const body = this.#streamed ? streamBody(req, this.#head, this.#headBytes, limits.maxBodyBytes, timeouts.bodyIdleMs) : this.#body;
    upstream.dispatcher.dispatch({ method: req.method ?? 'GET', path: req.url!, headers, body, headersTimeout: timeouts.firstByteMs, bodyTimeout: timeouts.idleMs }, this);
  }

  // Why an endpoint takes no more of this request's kind now, if it does not.
  #fullness(u: Upstream): 'uploads-full' | 'pool-full' | undefined {
    const { limits } = this.#settings;
    if (this.#streamed && u.uploads >= limits.maxUploadsPerEndpoint) return 'uploads-full';
    return u.active >= limits.connectionsPerEndpoint + limits.maxQueuedPerEndpoint ? 'pool-full' : undefined;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.#sent = true;
    if (this.#clientGone) controller.abort(kClientGone);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // 1xx: the proxy answered the client's expect: 100-continue itself; the final status follows.
    if (statusCode < 200) return;
    this.#status = statusCode;
    const route = this.#route!;
    if (statusCode >= 500 && !this.#streamed) {
      this.#next = this.#retryAfter(route, { status: statusCode, method: this.#req.method });
      this.#reported = true;
      if (this.#next) return;
    }
    const res = this.#res;
    const out = endToEnd(headers);
    const endpointHeader = this.#settings.endpointHeader;
    if (endpointHeader) out.push(endpointHeader, route.endpoint.id);
    // The share of the prompt predicted cached where it went.
    if (route.cachedShare !== undefined) out.push('x-wasmesh-prefix-hit', route.cachedShare.toFixed(3));
    res.writeHead(statusCode, out);
    // A token stream shows its headers at once, before the first token.
    this.#sse = headers['content-type']?.includes('text/event-stream') ?? false;
    if (this.#sse) res.flushHeaders();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#next) return;
    if (this.#prompt) this.#watch(chunk);
    this.#bytesOut += chunk.length;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', () => controller.resume());
    }
  }

  // An LLM answer as it passes: when its first token came (a token stream's first chunk), and its
  // last bytes, where its usage is.
  #watch(chunk: Buffer): void {
    if (this.#sse && this.#firstTokenMs === undefined) this.#firstTokenMs = performance.now() - this.#attemptStart;
    const tail = this.#tail;
    if (chunk.length >= kTailBytes || !tail) this.#tail = Buffer.from(chunk.subarray(-kTailBytes));
    else this.#tail = Buffer.concat([tail, chunk]).subarray(-kTailBytes);
  }

  onResponseEnd(): void {
    this.#upstreamMs = performance.now() - this.#attemptStart;
    const next = this.#next;
    const outcome: Outcome = { status: this.#status, latencyMs: performance.now() - this.#started };
    if (this.#prompt && this.#status < 300) {
      if (this.#firstTokenMs !== undefined) outcome.ttftMs = this.#firstTokenMs;
      const usage = this.#tail && usageOf(this.#tail.toString('latin1'));
      if (usage) Object.assign(outcome, usage);
    }
    this.#settle(outcome);
    if (next) return this.#retry(next);
    this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const latencyMs = performance.now() - this.#attemptStart;
    if (this.#clientGone) {
      // Nobody to answer; the endpoint did nothing wrong.
      return this.#settle({ cancelled: true });
    }
    if (this.#status !== 0) {
      // Failed after the answer began (idle timeout, endpoint gone mid-body): cut it off, or
      // when it was a 5xx being thrown away, go on with its retry.
      const next = this.#next;
      this.#settle({ status: this.#status, failed: true, latencyMs });
      if (next) return this.#retry(next);
      this.#reason = 'upstream-reset';
      this.#cause = error.message;
      this.#res.destroy();
      return;
    }
    const failure = classify(error, this.#sent);
    if (failure.kind === 'gone') {
      this.#settle({ cancelled: true });
      this.#res.destroy();
      return;
    }
    if (failure.kind === 'client') {
      // The client's request: the endpoint is not blamed and nothing is retried.
      this.#settle({ cancelled: true });
      if (failure.status === 400) this.#context.metrics.badRequests.inc({ reason: 'refused-upstream' });
      return this.#answer(failure.status, failure.reason, error.message);
    }
    const route = this.#route!;
    const kind: FailureKind =
      failure.kind === 'timeout' ? { timeout: true, status: 504 } : failure.kind === 'reset' ? { reset: true } : { connectFailure: true };
    kind.method = this.#req.method;
    // mesh.retry reports the failed attempt itself; a streamed body is gone once sent: no retry.
    const next = this.#streamed ? undefined : this.#retryAfter(route, kind);
    this.#reported ||= !this.#streamed;
    this.#settle({ failed: true, latencyMs });
    if (next) return this.#retry(next);
    const timeout = failure.kind === 'timeout';
    this.#answer(timeout ? 504 : 502, timeout ? 'upstream-timeout' : failure.kind === 'reset' ? 'upstream-reset' : 'upstream-unreachable', `endpoint ${route.endpoint.id}: ${error.message}`);
  }

  // The attempt is over: its route reported (unless mesh.retry did), its slots at the endpoint freed.
  #settle(outcome: Outcome): void {
    const upstream = this.#upstream;
    if (upstream) {
      upstream.active--;
      if (this.#upload) upstream.uploads--;
      this.#upstream = undefined;
      this.#upload = false;
    }
    if (!this.#reported && this.#route) {
      this.#reported = true;
      this.#context.mesh.report(this.#route, outcome);
    }
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
      if (this.#clientGone) return this.#context.mesh.report(next.route, { cancelled: true });
      this.#send(next.route);
    }, next.delayMs);
  }

  #bodyFailed(error: unknown): void {
    if (!(error instanceof ClientBodyError)) return this.#internal(error);
    if (error.reason === 'aborted') return;
    // A stalled client would leave node:http waiting for the rest of its body to keep the connection: close it.
    if (error.reason === 'idle') return this.#answer(408, 'body-timeout', error.message, { connection: 'close' });
    this.#answer(413, 'body-too-large', error.message);
  }

  #badRequest(reason: string, message: string): void {
    this.#context.metrics.badRequests.inc({ reason });
    this.#answer(400, reason, message, { connection: 'close' });
  }

  /**
   * The proxy answers itself. When the client's body is still unread, a small rest of known
   * length is read and dropped (the connection stays); otherwise the connection closes, lingering.
   */
  #answer(status: number, reason: string, message: string, headers: Record<string, string> = {}): void {
    const req = this.#req, res = this.#res;
    this.#reason = reason;
    if (status >= 500) this.#cause = message;
    this.#context.metrics.localAnswers.inc({ status, reason });
    if (!req.complete && !res.headersSent) {
      const length = Number(req.headers['content-length'] ?? Infinity);
      // A client that waits for 100 Continue may never send the body a dump would wait for.
      if (!(length <= kDumpBytes) || this.#expectsContinue || headers.connection === 'close') {
        headers = { ...headers, connection: 'close' };
        const { timeouts, limits } = this.#settings;
        lingerOnClose(req.socket, timeouts.lingerMs, limits.lingerBytes);
      }
    }
    fail(res, status, reason, message, headers);
  }

  #refused(error: unknown): void {
    if (!(error instanceof WasmeshError)) return this.#internal(error);
    if (error.code === 'OVERLOADED' && error.message.startsWith('circuit open')) return this.#answer(503, 'circuit-open', error.message);
    if (error.code === 'OVERLOADED') return this.#answer(429, 'overloaded', error.message, { 'retry-after': '1' });
    if (error.code === 'NO_ENDPOINT') return this.#answer(503, 'no-endpoint', error.message);
    if (error.code === 'INVALID_KEY') return this.#answer(400, 'no-key', `${error.message}; send the service's hash key`);
    this.#internal(error);
  }

  #internal(error: unknown): void {
    if (this.#clientGone) return;
    this.#context.log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
    this.#answer(500, 'internal', 'the proxy failed on this request');
  }
}
