// A whole comparison: one workload on one fleet, every policy, at one rate or a ladder of rates;
// what `wasmesh sim` and the bench's sim suite run.
import { fleetOf } from './fleets.js';
import type { PolicyResult } from './results.js';
import { isSimPolicy, kSimPolicies } from './routers.js';
import { kDefaultSlo, simulate } from './simulate.js';
import { lineCharts } from './svgChart.js';
import { kWorkloads, makeWorkload } from './workloads.js';
import { WasmeshError } from '../core/WasmeshError.js';
import type { Slo } from './results.js';

/** What to compare. */
export interface ComparisonOptions {
  workload: string;
  /** Default: the fleet the workload's source names, else homogeneous. */
  fleet?: string;
  policies?: readonly string[];
  /** Requests a second; several make a ladder. Default the workload's rate. */
  rates?: readonly number[];
  requests?: number;
  seed?: number;
  timeoutS?: number;
  slo?: Slo;
  /** Called after each run (progress). */
  onRun?: (done: number, total: number, rate: number, policy: string) => void;
}

/** The JSON of `wasmesh sim --json`: the contract is workload, fleet and results; the rest is extra. */
export interface Comparison {
  workload: string;
  fleet: string;
  model: string;
  /** The rate `results` are at (the top of a ladder). */
  rate: number;
  results: PolicyResult[];
  ladder: { rate: number; results: PolicyResult[] }[];
  source: string;
  description: string;
  fleetDescription: string;
  slo: Slo;
}

export function compare(o: ComparisonOptions): Comparison {
  const preset = kWorkloads[o.workload];
  if (!preset) throw new WasmeshError('INVALID_ARGUMENT', `unknown workload ${JSON.stringify(o.workload)}; known: ${Object.keys(kWorkloads).join(', ')}`);
  const fleet = fleetOf(o.fleet ?? preset.fleet ?? 'homogeneous');
  const policies = o.policies ?? kSimPolicies;
  for (const p of policies) if (!isSimPolicy(p)) throw new WasmeshError('INVALID_ARGUMENT', `unknown policy ${JSON.stringify(p)}; known: ${kSimPolicies.join(', ')}, or "<mesh policy> xN" for N independent replicas`);
  const rates = o.rates ?? [preset.defaults.rate];
  const slo = o.slo ?? kDefaultSlo;
  const ladder: Comparison['ladder'] = [];
  let description = '';
  let done = 0;
  for (const rate of rates) {
    const workload = makeWorkload(o.workload, { rate, seed: o.seed ?? 1, ...(o.requests ? { requests: o.requests } : {}) });
    description = workload.description;
    const results = policies.map((policy) => {
      const r = simulate({ workload, fleet, policy, seed: o.seed ?? 1, slo, ...(o.timeoutS ? { timeoutS: o.timeoutS } : {}) });
      o.onRun?.(++done, rates.length * policies.length, rate, policy);
      return r;
    });
    ladder.push({ rate, results });
  }
  const top = ladder.at(-1)!;
  return { workload: o.workload, fleet: fleet.name, model: fleet.model, rate: top.rate, results: top.results, ladder, source: preset.source, description, fleetDescription: fleet.description, slo };
}

/** TTFT p90 and output tokens/s against the offered rate, a line per policy. */
export function comparisonSvg(c: Comparison): string {
  const series = (value: (r: PolicyResult) => number) => c.ladder[0]!.results.map((r0, i) => ({ name: r0.policy, points: c.ladder.map((step) => ({ x: step.rate, y: value(step.results[i]!) })) }));
  return lineCharts(`${c.workload} on ${c.fleetDescription}`, [
    { title: 'TTFT p90 (ms, lower is better)', yLabel: 'ms', series: series((r) => r.ttftMs.p90) },
    { title: 'output tokens/s (higher is better)', yLabel: 'tokens/s', series: series((r) => r.outputTokensPerS) },
    { title: 'prefix cache hit rate', yLabel: 'share of prompt tokens', series: series((r) => r.hitRate) },
  ]);
}

/** The terminal table of a comparison's results. */
export function comparisonTable(c: Comparison): string {
  const head = ['policy', 'hit', 'TTFT p50', 'p90', 'p99 ms', 'TPOT p50', 'p99 ms', 'tokens/s', 'goodput/s', 'success', 'imbalance', 'grouped', 'preempt', 'router µs'];
  const rows = c.results.map((r) => [r.policy, r.hitRate.toFixed(3), r.ttftMs.p50.toFixed(0), r.ttftMs.p90.toFixed(0), r.ttftMs.p99.toFixed(0), r.tpotMs.p50.toFixed(1), r.tpotMs.p99.toFixed(1), r.outputTokensPerS.toFixed(0), r.goodput.toFixed(2), `${(r.successRate * 100).toFixed(1)}%`, r.imbalance.toFixed(3), r.groupAffinity.toFixed(2), String(r.preemptions), r.routerMicros.toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
