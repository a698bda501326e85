// One proxied request, from its arrival to the last byte of the answer. It is also the upstream
// handler of each attempt (a retry reuses it): the endpoint's response is written straight into
// the client's as the pool's parser reads it, with no stream or promise in between, so a
// token stream passes chunk by chunk and the common request costs one object and two closures.
//
// NOTE: everything an attempt holds (the mesh route, the endpoint's connection and upload slots)
// is released exactly once, by #settle(): whatever ends the attempt (an answer, an error, the
// client leaving, a retry) passes through it.
import type { IncomingMessage } from 'node:http';
import { WasmeshError } from '../core/WasmeshError.js';
import type { Mesh, Outcome, Route, RouteRequest } from '../mesh/Mesh.js';
import type { FailureKind } from '../mesh/retry.js';
import type { AccessLog } from './AccessLog.js';
import { classify, ClientBodyError } from './failures.js';
import { lingerOnClose } from './lingeringClose.js';
import { normalizePath } from './paths.js';
import type { ProxyMetrics } from './ProxyMetrics.js';
import { readBody, streamBody, type BodyPrefix } from './requestBody.js';
import { endToEnd, forwardHeaders, headerOf, keyFromBody, keyFromHeaders, malformation, serviceOf, type ForwardingPolicy, type HashKeySource, type RequestHead } from './requests.js';
import { promptOf } from './openai.js';
import type { PromptFields } from '../mesh/llm/prompt.js';
import type { Gateway, GatewaySettings } from '../gateway/Gateway.js';
import type { Reservation } from '../gateway/budgets/Budgets.js';
import { llmRequestBySize, llmRequestOf, modelOf, priorityOf, rewrite, tenantOf, type LlmRequest } from '../gateway/llmRequest.js';
import { UsageMeter } from '../gateway/usage.js';
import { kIdempotentMethods } from '../mesh/retry.js';
import type { Http1Pool, ResponseHeaders, UpstreamController, UpstreamHandler } from './http1/Http1Pool.js';
import { isFieldValue } from './http1/chars.js';

/** An endpoint as the proxy sends to it: its keep-alive pool and what is under way there now. */
export interface Upstream {
  readonly pool: Http1Pool;
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
  readonly gateway: Gateway;
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
  /** Some route names a model: the service of a request with a body is known once its body is read. */
  readonly modelRoutes: boolean;
  /** JSON bodies are parsed (model, stream, max_tokens) for the gateway: budgets, model routes, fallbacks, usage. */
  readonly llm: boolean;
  /** Each service's fallback chain, and the model it serves (services[].model). */
  readonly fallbacks: ReadonlyMap<string, readonly string[]>;
  readonly models: ReadonlyMap<string, string>;
  readonly gateway: GatewaySettings;
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

/**
 * What an exchange does with its answer: the subset of node:http's ServerResponse it uses, which
 * the fast path's Http1Response has too.
 */
export interface ProxyResponse {
  /** writeHead was called. */
  readonly headersSent: boolean;
  readonly statusCode: number;
  /** end() was called and its bytes handed on. */
  readonly writableFinished: boolean;
  writeHead(status: number, headers?: string[] | Record<string, string | number>): unknown;
  writeContinue(): void;
  flushHeaders(): void;
  /** False when the client's socket holds too much: wait for 'drain'. */
  write(chunk: Buffer): boolean;
  end(chunk?: string): unknown;
  destroy(): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
}

/** The largest body read whole before routing (a larger one streams to the endpoint after its first part). */
export function wholeBodyBytes(settings: ProxySettings): number {
  return Math.min(settings.limits.bufferBodyBytes, settings.limits.maxBodyBytes);
}

/** The JSON body of every answer the proxy gives itself; `reason` names why, for people and for scripts. */
export function errorBody(status: number, reason: string, message: string): string {
  return JSON.stringify({ error: { status, reason, message } });
}

/** Sends a JSON error (errorBody). */
export function fail(res: ProxyResponse, status: number, reason: string, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(status, reason, message);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const kClientGone = new Error('the client closed the connection');
// C0 controls and DEL: never part of a name.
const kControl = /[\x00-\x1f\x7f]/;

/** A name (an endpoint's, a model's) as a header value: as it is when it can be (Latin-1 text), else percent-encoded UTF-8. */
function namedInHeader(name: string): string {
  return isFieldValue(name) ? name : encodeURIComponent(name);
}

// A body this small left unread is read and dropped by node:http to keep the connection; a
// larger one (or one of unknown length) is not worth it: the connection closes, lingering.
const kDumpBytes = 65_536;
// Refusals a fallback service may take instead: nothing reached an endpoint. (A model or adapter
// that no endpoint serves is the client's mistake: another model is not what it asked for.)
const kFallbackCodes = new Set(['OVERLOADED', 'NO_ENDPOINT']);

export class Exchange implements UpstreamHandler {
  readonly #context: ExchangeContext;
  readonly #req: RequestHead;
  readonly #res: ProxyResponse;
  readonly #expectsContinue: boolean;
  readonly #started = performance.now();
  #settings!: ProxySettings;
  #service: string | undefined;
  #key: string | undefined;
  // prefix-cache and ttft services: the prompt.
  #prompt: PromptFields | undefined;
  // LLM requests (settings.llm): the parsed body, what the gateway reads of it, the model asked of
  // the endpoint now (a fallback's may differ), who it is for, its budget charge, the fallbacks
  // left, and the attempt's usage meter.
  #parsed: Record<string, unknown> | undefined;
  #llm: LlmRequest | undefined;
  #model: string | undefined;
  #tenantName: string | undefined;
  #priority = 0;
  #reservation: Reservation | undefined;
  #budgetHeaders: Record<string, string> | undefined;
  #fallbacks: string[] | undefined;
  #firstService: string | undefined;
  #fallbackAfter: string | undefined;
  #meter: UsageMeter | undefined;
  // An attempt was sent since the budget charge was made (an engine may have worked on it).
  #sentEver = false;
  #headers!: string[];
  // The body: whole (#body; none when undefined and not #streamed), or its first part (#head)
  // with the rest still coming from the client.
  #body: Buffer | undefined;
  #head: Buffer[] = [];
  #headBytes = 0;
  #streamed = false;
  // The attempt under way: its route, what it holds at the endpoint, whether the pool began to
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
  #controller: UpstreamController | undefined;
  #clientGone = false;
  // For the access log.
  #bytesOut = 0;
  #upstreamMs: number | undefined;
  #reason: string | undefined;
  #cause: string | undefined;

  constructor(context: ExchangeContext, req: RequestHead, res: ProxyResponse, expectsContinue = false) {
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
    if (req.headers['x-wasmesh-priority'] !== undefined) {
      const priority = priorityOf(req.headers);
      if (priority instanceof Error) return this.#badRequest('bad-priority', priority.message);
      this.#priority = priority;
    }
    // With model routes, a request with a body finds its service once the body is read.
    if (!settings.modelRoutes && !this.#serviceFor(path, undefined)) return;
    const length = Number(req.headers['content-length'] ?? 0);
    // With expect: 100-continue this answer comes instead of the 100: the body is never sent.
    if (length > limits.maxBodyBytes) return this.#answer(413, 'body-too-large', `request body of ${length} bytes exceeds ${limits.maxBodyBytes}`);
    // The proxy's own reader hands a request over with its body read whole.
    const body = req.body;
    if (body !== undefined) return this.#bodyRead({ chunks: [body], bytes: body.length, done: true }, path, length);
    if (req.complete || (length === 0 && req.headers['transfer-encoding'] === undefined)) {
      if (settings.modelRoutes && !this.#serviceFor(path, undefined)) return;
      return this.#admit(keyFromHeaders(settings.hashKeys.get(this.#service!), req.headers));
    }
    if (this.#expectsContinue) this.#res.writeContinue();
    readBody(this.#bodyStream, wholeBodyBytes(settings), settings.timeouts.bodyIdleMs).then(
      (prefix) => this.#bodyRead(prefix, path, length),
      (error: unknown) => this.#bodyFailed(error),
    );
  }

  // The body is read (whole, or its first part when it streams): the service, key and prompt it gives, then admission.
  #bodyRead(prefix: BodyPrefix, path: string, length: number): void {
    const req = this.#req;
    const settings = this.#settings;
    const { limits } = settings;
    if (prefix.bytes > limits.maxBodyBytes) return this.#answer(413, 'body-too-large', `request body exceeds ${limits.maxBodyBytes} bytes`);
    if (prefix.done) this.#body = prefix.bytes === 0 ? undefined : prefix.chunks.length === 1 ? prefix.chunks[0] : Buffer.concat(prefix.chunks, prefix.bytes);
    else {
      this.#streamed = true;
      this.#head = prefix.chunks;
      this.#headBytes = prefix.bytes;
    }
    const whole = this.#body ?? Buffer.concat(prefix.chunks, prefix.bytes);
    // Bodies read whole up to maxKeyBodyBytes are parsed once, for every reader below.
    const parsed = (settings.llm || settings.prompted.has(this.#service!)) && prefix.done ? this.#parse(whole) : undefined;
    if (settings.modelRoutes && !this.#serviceFor(path, modelOf(parsed))) return;
    const service = this.#service!;
    const hashKey = settings.hashKeys.get(service);
    // The prompt is rendered once, for the gateway's estimate and the prefix policies alike.
    const fields = parsed && promptOf(parsed);
    if (settings.llm && parsed) {
      this.#readLlm(parsed, fields);
      // A model name with a control character is the client's mistake, refused before it reaches
      // an endpoint (named back in x-wasmesh-model, it once split the answer's head and got the
      // endpoint blamed).
      if (this.#model !== undefined && kControl.test(this.#model)) {
        this.#context.metrics.badRequests.inc({ reason: 'bad-model' });
        return this.#answer(400, 'bad-model', `model ${JSON.stringify(this.#model)} holds a control character`);
      }
    }
    // Too large to parse: charged by its size, so that padding a body never escapes a budget.
    else if (settings.llm && (whole.length > limits.maxKeyBodyBytes || !prefix.done)) this.#llm = llmRequestBySize(Math.max(whole.length, length), settings.gateway.defaultMaxTokens);
    if (settings.prompted.has(service)) return this.#admit(keyFromHeaders(hashKey, req.headers), this.#promptOf(fields, whole, prefix.done));
    if (!hashKey || !('jsonField' in hashKey)) return this.#admit(keyFromHeaders(hashKey, req.headers));
    // Past maxKeyBodyBytes the body is not parsed: its first characters are the key.
    this.#admit(keyFromBody(hashKey, whole.length > limits.maxKeyBodyBytes ? whole.subarray(0, limits.maxKeyBodyBytes) : whole));
  }

  // The request as the stream its body comes on: only node:http's requests have a body still to
  // read (the proxy's own reader hands requests over complete, with their body).
  get #bodyStream(): IncomingMessage {
    return this.#req as IncomingMessage;
  }

  // The service of the request (by host, path and the body's model), its fallbacks; false after a 404.
  #serviceFor(path: string, model: string | undefined): boolean {
    const settings = this.#settings;
    const service = (this.#service = serviceOf(this.#context.mesh.config, this.#req.headers.host, path, model));
    if (!service) {
      this.#answer(404, 'no-route', `no route for host ${JSON.stringify(this.#req.headers.host ?? '')} path ${JSON.stringify(this.#req.url)}${model === undefined ? '' : ` model ${JSON.stringify(model)}`}`);
      return false;
    }
    const chain = settings.fallbacks.get(service);
    if (chain) this.#fallbacks = [...chain];
    this.#firstService = service;
    return true;
  }

  #parse(whole: Buffer): Record<string, unknown> | undefined {
    if (whole.length === 0 || whole.length > this.#settings.limits.maxKeyBodyBytes) return undefined;
    try {
      const v: unknown = JSON.parse(whole.toString('utf8'));
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  // An LLM request: its model and token estimate (from the rendered prompt's length).
  #readLlm(parsed: Record<string, unknown>, fields: PromptFields | undefined): void {
    const prompt = fields?.prompt;
    const chars = prompt === undefined ? 0 : typeof prompt === 'string' ? prompt.length : prompt.length * 4;
    this.#parsed = parsed;
    this.#llm = llmRequestOf(parsed, chars, this.#settings.gateway.defaultMaxTokens);
    this.#model = this.#llm.model;
  }

  get #tenant(): string {
    const g = this.#settings.gateway;
    return (this.#tenantName ??= tenantOf(this.#req.headers, g.tenantHeader, g.apiKeyHeader));
  }

  // Budget admission (LLM requests, when budgets are configured), then routing.
  #admit(key: string | undefined, prompt?: PromptFields): void {
    this.#key = key;
    this.#prompt = prompt;
    const gateway = this.#context.gateway;
    if (!this.#llm || !gateway.budgeted) return this.#routeTo();
    gateway.budgets.reserve(this.#tenant, this.#model ?? '', this.#llm.estimate).then(
      (decision) => {
        if (decision.kind === 'admitted') {
          this.#reservation = decision.reservation;
          this.#sentEver = false;
          // The client left while Redis answered: nothing reaches an engine.
          if (this.#clientGone) return gateway.budgets.refund(decision.reservation);
        }
        if (this.#clientGone) return;
        if (decision.kind === 'limited') return this.#answer(429, 'token-budget', decision.message, decision.headers);
        if (decision.kind === 'unavailable') return this.#answer(503, 'budget-store-down', decision.message, { 'retry-after': '1' });
        this.#budgetHeaders = decision.headers;
        this.#routeTo();
      },
      (error: unknown) => this.#internal(error),
    );
  }

  // After a refusal (nothing reached an endpoint, or it answered 429 or 503 to a request that may be
  // replayed): the next service of the chain takes the request, asking for its model; the budget
  // charge of the refused one is refunded, the next one's charged. False when none is left.
  #fallback(reason: string): boolean {
    const next = this.#fallbacks?.shift();
    if (next === undefined) return false;
    const gateway = this.#context.gateway;
    gateway.metrics.fallbacks.inc({ from: this.#service!, to: next, reason });
    if (this.#reservation) gateway.budgets.refund(this.#reservation);
    this.#reservation = undefined;
    this.#budgetHeaders = undefined;
    this.#service = next;
    const model = this.#settings.models.get(next);
    if (model !== undefined && this.#parsed) this.#model = model;
    const prompt = this.#prompt && this.#model !== undefined ? { ...this.#prompt, model: this.#model } : this.#prompt;
    this.#admit(this.#key, prompt);
    return true;
  }

  // A request the client allows to be sent twice: an idempotent method, or an Idempotency-Key.
  #replayable(): boolean {
    return kIdempotentMethods.includes(this.#req.method ?? '') || this.#req.headers['idempotency-key'] !== undefined;
  }

  /** The client's response closed (answered, or the client left): the endpoint's work stops too, and the request is logged. */
  closed(): void {
    const res = this.#res;
    if (!res.writableFinished) {
      this.#clientGone = true;
      this.#controller?.abort(kClientGone);
    }
    // However it ended, the budget charge settles: at its estimate when an engine may have worked
    // on it, refunded when none did. (An answer with usage settled it already.)
    const r = this.#reservation;
    if (r && !r.settled) this.#sentEver ? this.#context.gateway.budgets.settle(r, undefined) : this.#context.gateway.budgets.refund(r);
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
  #promptOf(fields: PromptFields | undefined, whole: Buffer, done: boolean): PromptFields | undefined {
    const max = this.#settings.limits.maxKeyBodyBytes;
    if (whole.length === 0 || max === 0) return undefined;
    if (done && whole.length <= max) return fields;
    return { prompt: whole.subarray(0, max).toString('utf8') };
  }

  // What the mesh is asked to route: the service, key, prompt (or model), priority and tenant.
  #request(): RouteRequest {
    const key = this.#key, prompt = this.#prompt;
    const service = this.#service!;
    const request: RouteRequest = prompt ? { ...prompt, service } : { service };
    if (key !== undefined) request.key = key;
    if (this.#model !== undefined && !prompt) request.model = this.#model;
    if (this.#priority !== 0) request.priority = this.#priority;
    if (this.#settings.queued.has(service)) request.tenant = this.#tenant;
    return request;
  }

  #routeTo(): void {
    const request = this.#request();
    const queued = this.#settings.queued.has(request.service);
    const mesh = this.#context.mesh;
    if (queued) {
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
    // The body as this service's endpoint gets it: its model, usage asked of a stream.
    const parsed = this.#parsed;
    if (parsed) {
      const body = rewrite(parsed, { model: this.#model !== this.#llm?.model ? this.#model : undefined, includeUsage: this.#settings.gateway.includeUsage && this.#llm?.stream === true });
      if (body) {
        this.#body = body;
        this.#headers = withLength(this.#headers, body.length);
      }
    }
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
        // The same request (its model among the rest: another endpoint must serve it too).
        route = context.mesh.route({ ...this.#request(), avoid, strictAvoid: true });
      } catch {
        this.#route = undefined;
        // A first try that found every endpoint full sent nothing: the fallback chain may take it.
        if (route.attempt === 0 && this.#fallback(busy)) return;
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
    this.#meter = undefined;
    this.#fallbackAfter = undefined;
    this.#attemptStart = performance.now();
    this.#attempts++;
    const req = this.#req;
    // A retry says which try it is, so that an endpoint can recognise a request it has seen.
    const headers = this.#attempts > 1 ? [...this.#headers, 'x-wasmesh-attempt', String(this.#attempts)] : this.#headers;
    const body = this.#streamed ? streamBody(this.#bodyStream, this.#head, this.#headBytes, limits.maxBodyBytes, timeouts.bodyIdleMs) : this.#body;
    // The controller at once: a client that leaves while the attempt waits for a connection ends it too.
    this.#controller = upstream.pool.dispatch({ method: req.method ?? 'GET', path: req.url!, headers, body, headersTimeout: timeouts.firstByteMs, bodyTimeout: timeouts.idleMs }, this);
  }

  // Why an endpoint takes no more of this request's kind now, if it does not.
  #fullness(u: Upstream): 'uploads-full' | 'pool-full' | undefined {
    const { limits } = this.#settings;
    if (this.#streamed && u.uploads >= limits.maxUploadsPerEndpoint) return 'uploads-full';
    return u.active >= limits.connectionsPerEndpoint + limits.maxQueuedPerEndpoint ? 'pool-full' : undefined;
  }

  onRequestStart(controller: UpstreamController): void {
    this.#controller = controller;
    this.#sent = true;
    this.#sentEver = true;
    if (this.#clientGone) controller.abort(kClientGone);
  }

  onResponseStart(_controller: UpstreamController, statusCode: number, headers: ResponseHeaders): void {
    // 1xx: the proxy answered the client's expect: 100-continue itself; the final status follows.
    if (statusCode < 200) return;
    this.#status = statusCode;
    const route = this.#route!;
    if (statusCode >= 500 && !this.#streamed) {
      this.#next = this.#retryAfter(route, { status: statusCode, method: this.#req.method });
      this.#reported = true;
      if (this.#next) return;
    }
    // An endpoint that refuses (429, 503) a request the client lets be replayed: the next service
    // of the fallback chain takes it once this answer is read and dropped.
    if ((statusCode === 429 || statusCode === 503) && this.#fallbacks?.length && !this.#streamed && this.#replayable()) {
      this.#fallbackAfter = `upstream-${statusCode}`;
      return;
    }
    const res = this.#res;
    const out = endToEnd(headers);
    const endpointHeader = this.#settings.endpointHeader;
    if (endpointHeader) out.push(endpointHeader, namedInHeader(route.endpoint.id));
    // The share of the prompt predicted cached where it went.
    if (route.cachedShare !== undefined) out.push('x-wasmesh-prefix-hit', route.cachedShare.toFixed(3));
    // Which model answered, and which service when a fallback did.
    if (this.#model !== undefined) out.push('x-wasmesh-model', namedInHeader(this.#model));
    if (this.#service !== this.#firstService) out.push('x-wasmesh-fallback', namedInHeader(`${this.#firstService} -> ${this.#service}`));
    const budget = this.#budgetHeaders;
    if (budget) for (const name in budget) out.push(name, budget[name]!);
    res.writeHead(statusCode, out);
    // A token stream shows its headers at once, before the first token.
    const sse = headerOf(headers, 'content-type')?.includes('text/event-stream') ?? false;
    if (sse) res.flushHeaders();
    if (this.#prompt || this.#llm) this.#meter = new UsageMeter(sse);
  }

  onResponseData(controller: UpstreamController, chunk: Buffer): void {
    if (this.#next || this.#fallbackAfter) return;
    this.#meter?.chunk(chunk, performance.now());
    this.#bytesOut += chunk.length;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.#upstreamMs = performance.now() - this.#attemptStart;
    const next = this.#next;
    const outcome: Outcome = { status: this.#status, latencyMs: performance.now() - this.#started };
    const meter = this.#meter;
    if (meter && this.#status < 300) this.#metered(meter, outcome);
    this.#settle(outcome);
    if (next) return this.#retry(next);
    if (this.#fallbackAfter && this.#fallback(this.#fallbackAfter)) return;
    this.#res.end();
  }

  // An LLM answer ended: its TTFT, usage and time per token go to the mesh (outcome), the
  // gateway's metrics and the budget (reconciled with what it used).
  #metered(meter: UsageMeter, outcome: Outcome): void {
    const usage = meter.usage();
    if (meter.firstAt !== undefined) outcome.ttftMs = meter.firstAt - this.#attemptStart;
    if (usage?.promptTokens !== undefined) outcome.promptTokens = usage.promptTokens;
    if (usage?.cachedTokens !== undefined) outcome.cachedTokens = usage.cachedTokens;
    if (usage?.completionTokens !== undefined) outcome.completionTokens = usage.completionTokens;
    const gateway = this.#context.gateway;
    const streamMs = meter.firstAt !== undefined && meter.lastAt !== undefined ? meter.lastAt - meter.firstAt : undefined;
    gateway.served({ service: this.#service!, endpoint: this.#route!.endpoint.id, model: this.#model ?? '', tenant: this.#llm ? this.#tenant : '' }, usage, outcome.ttftMs, streamMs);
    const r = this.#reservation;
    if (!r || !usage || !this.#llm) return;
    // Without usage, a stream's prompt is the estimate's and its output its events.
    const prompt = usage.promptTokens ?? this.#llm.promptTokens;
    gateway.budgets.settle(r, usage.completionTokens === undefined ? undefined : prompt + usage.completionTokens);
  }

  onResponseError(_controller: UpstreamController, error: Error): void {
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
    if (kFallbackCodes.has(error.code) && !this.#clientGone && this.#fallback(error.code.toLowerCase().replace('_', '-'))) return;
    if (error.code === 'UNKNOWN_MODEL') return this.#answer(404, 'model-not-found', error.message);
    if (error.code === 'OVERLOADED' && error.message.startsWith('shed')) return this.#answer(429, 'shed', error.message, { 'retry-after': '1' });
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

/** Headers with content-length set to `length` (a rewritten body). */
function withLength(headers: readonly string[], length: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() !== 'content-length') out.push(headers[i]!, headers[i + 1]!);
  out.push('content-length', String(length));
  return out;
}
