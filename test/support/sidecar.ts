// A sidecar in front of fake model servers on 127.0.0.1, for the proxy suites: start them,
// send requests as a well-behaved client (undici) or as raw bytes on a socket, clean up.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startSidecar, type Sidecar } from '../../src/index.js';
import { ModelServer, type ModelServerOptions } from '../../src/demo/modelServer.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SidecarHarness {
  /** false: node:http reads every request (the proxy's own reader is off). */
  readonly fastPath: boolean;
  dir = '';
  backends: ModelServer[] = [];
  sidecar: Sidecar | undefined;
  /** Access log lines of the running sidecar, parsed. */
  accessLog: Record<string, unknown>[] = [];
  logs: string[] = [];

  constructor(options: { fastPath?: boolean } = {}) {
    this.fastPath = options.fastPath ?? true;
  }

  setUp(): void {
    this.dir = mkdtempSync(join(tmpdir(), 'wasmesh-proxy-'));
    this.accessLog = [];
    this.logs = [];
  }

  async tearDown(): Promise<void> {
    await this.sidecar?.close();
    this.sidecar = undefined;
    await Promise.all(this.backends.map((b) => b.kill().catch(() => {})));
    this.backends = [];
    rmSync(this.dir, { recursive: true, force: true });
  }

  async models(n: number, options: Partial<ModelServerOptions> = {}): Promise<ModelServer[]> {
    this.backends = await Promise.all(Array.from({ length: n }, (_, i) => new ModelServer({ name: `m${i}`, ...options }).start()));
    return this.backends;
  }

  get file(): string {
    return join(this.dir, 'mesh.json');
  }

  writeConfig(config: unknown): string {
    writeFileSync(this.file, JSON.stringify(config));
    return this.file;
  }

  async start(config: unknown, options: { accessLog?: boolean; redis?: string } = {}): Promise<Sidecar> {
    this.sidecar = await startSidecar({
      ...(options.redis ? { redis: options.redis } : {}),
      configFile: this.writeConfig(config),
      listen: { port: 0 },
      admin: { port: 0 },
      log: (line) => this.logs.push(line),
      fastPath: this.fastPath,
      ...(options.accessLog ? { accessLogSink: (line: string) => this.accessLog.push(JSON.parse(line)) } : { accessLog: 'off' as const }),
    });
    return this.sidecar;
  }

  url(path = '/'): string {
    return `http://127.0.0.1:${this.sidecar!.address.port}${path}`;
  }

  admin(path: string): string {
    return `http://127.0.0.1:${this.sidecar!.adminAddress.port}${path}`;
  }

  async get(path = '/', headers: Record<string, string> = {}) {
    return this.send('GET', path, undefined, headers);
  }

  async send(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
    const r = await request(this.url(path), { method: method as 'GET', headers, ...(body === undefined ? {} : { body }) });
    const text = await r.body.text();
    return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) };
  }

  /** Writes `data` on a new socket (in parts, `gapMs` apart), and resolves with all it reads until the close. */
  raw(data: string | Buffer | (string | Buffer)[], gapMs = 0): Promise<string> {
    const parts = Array.isArray(data) ? data : [data];
    return new Promise((resolve) => {
      const socket = connect(this.sidecar!.address.port, '127.0.0.1', async () => {
        for (const [i, part] of parts.entries()) {
          if (i && gapMs) await sleep(gapMs);
          if (!socket.destroyed) socket.write(part);
        }
      });
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('error', () => {});
      socket.on('close', () => resolve(text));
    });
  }

  /** The endpoints of a service as the admin server shows them. */
  async health(service: string): Promise<{ id: string; healthy: boolean; failures: number; requests: number; load: number }[]> {
    const r = await request(this.admin('/endpoints'));
    return ((await r.body.json()) as Record<string, { id: string; healthy: boolean; failures: number; requests: number; load: number }[]>)[service]!;
  }

  async metrics(): Promise<string> {
    return (await request(this.admin('/metrics'))).body.text();
  }
}

export const ep = (m: ModelServer, extra: Record<string, unknown> = {}) => ({ id: m.name, address: m.address, resources: { accelerator: 'L4', count: 1 }, ...extra });
