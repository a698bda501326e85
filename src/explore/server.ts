// The static server behind `wasmesh explore`: the ring explorer page and the browser bundle.
// Written on node:http, not a static-file library: it serves five fixed routes and nothing
// else, so there is no path resolution to get wrong (no traversal, no directory listing).
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';

/** Options of startExplorer; every field optional. */
export interface ExplorerOptions {
  /** Interface to bind; loopback unless you mean otherwise. Default '127.0.0.1'. */
  host?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
}

/** A running explorer server. */
export interface Explorer {
  readonly url: string;
  close(): Promise<void>;
}

const root = new URL('../../', import.meta.url);

const routes: Record<string, { file: string; type: string }> = {
  '/': { file: 'examples/browser/index.html', type: 'text/html; charset=utf-8' },
  '/style.css': { file: 'examples/browser/style.css', type: 'text/css; charset=utf-8' },
  '/explorer.js': { file: 'dist/browser/explorer.js', type: 'text/javascript; charset=utf-8' },
  '/wasmesh.js': { file: 'dist/browser/wasmesh.js', type: 'text/javascript; charset=utf-8' },
  '/wasmesh.js.map': { file: 'dist/browser/wasmesh.js.map', type: 'application/json; charset=utf-8' },
};

// Cross-origin isolation, so a page may use shared WebAssembly.Memory (threads) later.
const isolation = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

export async function startExplorer(options: ExplorerOptions = {}): Promise<Explorer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes[path === '/index.html' ? '/' : path];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', ...isolation }).end();
      return;
    }
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...isolation }).end(`not found: ${path}\n`);
      return;
    }
    try {
      const body = await readFile(new URL(route.file, root));
      res.writeHead(200, { 'content-type': route.type, 'content-length': body.length, 'cache-control': 'no-store', ...isolation });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', ...isolation }).end(`missing ${route.file}: run npm run build\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
