// The sidecar data plane: an HTTP reverse proxy that asks the mesh where each request goes,
// forwards it on a keep-alive HTTP/1.1 pool per endpoint (http1/Http1Pool), streams both bodies
// (token streams pass chunk by chunk), and reports every outcome back to the mesh (health,
// retries, metrics).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Http1Front } from './http1/Http1Front.js';
import { Http1Pool } from './http1/Http1Pool.js';
import type { MeshConfig, ProxyConfig } from '../mesh/config.js';
import type { Mesh } from '../mesh/Mesh.js';
import { AccessLog, type AccessLogLevel } from './AccessLog.js';
import { errorBody, Exchange, fail, wholeBodyBytes, type ExchangeContext, type ProxyResponse, type ProxySettings, type Upstream } from './Exchange.js';
import { ProxyMetrics } from './ProxyMetrics.js';
import { Gateway, gatewaySettings } from '../gateway/Gateway.js';
import { kDefaultForwarding, type RequestHead } from './requests.js';

/** Defaults of the proxy section of the config. */
export const kDefaultProxy = Object.freeze({
  listen: { host: '127.0.0.1', port: 15001 },
  admin: { host: '127.0.0.1', port: 15000 },
  timeouts: { connectMs: 2000, firstByteMs: 60_000, idleMs: 60_000, bodyIdleMs: 10_000, lingerMs: 5000 },
  limits: {
    maxHeaderBytes: 16_384,
    maxBodyBytes: 10 * 2 ** 20,
    // An 8K-token chat is about 40 KB of JSON; 256 KiB parses prompts of about 60K tokens whole.
    maxKeyBodyBytes: 262_144,
    bufferBodyBytes: 2 ** 20,
    maxUploadsPerEndpoint: 16,
    connectionsPerEndpoint: 128,
    maxQueuedPerEndpoint: 128,
    lingerBytes: 2 ** 20,
  },
  endpointHeader: 'x-wasmesh-endpoint' as string | false,
  forwarding: kDefaultForwarding,
  normalizePath: false,
  accessLog: { level: 'all' as AccessLogLevel },
});

/** Options of a SidecarProxy. */
export interface SidecarProxyOptions {
  /** The mesh to route with; its config's `proxy` section sets listeners, routes and limits. */
  mesh: Mesh;
  /** Where messages go (errors, reloads). Default: stderr. */
  log?: (line: string) => void;
  /** The access log's level, over the config's `proxy.accessLog.level`. */
  accessLog?: AccessLogLevel;
  /** Where access log lines go instead of the config's file or stdout (one line a call, no newline). */
  accessLogSink?: (line: string) => void;
  /** The AI gateway (budgets, engine metrics, usage); default one with budgets in this process (Gateway.start opens Redis). The proxy closes it. */
  gateway?: Gateway;
  /**
   * Requests of the common shape (HTTP/1.1, no body or a content-length one up to bufferBodyBytes,
   * nothing unusual in the head) are read by the proxy's own HTTP/1.1 server side (http1/Http1Front),
   * the rest by node:http (default true). false: node:http reads all.
   */
  fastPath?: boolean;
}

function settingsOf(config: Readonly<MeshConfig>, closing: boolean): ProxySettings {
  const p: ProxyConfig = config.proxy ?? {};
  return Object.freeze({
    hashKeys: new Map(config.services.flatMap((s) => (s.hashKey ? [[s.name, s.hashKey] as const] : []))),
    queued: new Set(config.services.filter((s) => (s.admission?.queue ?? 0) > 0).map((s) => s.name)),
    prompted: new Set(config.services.filter((s) => s.policy === 'prefix-cache' || s.policy === 'ttft').map((s) => s.name)),
    modelRoutes: p.routes?.some((r) => r.model !== undefined) ?? false,
    llm: p.gateway !== undefined || (p.routes?.some((r) => r.model !== undefined) ?? false) || config.services.some((s) => s.model !== undefined || s.fallback !== undefined || s.metrics !== undefined || s.endpoints?.some((e) => e.models !== undefined)),
    fallbacks: new Map(config.services.flatMap((s) => (s.fallback?.length ? [[s.name, s.fallback] as const] : []))),
    models: new Map(config.services.flatMap((s) => (s.model !== undefined ? [[s.name, s.model] as const] : []))),
    gateway: gatewaySettings(p),
    timeouts: { ...kDefaultProxy.timeouts, ...p.timeouts },
    limits: { ...kDefaultProxy.limits, ...p.limits },
    endpointHeader: p.endpointHeader ?? kDefaultProxy.endpointHeader,
    forwarding: { ...kDefaultProxy.forwarding, ...p.forwarding },
    normalizePath: p.normalizePath ?? kDefaultProxy.normalizePath,
    closing,
  });
}

/** A whole HTTP/1.1 error answer, for a socket that has no response object. */
function rawAnswer(status: number, text: string, reason: string, message: string): string {
  const body = errorBody(status, reason, message);
  return `HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export class SidecarProxy implements ExchangeContext {
  readonly mesh: Mesh;
  readonly log: (line: string) => void;
  readonly accessLog: AccessLog;
  readonly metrics = new ProxyMetrics();
  readonly gateway: Gateway;
  readonly #upstreams = new Map<string, Upstream>();
  readonly #server: Server;
  readonly #front: Http1Front | undefined;
  #settings: ProxySettings;
  #inflight = 0;

  constructor(options: SidecarProxyOptions) {
    this.mesh = options.mesh;
    this.log = options.log ?? ((line) => console.error(`wasmesh proxy: ${line}`));
    this.#settings = settingsOf(this.mesh.config, false);
    this.gateway = options.gateway ?? new Gateway({ mesh: this.mesh, log: this.log });
    const logConfig = this.mesh.config.proxy?.accessLog;
    this.accessLog = new AccessLog({ level: options.accessLog ?? logConfig?.level ?? kDefaultProxy.accessLog.level, file: logConfig?.file, sink: options.accessLogSink, errors: this.log });
    const serve = (req: RequestHead, res: ProxyResponse, expectsContinue: boolean) => {
      this.#inflight++;
      const exchange = new Exchange(this, req, res, expectsContinue);
      res.once('close', () => {
        this.#inflight--;
        exchange.closed();
      });
      try {
        exchange.run();
      } catch (error) {
        this.log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
        fail(res, 500, 'internal', 'the proxy failed on this request');
      }
    };
    const metrics = this.metrics;
    this.#server = createServer({ maxHeaderSize: this.#settings.limits.maxHeaderBytes }, (req, res) => {
      metrics.readNode++;
      serve(req, res, false);
    });
    // The proxy decides whether a body is welcome (a declared length over the limit gets the 413
    // instead of 100 Continue), so it sends the 100 itself.
    this.#server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      metrics.readNode++;
      serve(req, res, true);
    });
    if (options.fastPath !== false) {
      this.#front = Http1Front.attach(this.#server, (req, res) => {
        metrics.readOwn++;
        serve(req, res, false);
      }, { maxHeaderBytes: this.#settings.limits.maxHeaderBytes, maxBodyBytes: wholeBodyBytes(this.#settings) });
    }
    // CONNECT would make this an open proxy (node:http hands it over here, not to the handler).
    this.#server.on('connect', (_req: IncomingMessage, socket: Socket) => {
      this.metrics.badRequests.inc({ reason: 'not-origin-form' });
      socket.end(rawAnswer(400, 'Bad Request', 'not-origin-form', 'CONNECT is not proxied: only origin-form request targets ("/path")'));
    });
    // A request the parser refuses (bad framing, smuggling attempts, header overflow) gets its
    // answer and a close, not a silent reset, and is counted; a client that left gets nothing.
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      const code = error.code ?? '';
      // As node:http's own handler: no answer once a response has begun on this socket.
      const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable || current?.headersSent) return void socket.destroy();
      const overflow = code === 'HPE_HEADER_OVERFLOW';
      const timeout = code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const reason = overflow ? 'header-overflow' : timeout ? 'request-timeout' : code.startsWith('HPE_') ? code.slice(4).toLowerCase().replaceAll('_', '-') : 'malformed';
      if (!timeout) this.metrics.badRequests.inc({ reason });
      const [status, text] = overflow ? [431, 'Request Header Fields Too Large'] : timeout ? [408, 'Request Timeout'] : [400, 'Bad Request'];
      socket.end(rawAnswer(status, text, reason, error.message));
    });
  }

  /** The proxy settings in force (the config's proxy section with defaults). */
  get settings(): ProxySettings {
    return this.#settings;
  }

  /** Requests being served now. */
  get inflight(): number {
    return this.#inflight;
  }

  /** What is under way at each endpoint's pool: attempts (on a connection or waiting), streamed uploads, and the pool's own counts (requests on a connection, waiting for one, both). */
  upstreams(): Record<string, { active: number; uploads: number; running: number; pending: number; queued: number }> {
    return Object.fromEntries(
      [...this.#upstreams].map(([address, u]) => {
        const stats = u.pool.stats;
        return [address, { active: u.active, uploads: u.uploads, running: stats.running, pending: stats.pending, queued: stats.queued }];
      }),
    );
  }

  /** Listens (default: the config's proxy.listen, else 127.0.0.1:15001); resolves to the address. */
  async listen(host = this.mesh.config.proxy?.listen?.host ?? kDefaultProxy.listen.host, port = this.mesh.config.proxy?.listen?.port ?? kDefaultProxy.listen.port): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.#server.address() as AddressInfo;
  }

  /**
   * Takes the mesh's current config for timeouts, limits and routes (apply it to the mesh
   * first; the listeners and maxHeaderBytes stay as they were at start), and closes the pools of endpoints that are gone: a closing pool finishes the
   * requests it holds (drain) and takes no more.
   */
  refresh(): void {
    this.#settings = settingsOf(this.mesh.config, this.#settings.closing);
    if (this.#front) this.#front.reader.maxBodyBytes = wholeBodyBytes(this.#settings);
    this.gateway.refresh();
    const live = new Set(this.mesh.services().flatMap((s) => this.mesh.endpoints(s).map((e) => e.address)));
    for (const [address, upstream] of this.#upstreams) {
      if (live.has(address)) continue;
      this.#upstreams.delete(address);
      void upstream.pool.close();
    }
  }

  /** Stops accepting, lets the requests in flight finish (at most `graceMs`), closes the pools. */
  async close(graceMs = 10_000): Promise<void> {
    this.#settings = Object.freeze({ ...this.#settings, closing: true });
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    this.#front?.closeIdle();
    const until = Date.now() + graceMs;
    while (this.#inflight > 0 && Date.now() < until) await sleep(10);
    this.#server.closeAllConnections();
    this.#front?.closeAll();
    await closed;
    await Promise.all([...this.#upstreams.values()].map((u) => u.pool.close()));
    this.#upstreams.clear();
    await this.gateway.close();
    await this.accessLog.close();
  }

  /** An endpoint's keep-alive pool and its counts, made on first use. */
  upstream(address: string): Upstream {
    let upstream = this.#upstreams.get(address);
    if (!upstream) {
      const { timeouts, limits } = this.#settings;
      const pool = new Http1Pool(address, { connections: limits.connectionsPerEndpoint, connectTimeoutMs: timeouts.connectMs, keepAliveMs: 30_000 });
      upstream = { pool, active: 0, uploads: 0 };
      this.#upstreams.set(address, upstream);
    }
    return upstream;
  }
}
