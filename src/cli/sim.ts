// `wasmesh sim`: compare routing policies on a simulated inference fleet (no GPU needed).
import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { compare, comparisonSvg, comparisonTable } from '../sim/run.js';
import { ladder } from '../sim/workloads.js';

export interface SimCommandOptions {
  workload: string;
  fleet?: string;
  policies?: string;
  rate?: number;
  ladder?: string;
  requests?: number;
  seed: number;
  timeout?: number;
  sloTtft: number;
  sloTpot: number;
  json?: string;
  svg?: string;
}

export async function simCommand(o: SimCommandOptions): Promise<void> {
  const rates = o.ladder ? ladder(o.ladder) : o.rate !== undefined ? [o.rate] : undefined;
  const bar = new cliProgress.SingleBar({ format: '  simulating {bar} {value}/{total} runs | {detail}', stream: process.stderr, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
  const started = performance.now();
  let started0 = false;
  const result = compare({
    workload: o.workload,
    ...(o.fleet ? { fleet: o.fleet } : {}),
    ...(o.policies ? { policies: o.policies.split(',').map((p) => p.trim()).filter(Boolean) } : {}),
    ...(rates ? { rates } : {}),
    ...(o.requests ? { requests: o.requests } : {}),
    seed: o.seed,
    ...(o.timeout ? { timeoutS: o.timeout } : {}),
    slo: { ttftMs: o.sloTtft, tpotMs: o.sloTpot },
    onRun(done, total, rate, policy) {
      if (!started0) {
        bar.start(total, 0, { detail: '' });
        started0 = true;
      }
      bar.update(done, { detail: `${policy} at ${rate.toFixed(1)} req/s` });
    },
  });
  bar.stop();
  const seconds = (performance.now() - started) / 1000;
  const requests = result.ladder.reduce((n, step) => n + step.results.reduce((m, r) => m + r.requests, 0), 0);
  console.log(`wasmesh sim: ${result.workload} (${result.description}) on ${result.fleetDescription}`);
  console.log(`  source: ${result.source}`);
  console.log(`  ${result.results[0]?.requests ?? 0} requests a run at ${result.rate.toFixed(1)} req/s${result.ladder.length > 1 ? ` (top of a ${result.ladder.length}-step ladder)` : ''}; SLO TTFT <= ${result.slo.ttftMs} ms, TPOT <= ${result.slo.tpotMs} ms\n`);
  console.log(comparisonTable(result));
  console.log(`\n  ${requests.toLocaleString('en-US')} requests simulated in ${seconds.toFixed(1)} s (${Math.round(requests / seconds).toLocaleString('en-US')} a second); router µs: median wall-clock cost of one route() and its report()`);
  if (o.json) {
    writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`  results: ${o.json}`);
  }
  if (o.svg) {
    writeFileSync(o.svg, comparisonSvg(result));
    console.log(`  chart: ${o.svg}`);
  }
}
