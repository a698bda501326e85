// A whole sidecar: the mesh from a config file (hot reloaded) and optionally etcd, the proxy in
// front of it, and the admin server. `wasmesh proxy` is a thin shell around startSidecar.
import { watch, type FSWatcher } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { messageOf, WasmeshError } from '../core/WasmeshError.js';
import { Gateway } from '../gateway/Gateway.js';
import { parseConfigText, readConfigText } from '../mesh/config.js';
import { Mesh } from '../mesh/Mesh.js';
import type { AccessLogLevel } from './AccessLog.js';
import { adminServer, type AdminServer } from './admin.js';
import { kDefaultProxy, SidecarProxy } from './SidecarProxy.js';

export interface SidecarOptions {
  /** Mesh config file (YAML or JSON), watched and re-applied on change. */
  configFile: string;
  /** etcd hosts to discover endpoints from, if any. */
  etcd?: string;
  /** Override the config's listeners (port 0: any free port). */
  listen?: { host?: string; port?: number };
  admin?: { host?: string; port?: number };
  log?: (line: string) => void;
  /** The access log's level, over the config's proxy.accessLog.level (default all, on stdout). */
  accessLog?: AccessLogLevel;
  /** Access log lines go here instead of stdout or the config's file. */
  accessLogSink?: (line: string) => void;
  /** Token budgets in this Redis, shared by every sidecar (over the config's proxy.gateway.budgetStore.redis). */
  redis?: string;
  /** The clock token budgets are charged at (tests); default the store's own (Redis's TIME). */
  budgetClock?: () => number;
  /** The proxy reads requests of the common shape itself (SidecarProxyOptions.fastPath; default true). */
  fastPath?: boolean;
}

export interface Sidecar {
  readonly mesh: Mesh;
  readonly proxy: SidecarProxy;
  readonly address: AddressInfo;
  readonly adminAddress: AddressInfo;
  /** Re-reads the config file: applied atomically, or logged with every problem and ignored. */
  reload(): Promise<boolean>;
  /** Graceful: stops accepting, finishes requests in flight, closes everything. */
  close(): Promise<void>;
}

export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  const log = options.log ?? ((line: string) => console.error(`wasmesh proxy: ${line}`));
  const mesh = new Mesh();
  // The text last applied or refused: a file event that leaves it as it was changes nothing.
  let seen = await readConfigText(options.configFile);
  mesh.apply(parseConfigText(seen, options.configFile));
  // etcd's client (gRPC, protobufs) loads only for a sidecar that uses it.
  const { EtcdDiscovery } = options.etcd ? await import('../mesh/etcd.js') : { EtcdDiscovery: undefined };
  const discovery = options.etcd && EtcdDiscovery ? new EtcdDiscovery({ hosts: options.etcd, onState: (state, error) => log(`etcd ${state}${error ? ` (${String(error)})` : ''}`) }) : undefined;
  if (options.redis !== undefined && !/^rediss?:\/\//.test(options.redis)) throw new WasmeshError('INVALID_OPTION', `redis must be a redis:// or rediss:// URL, got ${JSON.stringify(options.redis)}`);
  const gateway = await Gateway.start({ mesh, log, redis: options.redis, ...(options.budgetClock ? { budgetClock: options.budgetClock } : {}) });
  const proxy = new SidecarProxy({ mesh, log, gateway, ...(options.accessLog ? { accessLog: options.accessLog } : {}), ...(options.accessLogSink ? { accessLogSink: options.accessLogSink } : {}), ...(options.fastPath === false ? { fastPath: false } : {}) });
  if (discovery) {
    mesh.attach(discovery, (error, event) => log(`discovery event for ${event.service} refused: ${String(error)}`));
    await discovery.ready();
  }
  const admin: AdminServer = adminServer(mesh, [proxy.metrics, gateway.metrics], () => {
    if (discovery && discovery.state !== 'synced') return { ready: false, detail: `etcd ${discovery.state}: serving the last endpoints seen` };
    return { ready: true, detail: `config version ${mesh.version}` };
  });
  const p = mesh.config.proxy;
  // Unset here, the proxy listens where the config (or its default) says.
  const address = await proxy.listen(options.listen?.host, options.listen?.port);
  const adminAddress = await admin.listen(options.admin?.host ?? p?.admin?.host ?? kDefaultProxy.admin.host, options.admin?.port ?? p?.admin?.port ?? kDefaultProxy.admin.port);
  // Endpoints that discovery removes drain the same way as those a reload removes.
  const reconcile = setInterval(() => proxy.refresh(), 1000).unref();

  const reload = async (text?: string): Promise<boolean> => {
    try {
      seen = text ??= await readConfigText(options.configFile);
      const before = mesh.config.proxy;
      const result = mesh.apply(parseConfigText(text, options.configFile));
      proxy.refresh();
      const changed = Object.entries(result.services).map(([name, c]) => `${name} +${c.added.length} -${c.removed.length} ~${c.updated.length}`);
      log(`config version ${result.version} applied from ${options.configFile}: ${changed.join(', ')}`);
      // Open sockets and the HTTP parser keep what they started with.
      const after = mesh.config.proxy;
      const fixed = (
        [
          ['listen', before?.listen, after?.listen],
          ['admin', before?.admin, after?.admin],
          ['limits.maxHeaderBytes', before?.limits?.maxHeaderBytes, after?.limits?.maxHeaderBytes],
        ] as const
      ).filter(([, was, now]) => JSON.stringify(was) !== JSON.stringify(now));
      if (fixed.length) log(`${fixed.map(([name]) => `proxy.${name}`).join(', ')} changed: in force at the next start, not now`);
      return true;
    } catch (error) {
      log(`config ${options.configFile} not applied; version ${mesh.version} keeps serving:\n${messageOf(error)}`);
      return false;
    }
  };
  // The directory is watched, not the file: editors save by renaming a new file over the old one
  // and Kubernetes swaps a ConfigMap's files through a symlink, after which a watch on the file
  // itself hears nothing more. Any event there re-reads the file once it settles (editors write
  // in several steps); the same text again changes nothing.
  let pending: ReturnType<typeof setTimeout> | undefined;
  const settled = async () => {
    const now = await readConfigText(options.configFile).catch(() => undefined);
    if (now !== undefined && now !== seen) await reload(now);
  };
  let watcher: FSWatcher | undefined = watch(dirname(resolve(options.configFile)), () => {
    clearTimeout(pending);
    pending = setTimeout(() => void settled(), 100);
  });
  watcher.on('error', () => {});

  return {
    mesh,
    proxy,
    address,
    adminAddress,
    reload,
    async close() {
      clearInterval(reconcile);
      clearTimeout(pending);
      watcher?.close();
      watcher = undefined;
      await proxy.close();
      await admin.close();
      await discovery?.close();
    },
  };
}
