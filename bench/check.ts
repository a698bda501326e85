// The regression guard: every ratio with a target in bench/results/*.json must still meet it, and
// the proxy's p99 overhead its ceiling.
// Not part of `npm test` (timing is noisy); run after `npm run bench`: `npm run bench:check`.
import { readdirSync, readFileSync } from 'node:fs';
import type { Ratio } from './harness.js';

const dir = new URL('./results/', import.meta.url);
const failures: string[] = [];
let checked = 0;
// Each suite's own file (latest.json repeats them).
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'latest.json')) {
  const { ratios = [], machine, overheadP99Ms } = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { ratios?: Ratio[]; machine: { date: string; mode: string }; overheadP99Ms?: number };
  if (overheadP99Ms !== undefined) {
    checked++;
    const line = `${file}: p99 overhead at 1,000 req/s: ${overheadP99Ms.toFixed(2)} ms (target <= 2 ms; ${machine.mode} run of ${machine.date.slice(0, 10)})`;
    if (overheadP99Ms > 2) failures.push(line);
    else console.log(`ok    ${line}`);
  }
  for (const r of ratios.filter((x) => x.target !== undefined)) {
    checked++;
    const line = `${file}: ${r.label}: ${r.value.toFixed(2)}x (target >= ${r.target}x; ${machine.mode} run of ${machine.date.slice(0, 10)})`;
    if (r.value < r.target!) failures.push(line);
    else console.log(`ok    ${line}`);
  }
}
if (failures.length) {
  console.error(`\nBELOW TARGET (${failures.length} of ${checked}):\n${failures.map((f) => `  ${f}`).join('\n')}`);
  process.exit(1);
}
console.log(`\nall ${checked} targets met`);
