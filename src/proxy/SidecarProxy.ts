// The sidecar data plane: an HTTP reverse proxy that asks the mesh where each request goes,
// forwards it on a keep-alive undici pool per endpoint, streams both bodies (token streams pass
// chunk by chunk), and reports every outcome back to the mesh (health, retries, metrics).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { MeshConfig, ProxyConfig } from '../mesh/config.js';
import type { Mesh } from '../mesh/Mesh.js';
import { Exchange, fail, type ExchangeContext, type ProxySettings } from './Exchange.js';

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

function settingsOf(config: Readonly<MeshConfig>, closing: boolean): ProxySettings {
  const p: ProxyConfig = config.proxy ?? {};
  return Object.freeze({
    hashKeys: new Map(config.services.flatMap((s) => (s.hashKey ? [[s.name, s.hashKey] as const] : []))),
    queued: new Set(config.services.filter((s) => (s.admission?.queue ?? 0) > 0).map((s) => s.name)),
    timeouts: { ...kDefaultProxy.timeouts, ...p.timeouts },
    limits: { ...kDefaultProxy.limits, ...p.limits },
    endpointHeader: p.endpointHeader ?? kDefaultProxy.endpointHeader,
    closing,
  });
}

export class SidecarProxy implements ExchangeContext {
  readonly mesh: Mesh;
  readonly log: (line: string) => void;
  readonly #pools = new Map<string, Pool>();
  readonly #server: Server;
  #settings: ProxySettings;
  #inflight = 0;

  constructor(options: SidecarProxyOptions) {
    this.mesh = options.mesh;
    this.log = options.log ?? ((line) => console.error(`wasmesh proxy: ${line}`));
    this.#settings = settingsOf(this.mesh.config, false);
    this.#server = createServer({ maxHeaderSize: this.#settings.limits.maxHeaderBytes }, (req, res) => {
      this.#inflight++;
      const exchange = new Exchange(this, req, res);
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
    });
    // A client that goes away mid-request is not an error of the proxy.
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (error.code === 'HPE_HEADER_OVERFLOW') socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
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
    const live = new Set(this.mesh.services().flatMap((s) => this.mesh.endpoints(s).map((e) => e.address)));
    for (const [address, pool] of this.#pools) {
      if (live.has(address)) continue;
      this.#pools.delete(address);
      void pool.close();
    }
  }

  /** Stops accepting, lets the requests in flight finish (at most `graceMs`), closes the pools. */
  async close(graceMs = 10_000): Promise<void> {
    this.#settings = Object.freeze({ ...this.#settings, closing: true });
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const until = Date.now() + graceMs;
    while (this.#inflight > 0 && Date.now() < until) await sleep(10);
    this.#server.closeAllConnections();
    await closed;
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }

  /** The keep-alive pool of an endpoint, made on first use. */
  dispatcher(address: string): Pool {
    let pool = this.#pools.get(address);
    if (!pool) {
      const { connectMs } = this.#settings.timeouts;
      pool = new Pool(`http://${address}`, { connections: 128, connect: { timeout: connectMs }, keepAliveTimeout: 30_000, pipelining: 1 });
      this.#pools.set(address, pool);
    }
    return pool;
  }
}
