// The sidecar data plane: an HTTP reverse proxy that asks the mesh where each request goes,
// forwards it on a keep-alive undici pool per endpoint, streams both bodies (token streams pass
// chunk by chunk), and reports every outcome back to the mesh (health, retries, metrics).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { WasmeshError } from '../core/WasmeshError.js';
import type { MeshConfig, ProxyConfig } from '../mesh/config.js';
import type { Mesh, Route } from '../mesh/Mesh.js';
import type { FailureKind } from '../mesh/retry.js';
import { endToEndRaw, forwardRaw, keyFromBody, keyFromHeaders, readPrefix, serviceOf } from './requests.js';

/** Defaults of the proxy section of the config. */
export const kDefaultProxy = Object.freeze({
  listen: { host: '127.0.0.1', port: 15001 },
  admin: { host: '127.0.0.1', port: 15000 },
  timeouts: { connectMs: 2000, firstByteMs: 60_000, idleMs: 60_000 },
  limits: { maxHeaderBytes: 16_384, maxBodyBytes: 10 * 2 ** 20, maxKeyBodyBytes: 65_536 },
  endpointHeader: 'x-wasmesh-endpoint' as string | false,
});

/** Options of a SidecarProxy. */
export interface SidecarProxyOptions {
  /** The mesh to route with; its config's `proxy` section sets listeners, routes and limits. */
  mesh: Mesh;
  /** Where messages go (errors, reloads). Default: stderr. */
  log?: (line: string) => void;
}

interface Settings {
  hashKeys: Map<string, NonNullable<MeshConfig['services'][number]['hashKey']>>;
  timeouts: typeof kDefaultProxy.timeouts;
  limits: typeof kDefaultProxy.limits;
  endpointHeader: string | false;
}

function settingsOf(config: Readonly<MeshConfig>): Settings {
  const p: ProxyConfig = config.proxy ?? {};
  return {
    hashKeys: new Map(config.services.flatMap((s) => (s.hashKey ? [[s.name, s.hashKey] as const] : []))),
    timeouts: { ...kDefaultProxy.timeouts, ...p.timeouts },
    limits: { ...kDefaultProxy.limits, ...p.limits },
    endpointHeader: p.endpointHeader ?? kDefaultProxy.endpointHeader,
  };
}

function isEventStream(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'content-type') return raw[i + 1]!.startsWith('text/event-stream');
  return false;
}

/** Where the body of a response that will be retried goes. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}

/** Sends a JSON error; `reason` names why, for people and for scripts. */
function fail(res: ServerResponse, status: number, reason: string, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { status, reason, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export class SidecarProxy {
  readonly mesh: Mesh;
  readonly #log: (line: string) => void;
  readonly #pools = new Map<string, Pool>();
  readonly #server: Server;
  #settings: Settings;
  #inflight = 0;
  #closing = false;

  constructor(options: SidecarProxyOptions) {
    this.mesh = options.mesh;
    this.#log = options.log ?? ((line) => console.error(`wasmesh proxy: ${line}`));
    this.#settings = settingsOf(this.mesh.config);
    this.#server = createServer({ maxHeaderSize: this.#settings.limits.maxHeaderBytes }, (req, res) => void this.#handle(req, res));
    // A client that goes away mid-request is not an error of the proxy.
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (error.code === 'HPE_HEADER_OVERFLOW') socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Requests being served now. */
  get inflight(): number {
    return this.#inflight;
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
    this.#settings = settingsOf(this.mesh.config);
    const live = new Set(this.mesh.services().flatMap((s) => this.mesh.endpoints(s).map((e) => e.address)));
    for (const [address, pool] of this.#pools) {
      if (live.has(address)) continue;
      this.#pools.delete(address);
      void pool.close();
    }
  }

  /** Stops accepting, lets the requests in flight finish (at most `graceMs`), closes the pools. */
  async close(graceMs = 10_000): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const until = Date.now() + graceMs;
    while (this.#inflight > 0 && Date.now() < until) await sleep(10);
    this.#server.closeAllConnections();
    await closed;
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }

  #pool(address: string): Pool {
    let pool = this.#pools.get(address);
    if (!pool) {
      const { connectMs } = this.#settings.timeouts;
      pool = new Pool(`http://${address}`, { connections: 128, connect: { timeout: connectMs }, keepAliveTimeout: 30_000, pipelining: 1 });
      this.#pools.set(address, pool);
    }
    return pool;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#inflight++;
    try {
      await this.#serve(req, res);
    } catch (error) {
      this.#log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
      fail(res, 500, 'internal', 'the proxy failed on this request');
    } finally {
      this.#inflight--;
    }
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const { limits, timeouts, endpointHeader } = this.#settings;
    if (this.#closing) return fail(res, 503, 'shutting-down', 'the proxy is shutting down', { connection: 'close' });
    // Origin-form only: an absolute URL or CONNECT would make this an open proxy.
    if (req.method === 'CONNECT' || !req.url?.startsWith('/')) return fail(res, 400, 'not-origin-form', 'only origin-form request targets ("/path") are proxied');
    const config = this.mesh.config;
    const service = serviceOf(config, req.headers.host, req.url);
    if (!service) return fail(res, 404, 'no-route', `no route for host ${JSON.stringify(req.headers.host ?? '')} path ${JSON.stringify(req.url)}`);
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > limits.maxBodyBytes) return fail(res, 413, 'body-too-large', `request body of ${length} bytes exceeds ${limits.maxBodyBytes}`, { connection: 'close' });

    const hashKey = this.#settings.hashKeys.get(service);
    let key = keyFromHeaders(hashKey, req.headers);
    // The body's start, held to read a key from it or to send it again on a retry.
    let prefix = { chunks: [] as Buffer[], bytes: 0, done: length === 0 && req.headers['transfer-encoding'] === undefined };
    if (hashKey && 'jsonField' in hashKey) {
      prefix = await readPrefix(req, limits.maxKeyBodyBytes);
      if (prefix.bytes > limits.maxBodyBytes) return fail(res, 413, 'body-too-large', `request body exceeds ${limits.maxBodyBytes} bytes`, { connection: 'close' });
      key = keyFromBody(hashKey, Buffer.concat(prefix.chunks));
    }
    // Safe to send again: the whole body is at hand (none, or buffered for the key). A streamed
    // body is gone once sent, whatever the method.
    const retrySafe = prefix.done;

    let route: Route;
    try {
      route = await this.mesh.routeAsync({ service, ...(key === undefined ? {} : { key }) });
    } catch (error) {
      return this.#refused(res, error);
    }

    const headers = forwardRaw(req);
    let bodyBytes = prefix.bytes;
    const body = (): Readable | Buffer | undefined => {
      if (prefix.done) return prefix.bytes ? Buffer.concat(prefix.chunks) : undefined;
      return Readable.from((async function* () {
        yield* prefix.chunks;
        for await (const chunk of req as AsyncIterable<Buffer>) {
          bodyBytes += chunk.length;
          if (bodyBytes > limits.maxBodyBytes) throw new WasmeshError('INVALID_ARGUMENT', `request body exceeds ${limits.maxBodyBytes} bytes`);
          yield chunk;
        }
      })());
    };

    for (;;) {
      const attemptStart = performance.now();
      const current = route;
      let status = 0;
      let retry: { route: Route; delayMs: number } | undefined;
      let reported = false;
      try {
        // undici writes the endpoint's body straight into the response as it arrives (token
        // streams chunk by chunk), without an intermediate stream.
        await this.#pool(current.endpoint.address).stream(
          { method: (req.method ?? 'GET') as 'GET', path: req.url, headers, body: body(), headersTimeout: timeouts.firstByteMs, bodyTimeout: timeouts.idleMs, responseHeaders: 'raw' },
          ({ statusCode, headers: upstreamHeaders }) => {
            status = statusCode;
            if (statusCode >= 500 && retrySafe) {
              retry = this.mesh.retry(current, { status: statusCode });
              reported = true;
              if (retry) return discard();
            }
            const out = endToEndRaw(upstreamHeaders as unknown as Buffer[]);
            if (endpointHeader) out.push(endpointHeader, current.endpoint.id);
            res.writeHead(statusCode, out);
            // A token stream shows its headers at once, before the first token.
            if (isEventStream(out)) res.flushHeaders();
            return res;
          },
        );
      } catch (error) {
        if (bodyBytes > limits.maxBodyBytes) {
          this.mesh.report(current, { status: 413, latencyMs: performance.now() - attemptStart, failed: false });
          return fail(res, 413, 'body-too-large', `request body exceeds ${limits.maxBodyBytes} bytes`, { connection: 'close' });
        }
        if (status !== 0) {
          // Failed after the response began (idle timeout, endpoint gone mid-body): cut it off.
          if (!reported) this.mesh.report(current, { status, failed: true, latencyMs: performance.now() - started });
          res.destroy();
          return;
        }
        const timeout = (error as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT';
        const failure: FailureKind = timeout ? { status: 504 } : { connectFailure: true };
        // mesh.retry reports the failed attempt itself; otherwise it is reported here.
        const next = retrySafe ? this.mesh.retry(current, failure) : undefined;
        if (next) {
          await sleep(next.delayMs);
          route = next.route;
          continue;
        }
        if (!retrySafe) this.mesh.report(current, { failed: true, latencyMs: performance.now() - attemptStart });
        return fail(res, timeout ? 504 : 502, timeout ? 'upstream-timeout' : 'upstream-unreachable', `endpoint ${current.endpoint.id}: ${(error as Error).message}`);
      }
      if (retry) {
        const next: { route: Route; delayMs: number } = retry;
        await sleep(next.delayMs);
        route = next.route;
        continue;
      }
      if (!reported) this.mesh.report(current, { status, latencyMs: performance.now() - started });
      return;
    }
  }

  #refused(res: ServerResponse, error: unknown): void {
    if (!(error instanceof WasmeshError)) throw error;
    if (error.code === 'OVERLOADED' && error.message.startsWith('circuit open')) return fail(res, 503, 'circuit-open', error.message);
    if (error.code === 'OVERLOADED') return fail(res, 429, 'overloaded', error.message, { 'retry-after': '1' });
    if (error.code === 'NO_ENDPOINT') return fail(res, 503, 'no-endpoint', error.message);
    if (error.code === 'INVALID_KEY') return fail(res, 400, 'no-key', `${error.message}; send the service's hash key`);
    throw error;
  }
}
