// Writes the README "Performance" section from bench/results/ring.json, so the figures there are
// always a measured run's, with the machine they came from.
import { readFileSync, writeFileSync } from 'node:fs';
import { barChart } from './chart.js';
import { ratioTable, si, type Ratio, type Result } from './harness.js';

interface Results {
  machine: Record<string, string | number>;
  results: Result[];
  ratios: Ratio[];
  balance: Record<string, number | string | boolean>[];
}

const load = (name: string) => JSON.parse(readFileSync(new URL(`./results/${name}.json`, import.meta.url), 'utf8')) as Results;
const data = load('ring');
const wrr = load('wrr');
const m = data.machine;
const figures = (results: Result[]) => {
  const rows = ['| case | implementation | median | slowest sample | fastest sample | samples |', '|---|---|---:|---:|---:|---:|'];
  for (const r of results) rows.push(`| ${r.suite} | ${r.name} | ${si(r.median)}/s | ${si(r.min)}/s | ${si(r.max)}/s | ${r.samples} |`);
  return rows.join('\n');
};
const balance = ['| implementation | max/mean load | min share | max share | keys moved by a 101st node | moved only to the new node |', '|---|---:|---:|---:|---:|---|'];
for (const b of data.balance) {
  balance.push(`| ${b.implementation} | ${Number(b.maxOverMean).toFixed(3)} | ${(Number(b.minShare) * 100).toFixed(3)}% | ${(Number(b.maxShare) * 100).toFixed(3)}% | ${(Number(b.movedOnAdd) * 100).toFixed(2)}% | ${b.exactlyNewOwner ? 'yes' : 'no'} |`);
}
const section = `Measured by \`npm run bench\` (${m.mode} run) on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${String(m.date).slice(0, 10)}.
Ratios compare medians within the same run (benny, after a warm-up); a shared 2-core machine makes
absolute figures noisy, so each row gives the spread of the samples too.

### Ring (\`bench/ring.bench.ts\`)

Items are lookups, or table changes for the build rows.

${ratioTable(data.ratios)}

![ring benchmark chart](bench/results/ring.svg)

<details><summary>All ring figures</summary>

${figures(data.results)}

</details>

Balance: 100 nodes x 160 points, ${data.balance[0]?.keys} keys \`user:0..\`; then a 101st node is added.

${balance.join('\n')}

### Smooth weighted round robin (\`bench/wrr.bench.ts\`)

Items are picks, in batches of 1,000 (ids out unless the row says core). Weights 1..5 cycled.

${ratioTable(wrr.ratios)}

![round-robin benchmark chart](bench/results/wrr.svg)

<details><summary>All round-robin figures</summary>

${figures(wrr.results)}

</details>

Regenerate with \`npm run bench && npm run bench:report\`.`;

for (const [name, d, title] of [['ring', data, 'HashRing lookups and builds per second (median; line: sample spread)'], ['wrr', wrr, 'SmoothWrr picks per second (median; line: sample spread)']] as const) {
  writeFileSync(new URL(`./results/${name}.svg`, import.meta.url), barChart(title, d.results));
}

const readme = new URL('../README.md', import.meta.url);
const text = readFileSync(readme, 'utf8');
const next = text.replace(/<!-- perf:start -->[\s\S]*<!-- perf:end -->/, `<!-- perf:start -->\n${section}\n<!-- perf:end -->`);
writeFileSync(readme, next);
console.log('README performance section written from bench/results/ring.json and wrr.json');
