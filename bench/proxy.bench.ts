// The sidecar proxy against a backend directly and against http-proxy (the popular npm proxy),
// in one run, with autocannon: throughput at full load, and latency at a moderate fixed rate.
//   npm run bench:proxy      npm run bench:proxy -- --quick
// Each server runs in its own process; the load generator in this one. Targets from the proxy
// issue: throughput >= 1.2x http-proxy's, p99 overhead <= 2 ms at moderate load.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { machine, quick, save, type Ratio } from './harness.js';

const children: ChildProcess[] = [];
async function server(...args: string[]): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./proxy/server.ts', import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
  return Number(line);
}

interface Run {
  target: string;
  load: string;
  /** Requests per second: median of the rounds, and the slowest and fastest round. */
  rps: { median: number; min: number; max: number };
  /** Latency percentiles, median of the rounds. */
  latencyMs: { p50: number; p99: number; max: number };
  errors: number;
  non2xx: number;
}

const ROUNDS = quick ? 1 : 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function once(port: number, load: 'full' | 'moderate') {
  const options = load === 'full' ? { connections: 32 } : { connections: 8, overallRate: 1000 };
  return autocannon({ url: `http://127.0.0.1:${port}/v1/generate`, duration: quick ? 1 : 5, ...options });
}

try {
  const backendPort = await server('backend');
  const backend = `127.0.0.1:${backendPort}`;
  const [wasmeshPort, httpProxyPort] = await Promise.all([server('wasmesh', backend), server('http-proxy', backend)]);
  const targets: [string, number][] = [
    ['direct', backendPort],
    ['wasmesh proxy', wasmeshPort],
    ['http-proxy', httpProxyPort],
  ];
  const runs: Run[] = [];
  // Warm-up: JIT and connection pools, not measured.
  for (const [, port] of targets) await autocannon({ url: `http://127.0.0.1:${port}/v1/generate`, duration: quick ? 0.5 : 1, connections: 8 });
  for (const load of ['full', 'moderate'] as const) {
    // Rounds interleave the targets, so a slow spell of this shared machine hits all of them.
    const samples = new Map<string, autocannon.Result[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, port] of targets) {
        process.stderr.write(`  ${load} load, round ${round + 1}/${ROUNDS}: ${name}\n`);
        samples.set(name, [...(samples.get(name) ?? []), await once(port, load)]);
      }
    }
    for (const [name, rs] of samples) {
      const rps = rs.map((r) => r.requests.average);
      runs.push({
        target: name,
        load,
        rps: { median: median(rps), min: Math.min(...rps), max: Math.max(...rps) },
        latencyMs: { p50: median(rs.map((r) => r.latency.p50)), p99: median(rs.map((r) => r.latency.p99)), max: Math.max(...rs.map((r) => r.latency.max)) },
        errors: rs.reduce((n, r) => n + r.errors + r.timeouts, 0),
        non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
      });
    }
  }
  const of = (target: string, load: string) => runs.find((r) => r.target === target && r.load === load)!;
  const ratios: Ratio[] = [
    { label: 'throughput: wasmesh proxy / http-proxy (full load)', value: of('wasmesh proxy', 'full').rps.median / of('http-proxy', 'full').rps.median, target: 1.2 },
    { label: 'throughput: wasmesh proxy / direct (full load)', value: of('wasmesh proxy', 'full').rps.median / of('direct', 'full').rps.median },
  ];
  const overheadP99 = of('wasmesh proxy', 'moderate').latencyMs.p99 - of('direct', 'moderate').latencyMs.p99;
  const rows = [`| target | load | req/s (median of ${ROUNDS}) | slowest..fastest round | p50 ms | p99 ms | max ms | errors | non-2xx |`, '|---|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of runs) rows.push(`| ${r.target} | ${r.load === 'full' ? '32 connections' : '1,000 req/s, 8 connections'} | ${r.rps.median.toFixed(0)} | ${r.rps.min.toFixed(0)}..${r.rps.max.toFixed(0)} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.latencyMs.max} | ${r.errors} | ${r.non2xx} |`);
  console.log('\n' + rows.join('\n'));
  for (const r of ratios) console.log(`${r.label}: ${r.value.toFixed(2)}x${r.target ? ` (target >= ${r.target}x)` : ''}`);
  console.log(`p99 overhead at 1,000 req/s: ${overheadP99.toFixed(2)} ms (target <= 2 ms)`);
  if (runs.some((r) => r.errors || r.non2xx)) throw new Error('some requests failed: the figures are not comparable');
  console.log(`\nwrote ${save('proxy', { machine: machine(), runs, ratios, overheadP99Ms: overheadP99, table: rows.join('\n') })}`);
} finally {
  for (const c of children) c.kill();
}
