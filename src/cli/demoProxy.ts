// `wasmesh demo --proxy`: the whole mesh working over real sockets. Fake model servers with
// different speeds stand in for H100, A100 and L4 nodes; the sidecar proxy sits in front; clients
// send chat (session affinity) and generation (weighted round robin) requests through it while an
// A100 node starts failing and then recovers.
import cliProgress from 'cli-progress';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { ModelServer } from '../demo/modelServer.js';
import { startSidecar } from '../proxy/sidecar.js';
import { bars } from './chart.js';

const FLEET = [
  { accelerator: 'H100', count: 8, nodes: 2, delayMs: 8 },
  { accelerator: 'A100', count: 8, nodes: 2, delayMs: 20 },
  { accelerator: 'L4', count: 4, nodes: 3, delayMs: 45 },
] as const;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const quantile = (xs: number[], q: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]! : NaN);

export async function demoProxyCommand(seconds: number): Promise<void> {
  const servers = await Promise.all(FLEET.flatMap((g) => Array.from({ length: g.nodes }, (_, i) => new ModelServer({ name: `${g.accelerator.toLowerCase()}-${i + 1}`, delayMs: g.delayMs }).start())));
  const typeOf = new Map<string, (typeof FLEET)[number]>(FLEET.flatMap((g) => Array.from({ length: g.nodes }, (_, i) => [`${g.accelerator.toLowerCase()}-${i + 1}`, g] as const)));
  const endpoints = servers.map((s) => ({ id: s.name, address: s.address, resources: { accelerator: typeOf.get(s.name)!.accelerator, count: typeOf.get(s.name)!.count } }));
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-demo-'));
  const configFile = join(dir, 'mesh.json');
  const outlier = { consecutiveFailures: 3, baseEjectionMs: Math.max(1000, (seconds * 1000) / 5) };
  writeFileSync(
    configFile,
    JSON.stringify({
      services: [
        { name: 'chat', policy: 'ring-hash', hashKey: { header: 'x-session-id' }, outlier, endpoints },
        { name: 'gen', policy: 'swrr', outlier, slowStart: { windowMs: 1000 }, endpoints },
      ],
      proxy: { routes: [{ pathPrefix: '/v1/chat', service: 'chat' }, { pathPrefix: '/v1/generate', service: 'gen' }] },
    }),
  );
  const sidecar = await startSidecar({ configFile, listen: { port: 0 }, admin: { port: 0 }, log: () => {}, accessLog: 'off' });
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const timeline: string[] = [];
  sidecar.mesh.onEject((service, e) => timeline.push(`${at().padStart(7)}  ${e.id} ejected from ${service} (${e.cause} failures), out for ${((e.until - Date.now()) / 1000).toFixed(1)} s`));
  console.log(`wasmesh demo --proxy: ${FLEET.map((g) => `${g.nodes} x ${g.accelerator} (${g.count} per node, ${g.delayMs} ms a request)`).join(', ')}`);
  console.log(`proxy on http://127.0.0.1:${sidecar.address.port}, admin on http://127.0.0.1:${sidecar.adminAddress.port}; 16 clients for ${seconds} s, 70% chat (ring-hash on x-session-id), 30% generate (smooth weighted round robin); a100-1 fails every request from 30% to 60% of the run.\n`);

  const latency = new Map<string, number[]>();
  const routed = new Map<string, number>();
  const statuses = new Map<number, number>();
  const bar = new cliProgress.SingleBar({ format: ' traffic |{bar}| {percentage}% | {requests} requests', noTTYOutput: true, notTTYSchedule: 1000 }, cliProgress.Presets.shades_classic);
  bar.start(100, 0, { requests: 0 });
  let requests = 0;
  let faultShown = false;
  const failing = servers.find((s) => s.name === 'a100-1')!;
  const end = started + seconds * 1000;
  const client = async (c: number) => {
    let n = 0;
    while (Date.now() < end) {
      const f = (Date.now() - started) / (seconds * 1000);
      failing.mode = f >= 0.3 && f < 0.6 ? 'fail' : 'ok';
      if (f >= 0.3 && !faultShown) {
        faultShown = true;
        timeline.push(`${at().padStart(7)}  a100-1 starts failing every request`);
      }
      const chat = (c * 7 + n++) % 10 < 7;
      const t0 = performance.now();
      const r = await request(`http://127.0.0.1:${sidecar.address.port}${chat ? '/v1/chat' : '/v1/generate'}`, { headers: chat ? { 'x-session-id': `session-${(c * 31 + n) % 200}` } : {} });
      await r.body.dump();
      const ms = performance.now() - t0;
      requests++;
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      const by = String(r.headers['x-wasmesh-endpoint'] ?? 'none');
      const type = typeOf.get(by)?.accelerator ?? 'none';
      routed.set(type, (routed.get(type) ?? 0) + 1);
      latency.set(type, [...(latency.get(type) ?? []), ms]);
      bar.update(Math.min(100, Math.round(f * 100)), { requests });
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, c) => client(c)));
  bar.update(100, { requests });
  bar.stop();
  timeline.push(`${at().padStart(7)}  done: ${[...statuses].map(([s, n]) => `${n} x ${s}`).join(', ')}`);

  const capacity = (g: (typeof FLEET)[number]) => g.nodes * g.count * ({ H100: 989, A100: 312, L4: 121 } as const)[g.accelerator];
  const total = FLEET.reduce((s, g) => s + capacity(g), 0);
  console.log('\nrouted share (bar) against capacity share, by accelerator type:');
  console.log(bars(FLEET.map((g) => ({ label: `${g.accelerator} x${g.nodes}`, value: (routed.get(g.accelerator) ?? 0) / requests, note: `${pct((routed.get(g.accelerator) ?? 0) / requests)} routed, ${pct(capacity(g) / total)} of capacity` }))));
  console.log('\nlatency through the proxy (client side):');
  console.log('type     requests      p50      p99');
  for (const g of FLEET) {
    const xs = latency.get(g.accelerator) ?? [];
    console.log(`${g.accelerator.padEnd(6)} ${String(xs.length).padStart(10)} ${quantile(xs, 0.5).toFixed(1).padStart(6)} ms ${quantile(xs, 0.99).toFixed(1).padStart(6)} ms`);
  }
  console.log('\ntimeline:');
  for (const line of timeline) console.log(line);
  const failed = requests - (statuses.get(200) ?? 0);
  console.log(`\n${failed === 0 ? 'no request failed: each one the failing node refused was retried on another' : `${failed} requests failed`}; ring-hash bounded loads move sessions off slow nodes while their queues are long.`);
  await sidecar.close();
  await Promise.all(servers.map((s) => s.kill()));
  rmSync(dir, { recursive: true, force: true });
}
