// `wasmesh proxy`: the sidecar in the foreground. SIGHUP re-reads the config (so does saving the
// file); SIGTERM and SIGINT shut down gracefully.
import { startSidecar } from '../proxy/sidecar.js';

export interface ProxyCommandOptions {
  config: string;
  etcd?: string;
  host?: string;
  port?: number;
  adminPort?: number;
  accessLog?: 'all' | 'errors' | 'off';
  redis?: string;
}

export async function proxyCommand(o: ProxyCommandOptions): Promise<void> {
  const sidecar = await startSidecar({
    configFile: o.config,
    ...(o.etcd ? { etcd: o.etcd } : {}),
    listen: { ...(o.host ? { host: o.host } : {}), ...(o.port !== undefined ? { port: o.port } : {}) },
    admin: o.adminPort !== undefined ? { port: o.adminPort } : {},
    ...(o.accessLog ? { accessLog: o.accessLog } : {}),
    ...(o.redis ? { redis: o.redis } : {}),
  });
  const at = (a: { address: string; port: number }) => `http://${a.address}:${a.port}`;
  // Standard output carries the access log: messages for people go to stderr.
  console.error(`wasmesh proxy: listening on ${at(sidecar.address)}, admin on ${at(sidecar.adminAddress)} (config version ${sidecar.mesh.version}: ${sidecar.mesh.services().join(', ')})`);
  process.on('SIGHUP', () => void sidecar.reload());
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  console.error('wasmesh proxy: shutting down (finishing requests in flight)');
  await sidecar.close();
}
