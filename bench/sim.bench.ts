// Routing quality on simulated inference fleets: every policy on the workloads that tell them
// apart, and how fast the simulator runs. Writes bench/results/sim.json, a chart per comparison
// and the README's "Routing quality" table.
//   npm run bench:sim      npm run bench:sim -- --quick
import { readFileSync, writeFileSync } from 'node:fs';
import { compare, comparisonSvg, type Comparison } from '../src/sim/run.js';
import { makeWorkload } from '../src/sim/workloads.js';
import { fleetOf } from '../src/sim/fleets.js';
import { simulate } from '../src/sim/simulate.js';
import { machine, quick, resultsDir, save, updateReadme, type Ratio } from './harness.js';

const all = ['random', 'swrr', 'p2c', 'ring-hash', 'prefix-cache', 'ttft', 'weighted', 'oracle'];
const runs: { title: string; options: Parameters<typeof compare>[0] }[] = [
  { title: 'shared-prefix, homogeneous', options: { workload: 'shared-prefix', fleet: 'homogeneous', policies: all } },
  // The same prompts offered past what the fleet serves without its caches: where SGLang's router measured its gains.
  { title: 'shared-prefix at 160 req/s (saturated), homogeneous', options: { workload: 'shared-prefix', fleet: 'homogeneous', rates: [160], policies: ['swrr', 'p2c', 'ring-hash', 'prefix-cache', 'ttft', 'weighted'] } },
  { title: 'shared-prefix, mixed fleet', options: { workload: 'shared-prefix', fleet: 'mixed', rates: [20], policies: all } },
  { title: 'b2b-73, rate ladder', options: { workload: 'b2b-73', rates: quick ? [3, 60] : [3, 15, 30, 45, 60], requests: quick ? 600 : 2000, policies: all } },
  { title: 'no-sharing, homogeneous (control)', options: { workload: 'no-sharing', fleet: 'homogeneous', policies: all } },
  { title: 'hot-spot, homogeneous', options: { workload: 'hot-spot', fleet: 'homogeneous', policies: all } },
  { title: 'siblings (best-of-4), homogeneous', options: { workload: 'siblings', fleet: 'homogeneous', policies: all } },
  { title: 'independent routers, b2b-73', options: { workload: 'b2b-73', rates: [30], requests: quick ? 600 : 2000, policies: ['prefix-cache', 'prefix-cache x8', 'ring-hash', 'ring-hash x8'] } },
  { title: 'independent routers, shared-prefix', options: { workload: 'shared-prefix', fleet: 'homogeneous', policies: ['prefix-cache', 'prefix-cache x8', 'ring-hash', 'ring-hash x8'] } },
];

const comparisons: (Comparison & { title: string; seconds: number })[] = [];
for (const { title, options } of runs) {
  const started = performance.now();
  const c = compare(options);
  const seconds = (performance.now() - started) / 1000;
  comparisons.push({ ...c, title, seconds });
  const file = `sim-${c.workload}-${c.fleet}.svg`;
  writeFileSync(new URL(file, resultsDir), comparisonSvg(c));
  process.stderr.write(`  ${title}: ${seconds.toFixed(1)} s\n`);
}

// Speed: requests simulated per wall-clock second, shared-prefix under swrr, median of 5 runs.
const workload = makeWorkload('shared-prefix');
const speeds = Array.from({ length: 5 }, () => {
  const started = performance.now();
  simulate({ workload, fleet: fleetOf('homogeneous'), policy: 'swrr' });
  return workload.requests.length / ((performance.now() - started) / 1000);
}).sort((a, b) => a - b);
const speed = speeds[2]!;

const by = (c: Comparison, policy: string) => c.results.find((r) => r.policy === policy)!;
const [shared, saturated, mixed, b2b, noSharing, hotSpot, siblings, replicasB2b, replicasShared] = comparisons;
const ratios: Ratio[] = [
  { label: 'sim speed: shared-prefix requests simulated a second / 5,000', value: speed / 5000, target: 1 },
  // Issue targets 3.8x and 1.9x: out of reach on this input for any router (see the README).
  { label: 'shared-prefix: hit rate, prefix-cache / swrr', value: by(shared!, 'prefix-cache').hitRate / by(shared!, 'swrr').hitRate },
  { label: 'shared-prefix: output tokens/s, prefix-cache / swrr', value: by(shared!, 'prefix-cache').outputTokensPerS / by(shared!, 'swrr').outputTokensPerS },
  { label: 'shared-prefix at 160 req/s: hit rate, prefix-cache / swrr', value: by(saturated!, 'prefix-cache').hitRate / by(saturated!, 'swrr').hitRate },
  { label: 'shared-prefix at 160 req/s: output tokens/s, prefix-cache / swrr', value: by(saturated!, 'prefix-cache').outputTokensPerS / by(saturated!, 'swrr').outputTokensPerS },
  { label: 'shared-prefix: TTFT p90, swrr / ring-hash', value: by(shared!, 'swrr').ttftMs.p90 / by(shared!, 'ring-hash').ttftMs.p90 },
  { label: 'b2b-73 top rate: TTFT p90, random / prefix-cache', value: by(b2b!, 'random').ttftMs.p90 / by(b2b!, 'prefix-cache').ttftMs.p90, target: 3 },
  { label: 'b2b-73 top rate: TTFT p90, oracle / prefix-cache (within 2x: >= 0.5)', value: by(b2b!, 'oracle').ttftMs.p90 / by(b2b!, 'prefix-cache').ttftMs.p90, target: 0.5 },
  { label: 'b2b-73 top rate: TTFT p90, random / ring-hash', value: by(b2b!, 'random').ttftMs.p90 / by(b2b!, 'ring-hash').ttftMs.p90 },
  { label: 'no-sharing: TTFT p99, p2c / prefix-cache (within 5%: >= 0.95)', value: by(noSharing!, 'p2c').ttftMs.p99 / by(noSharing!, 'prefix-cache').ttftMs.p99, target: 0.95 },
  { label: 'no-sharing: output tokens/s, prefix-cache / p2c (within 5%: >= 0.95)', value: by(noSharing!, 'prefix-cache').outputTokensPerS / by(noSharing!, 'p2c').outputTokensPerS, target: 0.95 },
  { label: 'hot-spot: TTFT p99, 2 x p2c / prefix-cache', value: (2 * by(hotSpot!, 'p2c').ttftMs.p99) / by(hotSpot!, 'prefix-cache').ttftMs.p99, target: 1 },
  { label: 'hot-spot: success rate, prefix-cache', value: by(hotSpot!, 'prefix-cache').successRate, target: 1 },
  { label: 'siblings: share of a problem\'s samples on one endpoint, prefix-cache', value: by(siblings!, 'prefix-cache').groupAffinity, target: 0.9 },
  { label: 'mixed fleet: TTFT p99, prefix-cache / ttft', value: by(mixed!, 'prefix-cache').ttftMs.p99 / by(mixed!, 'ttft').ttftMs.p99, target: 1 },
  { label: 'mixed fleet: TTFT p99, weighted / ttft', value: by(mixed!, 'weighted').ttftMs.p99 / by(mixed!, 'ttft').ttftMs.p99, target: 1 },
  { label: 'mixed fleet: goodput, ttft / prefix-cache', value: by(mixed!, 'ttft').goodput / by(mixed!, 'prefix-cache').goodput, target: 1 },
  { label: 'mixed fleet: goodput, ttft / weighted', value: by(mixed!, 'ttft').goodput / Math.max(1e-9, by(mixed!, 'weighted').goodput), target: 1 },
  { label: 'mixed fleet: goodput, swrr / random', value: by(mixed!, 'swrr').goodput / Math.max(1e-9, by(mixed!, 'random').goodput) },
  { label: '8 independent routers: hit rate / one router\'s, b2b-73', value: by(replicasB2b!, 'prefix-cache x8').hitRate / by(replicasB2b!, 'prefix-cache').hitRate, target: 0.85 },
  { label: '8 independent routers: hit rate / one router\'s, shared-prefix', value: by(replicasShared!, 'prefix-cache x8').hitRate / by(replicasShared!, 'prefix-cache').hitRate, target: 0.85 },
];
const file = save('sim', { machine: machine(), speed: { requestsPerSecond: speed, samples: speeds }, ratios, comparisons });
for (const r of ratios) console.log(`${r.label}: ${r.value.toFixed(2)}x${r.target ? ` (target >= ${r.target}x)` : ''}`);
console.log(`wrote ${file}`);

// The README's table: the headline comparison and the others' key figures.
const table = (c: Comparison & { title: string }) => {
  const rows = [`**${c.title}** (${c.description}; ${c.fleetDescription}; ${c.results[0]!.requests} requests at ${c.rate} req/s)`, '', '| policy | hit rate | TTFT p50 | p90 | p99 (ms) | TPOT p50 (ms) | tokens/s | goodput/s | success | imbalance | grouped | router µs |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of c.results) rows.push(`| ${r.policy} | ${r.hitRate.toFixed(3)} | ${r.ttftMs.p50.toFixed(0)} | ${r.ttftMs.p90.toFixed(0)} | ${r.ttftMs.p99.toFixed(0)} | ${r.tpotMs.p50.toFixed(1)} | ${r.outputTokensPerS.toFixed(0)} | ${r.goodput.toFixed(2)} | ${(r.successRate * 100).toFixed(1)}% | ${r.imbalance.toFixed(3)} | ${r.groupAffinity.toFixed(2)} | ${r.routerMicros.toFixed(1)} |`);
  return rows.join('\n');
};
const m = machine();
const section = `Measured by \`npm run bench:sim\` (${m.mode} run, ${String(m.date).slice(0, 10)}, seed 1; the simulator is deterministic, so these figures
repeat exactly, router µs aside). Simulator speed: ${Math.round(speed).toLocaleString('en-US')} requests a second (shared-prefix, swrr, median of 5).

${comparisons.map(table).join('\n\n')}

![b2b-73 ladder](bench/results/sim-b2b-73-b2b-73.svg)

| figure | ratio |
|---|---:|
${ratios.map((r) => `| ${r.label} | ${r.value.toFixed(2)}x${r.target === undefined ? '' : ` (target ${r.target}x${r.value >= r.target ? '' : ', **missed**'})`} |`).join('\n')}`;
const readme = new URL('../README.md', import.meta.url);
const text = readFileSync(readme, 'utf8');
if (updateReadme) writeFileSync(readme, text.replace(/<!-- sim:start -->[\s\S]*<!-- sim:end -->/, `<!-- sim:start -->\n${section}\n<!-- sim:end -->`));
