// The whole benchmark suite in one run: each suite in its own process (so one's heap and JIT do
// not colour the next), a progress bar over them, then latest.json, the Markdown tables and
// charts, and the targets a run missed. Results go to bench/results/run/ (untracked); only
// --update-readme replaces the committed bench/results/ and the README's performance section.
//   npm run bench                      (full: about 15 minutes)
//   npm run bench -- --update-readme   (full, and the README's tables from it)
//   npm run bench -- --quick           (every case, shorter: under a minute)
import cliProgress from 'cli-progress';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { machine, quick, resultsDir, updateReadme, type Ratio } from './harness.js';

// etcd's figures are latencies of a real server, only in full runs and where it is installed.
const suites = ['ring', 'wrr', 'mesh', 'pool', 'proxy', 'proxy-peers', 'sim', 'prefix', 'maglev', 'package', ...(!quick && existsSync('/usr/bin/etcd') ? ['etcd'] : [])];
const dir = resultsDir;

function runSuite(name: string): Promise<{ seconds: number; log: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', new URL(`./${name}.bench.ts`, import.meta.url).pathname, ...(quick ? ['--quick'] : []), ...(updateReadme ? ['--update-readme'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('exit', (code) => {
      writeFileSync(new URL(`${name}.log`, dir), log);
      if (code === 0) resolve({ seconds: (performance.now() - started) / 1000, log });
      else reject(new Error(`bench suite ${name} failed (exit ${code}); see bench/results/${name}.log\n${log.slice(-2000)}`));
    });
  });
}

const bar = new cliProgress.SingleBar({ format: ' bench |{bar}| {value}/{total} suites | {suite} | {duration}s', noTTYOutput: true, notTTYSchedule: 5000 }, cliProgress.Presets.shades_classic);
const started = performance.now();
bar.start(suites.length, 0, { suite: suites[0] });
const timings: Record<string, number> = {};
for (const name of suites) {
  bar.update({ suite: `running ${name}` });
  timings[name] = (await runSuite(name)).seconds;
  bar.increment({ suite: `${name} done in ${timings[name]!.toFixed(0)} s` });
}
bar.stop();

const latest = {
  machine: machine(),
  seconds: (performance.now() - started) / 1000,
  timings,
  suites: Object.fromEntries(suites.map((name) => [name, JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8'))])),
};
writeFileSync(new URL('latest.json', dir), JSON.stringify(latest, null, 2) + '\n');
console.log(`\nall ${suites.length} suites in ${latest.seconds.toFixed(0)} s (${Object.entries(timings).map(([n, s]) => `${n} ${s.toFixed(0)} s`).join(', ')}); wrote ${new URL('latest.json', dir).pathname}`);
// A run that misses a target says so here, not only in bench:check.
const missed = Object.entries(latest.suites).flatMap(([name, s]) => ((s as { ratios?: Ratio[] }).ratios ?? []).filter((r) => r.target !== undefined && r.value < r.target).map((r) => `  ${name}: ${r.label}: ${r.value.toFixed(2)}x (target >= ${r.target}x)`));
console.log(missed.length ? `\nBELOW TARGET in this run (${missed.length}):\n${missed.join('\n')}` : '\nevery target met in this run');
await import('./report.js');
