// What adopting the package costs: cold imports (a new process each, median of 10, interleaved
// with bare node so that the machine's drift hits all alike) of wasmesh/core, wasmesh by import
// and by require; and what `npm install` of the packed tarball brings into an empty project.
//   npm run bench:package      npm run bench:package -- --quick
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { installTarball } from '../scripts/consumer.mjs';
import { machine, quick, save, type Ratio } from './harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = quick ? 3 : 10;
const cases = [
  { name: 'bare node', code: '0' },
  { name: 'wasmesh/core (import)', code: `import(${JSON.stringify(join(root, 'dist/core.js'))})` },
  { name: 'wasmesh (import)', code: `import(${JSON.stringify(join(root, 'dist/index.js'))})` },
  { name: 'wasmesh (require)', code: `require(${JSON.stringify(join(root, 'dist/index.js'))})` },
];
const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
const bar = new cliProgress.SingleBar({ format: ' cold imports |{bar}| {value}/{total} rounds', noTTYOutput: true, notTTYSchedule: 2000 }, cliProgress.Presets.shades_classic);
bar.start(ROUNDS, 0);
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cases) {
    const t0 = performance.now();
    execFileSync(process.execPath, ['-e', c.code], { stdio: 'ignore' });
    times.get(c.name)!.push(performance.now() - t0);
  }
  bar.update(round + 1);
}
bar.stop();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bare = median(times.get('bare node')!);
const imports = cases.map((c) => {
  const xs = times.get(c.name)!;
  return { name: c.name, medianMs: median(xs), overBareMs: median(xs) - bare, minMs: Math.min(...xs), maxMs: Math.max(...xs) };
});
for (const i of imports) console.log(`${i.name.padEnd(24)} ${i.medianMs.toFixed(0).padStart(5)} ms (${i.minMs.toFixed(0)}..${i.maxMs.toFixed(0)}), ${i.overBareMs.toFixed(0)} ms over bare node`);

// The tarball, installed as a consumer would (npm's cache serves what it has).
const dir = mkdtempSync(join(tmpdir(), 'wasmesh-install-'));
let install: { packages: number; megabytes: number; tarballKB: number; files: number };
try {
  const i = installTarball(root, dir);
  install = { packages: i.packages.length, megabytes: i.bytes / 1e6, tarballKB: i.size / 1024, files: i.entryCount };
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`npm install of the tarball (${install.tarballKB.toFixed(0)} KB, ${install.files} files): ${install.packages} packages (wasmesh included), ${install.megabytes.toFixed(1)} MB`);

const of = (name: string) => imports.find((i) => i.name === name)!.overBareMs;
const ratios: Ratio[] = [
  { label: 'cold import of wasmesh/core: 25 ms / measured over bare node', value: 25 / Math.max(1, of('wasmesh/core (import)')), target: 1 },
  { label: 'cold import of wasmesh: 150 ms / measured over bare node', value: 150 / Math.max(1, of('wasmesh (import)')), target: 1 },
  { label: 'npm install: 20 packages / installed', value: 20 / install.packages, target: 1 },
  { label: 'npm install: 20 MB / installed', value: 20 / install.megabytes, target: 1 },
];
for (const r of ratios) console.log(`${r.label}: ${r.value.toFixed(2)}x${r.value < r.target! ? ' BELOW TARGET' : ''}`);
console.log(`wrote ${save('package', { machine: machine(), imports, install, ratios })}`);
