// The sidecar's admin server: /metrics (Prometheus text), /healthz, /ready, /config, /endpoints.
// Fixed routes, GET only; bound to loopback unless configured otherwise.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Mesh } from '../mesh/Mesh.js';
/** A registry whose Prometheus text /metrics adds to the mesh's. */
export interface MetricsSource {
  metrics(): Promise<string>;
}

/** Whether the sidecar should take traffic, and why not. */
export type Readiness = () => { ready: boolean; detail: string };

export interface AdminServer {
  readonly server: Server;
  listen(host: string, port: number): Promise<AddressInfo>;
  close(): Promise<void>;
}

export function adminServer(mesh: Mesh, sources: readonly MetricsSource[], readiness: Readiness): AdminServer {
  const json = (status: number, body: unknown) => ({ status, type: 'application/json', body: JSON.stringify(body, null, 2) });
  const routes: Record<string, () => Promise<{ status: number; type: string; body: string }>> = {
    '/metrics': async () => ({ status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: (await mesh.metrics()) + (await Promise.all(sources.map((m) => m.metrics()))).join('') }),
    '/healthz': async () => ({ status: 200, type: 'text/plain', body: 'ok\n' }),
    '/ready': async () => {
      const r = readiness();
      return json(r.ready ? 200 : 503, { ready: r.ready, detail: r.detail, version: mesh.version });
    },
    '/config': async () => json(200, { version: mesh.version, revision: mesh.revision, services: mesh.config.services.map((s) => ({ name: s.name, policy: s.policy, endpoints: mesh.endpoints(s.name).length })), config: mesh.config }),
    '/endpoints': async () =>
      json(
        200,
        Object.fromEntries(
          mesh.services().map((s) => {
            const ejected = new Set(mesh.ejected(s));
            return [s, mesh.endpoints(s).map((e) => ({ id: e.id, address: e.address, accelerator: e.accelerator, capacity: e.capacity, load: e.load, healthy: !ejected.has(e.id), requests: e.stats.requests, failures: e.stats.failures }))];
          }),
        ),
      ),
  };
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routes[path];
    if (!route) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; try ${Object.keys(routes).join(' ')}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    const { status, type, body } = await route();
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
  });
  return {
    server,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(server.address() as AddressInfo));
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
