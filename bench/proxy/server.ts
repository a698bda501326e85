// One server of the proxy benchmark, in its own process so that the load generator does not
// share its event loop: `backend`, `wasmesh <backend-address>` or `http-proxy <backend-address>`.
// Prints its port on stdout and serves until killed.
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import httpProxy from 'http-proxy';
import { ModelServer } from '../../src/demo/modelServer.js';
// The built package, as `npx wasmesh proxy` runs it (proxy.bench.ts builds it when stale).
import { startSidecar } from '../../dist/index.js';

const [mode, backend] = process.argv.slice(2);
if (mode === 'backend') {
  const m = await new ModelServer({ name: 'bench' }).start();
  console.log(m.address.split(':')[1]);
} else if (mode === 'wasmesh') {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-bench-'));
  const file = join(dir, 'mesh.json');
  writeFileSync(file, JSON.stringify({ services: [{ name: 'gen', policy: 'swrr', endpoints: [{ id: 'bench', address: backend, resources: { accelerator: 'L4', count: 1 } }] }] }));
  const s = await startSidecar({ configFile: file, listen: { port: 0 }, admin: { port: 0 }, log: () => {}, accessLog: process.env.WASMESH_BENCH_ACCESS_LOG === 'all' ? 'all' : 'off' });
  console.log(s.address.port);
} else if (mode === 'http-proxy') {
  // http-proxy as its README shows, with a keep-alive agent (without one it opens a connection per request).
  const { Agent } = await import('node:http');
  const proxy = httpProxy.createProxyServer({ target: `http://${backend}`, agent: new Agent({ keepAlive: true, maxSockets: 128 }) });
  proxy.on('error', (_e, _req, res) => (res as import('node:http').ServerResponse).writeHead(502).end());
  const server = createServer((req, res) => proxy.web(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  console.log((server.address() as { port: number }).port);
} else {
  throw new Error(`unknown mode ${mode}`);
}
// Exit normally when stopped, so that --cpu-prof and friends write their files.
process.on('SIGTERM', () => process.exit(0));
