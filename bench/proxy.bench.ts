// The sidecar proxy against a backend directly and against http-proxy (the popular npm proxy),
// in one run: throughput at full load (autocannon), latency at a moderate, evenly paced rate (undici).
//   npm run bench:proxy      npm run bench:proxy -- --quick
// Each server runs in its own process; the load generator in this one. The proxy is the built
// package (dist/, what `npx wasmesh proxy` runs), rebuilt first when a source file is newer.
// Targets from the proxy issue: throughput >= 1.2x http-proxy's, p99 overhead <= 2 ms at
// moderate load.
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { spawn, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { ensureBuilt } from './built.js';
import { machine, quick, save, type Ratio } from './harness.js';

ensureBuilt();

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

interface Sample {
  rps: number;
  /** Every response time, ms, sorted: autocannon's own percentiles are whole milliseconds. */
  times: Float64Array;
  errors: number;
  non2xx: number;
}
const URL_PATH = '/v1/generate';
const SECONDS = quick ? 1 : 5;

/** Full load: autocannon, 32 connections each sending its next request when the last returns. */
async function saturate(port: number): Promise<Sample> {
  const times: number[] = [];
  // Without a callback autocannon returns a promise that is also its event emitter.
  const run = autocannon({ url: `http://127.0.0.1:${port}${URL_PATH}`, duration: SECONDS, connections: 32 }) as Promise<autocannon.Result> & EventEmitter;
  run.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => void times.push(ms));
  const r = await run;
  return { rps: r.requests.average, times: Float64Array.from(times).sort(), errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

/**
 * Moderate load: `rate` requests a second, evenly paced and open loop (one goes out on time
 * whether or not earlier ones have returned), with undici. autocannon's rate limit sends each
 * second's quota at full speed and then waits, which measures bursts, not a moderate load.
 */
async function paced(port: number, rate = 1000): Promise<Sample> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32 });
  const total = rate * SECONDS;
  const times: number[] = [];
  let errors = 0, non2xx = 0, sent = 0;
  const inflight: Promise<void>[] = [];
  const send = async () => {
    const start = performance.now();
    try {
      const r = await pool.request({ method: 'GET', path: URL_PATH });
      await r.body.dump();
      if (r.statusCode < 200 || r.statusCode > 299) non2xx++;
      times.push(performance.now() - start);
    } catch {
      errors++;
    }
  };
  const began = performance.now();
  await new Promise<void>((resolve) => {
    // Timers fire about every millisecond; each tick sends what is due by now.
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - began) * rate) / 1000));
      while (sent < due) {
        sent++;
        inflight.push(send());
      }
      if (sent === total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(inflight);
  const seconds = (performance.now() - began) / 1000;
  await pool.close();
  return { rps: total / seconds, times: Float64Array.from(times).sort(), errors, non2xx };
}
const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

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
  for (const [, port] of targets) await autocannon({ url: `http://127.0.0.1:${port}${URL_PATH}`, duration: quick ? 0.5 : 1, connections: 8 });
  for (const load of ['full', 'moderate'] as const) {
    // Rounds interleave the targets, so a slow spell of this shared machine hits all of them.
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, port] of targets) {
        process.stderr.write(`  ${load} load, round ${round + 1}/${ROUNDS}: ${name}\n`);
        samples.set(name, [...(samples.get(name) ?? []), load === 'full' ? await saturate(port) : await paced(port)]);
      }
    }
    for (const [name, ss] of samples) {
      const rps = ss.map((s) => s.rps);
      const at = (p: number) => median(ss.map((s) => percentile(s.times, p)));
      runs.push({
        target: name,
        load,
        rps: { median: median(rps), min: Math.min(...rps), max: Math.max(...rps) },
        latencyMs: { p50: at(50), p99: at(99), max: Math.max(...ss.map((s) => s.times[s.times.length - 1]!)) },
        errors: ss.reduce((n, s) => n + s.errors, 0),
        non2xx: ss.reduce((n, s) => n + s.non2xx, 0),
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
  for (const r of runs) rows.push(`| ${r.target} | ${r.load === 'full' ? '32 connections' : '1,000 req/s, paced'} | ${r.rps.median.toFixed(0)} | ${r.rps.min.toFixed(0)}..${r.rps.max.toFixed(0)} | ${r.latencyMs.p50.toFixed(2)} | ${r.latencyMs.p99.toFixed(2)} | ${r.latencyMs.max.toFixed(1)} | ${r.errors} | ${r.non2xx} |`);
  console.log('\n' + rows.join('\n'));
  for (const r of ratios) console.log(`${r.label}: ${r.value.toFixed(2)}x${r.target ? ` (target >= ${r.target}x)` : ''}`);
  console.log(`p99 overhead at 1,000 req/s: ${overheadP99.toFixed(2)} ms (target <= 2 ms)`);
  if (runs.some((r) => r.errors || r.non2xx)) throw new Error('some requests failed: the figures are not comparable');
  console.log(`\nwrote ${save('proxy', { machine: machine(), runs, ratios, overheadP99Ms: overheadP99, table: rows.join('\n') })}`);
} finally {
  for (const c of children) c.kill();
}
