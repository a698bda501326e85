// Thin layer over benny: warm-up, items-per-second figures with their spread, ratios within
// one run, and a results file. Every figure a benchmark reports comes through here.
import b from 'benny';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface Case {
  name: string;
  /** One timed operation. Setup belongs outside it. */
  fn: () => unknown;
  /** Items (lookups, picks) one operation performs; figures are reported per item. */
  items?: number;
}

export interface Result {
  suite: string;
  name: string;
  items: number;
  /** Items per second: mean, and the spread over samples (slowest, median, fastest). */
  mean: number;
  min: number;
  median: number;
  max: number;
  /** Relative margin of error of the mean, percent. */
  rme: number;
  samples: number;
}

export const quick = process.argv.includes('--quick');

// An operation that returns a promise (a worker pool, a proxy) is awaited, here and in benny.
async function warmUp(fn: () => unknown): Promise<void> {
  const until = performance.now() + (quick ? 25 : 200);
  while (performance.now() < until) {
    const r = fn();
    if (r instanceof Promise) await r;
  }
}

export async function measure(suite: string, cases: Case[]): Promise<Result[]> {
  for (const c of cases) await warmUp(c.fn);
  const results: Result[] = [];
  await b.suite(
    suite,
    ...cases.map((c) => b.add(c.name, c.fn)),
    // Quick: a smoke run of every case (the whole suite under a minute), its figures rougher.
    b.configure({ cases: quick ? { minTime: 0.01, maxTime: 0.08, minSamples: 5 } : { minTime: 0.2, maxTime: 2, minSamples: 10 } }),
    b.cycle(),
    b.complete((summary) => {
      summary.results.forEach((r, i) => {
        const items = cases[i]!.items ?? 1;
        const d = r.details;
        results.push({
          suite,
          name: r.name,
          items,
          mean: r.ops * items,
          min: items / d.max,
          median: items / d.median,
          max: items / d.min,
          rme: d.relativeMarginOfError,
          samples: r.samples,
        });
      });
    }),
  );
  return results;
}

/** A Result from ns-per-item timings of rounds measured elsewhere (a native program's). */
export function fromRounds(suite: string, name: string, nsPerItem: number[]): Result {
  const rates = nsPerItem.map((ns) => 1e9 / ns).sort((a, b) => a - b);
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const sd = Math.sqrt(rates.reduce((a, r) => a + (r - mean) ** 2, 0) / Math.max(1, rates.length - 1));
  return { suite, name, items: 1, mean, min: rates[0]!, median: rates[rates.length >> 1]!, max: rates.at(-1)!, rme: (100 * 1.96 * sd) / Math.sqrt(rates.length) / mean, samples: rates.length };
}

export function find(results: Result[], suite: string, name: string): Result {
  const r = results.find((x) => x.suite === suite && x.name === name);
  if (!r) throw new Error(`no result ${suite} / ${name}`);
  return r;
}

export interface Ratio {
  label: string;
  value: number;
  target?: number;
  /** Interleaved ratios: the 10th and 90th percentile of the per-round ratios. */
  low?: number;
  high?: number;
}

/**
 * a's rate over b's, measured in alternating rounds (a, b, a, b, ...) of about `roundMs` each
 * after a warm-up: a noisy neighbour slows both sides of a round alike, so the per-round ratios
 * spread far less than two figures measured one after the other. value is their median, with
 * low..high the 10th..90th percentiles; `rates` are a's items per second, round by round.
 */
export async function interleaved(label: string, a: Case, b: Case, target?: number, rounds = quick ? 8 : 40, roundMs = quick ? 20 : 60): Promise<Ratio & { rates: number[] }> {
  await warmUp(a.fn);
  await warmUp(b.fn);
  // Operations a round: as many as take about roundMs, counted once.
  const size = async (c: Case) => {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < roundMs) {
      const r = c.fn();
      if (r instanceof Promise) await r;
      n++;
    }
    return Math.max(1, n);
  };
  const [na, nb] = [await size(a), await size(b)];
  const time = async (c: Case, n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const r = c.fn();
      if (r instanceof Promise) await r;
    }
    return (n * (c.items ?? 1) * 1000) / (performance.now() - t0);
  };
  const ratios: number[] = [];
  const rates: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which side goes first, so neither gains from following the other.
    let ra: number, rb: number;
    if (i % 2) {
      ra = await time(a, na);
      rb = await time(b, nb);
    } else {
      rb = await time(b, nb);
      ra = await time(a, na);
    }
    rates.push(ra);
    ratios.push(ra / rb);
  }
  const at = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
  return { label, value: at(ratios, 0.5), low: at(ratios, 0.1), high: at(ratios, 0.9), rates, ...(target === undefined ? {} : { target }) };
}

/**
 * Fresh processes for an interleaved pair. Within one process both sides keep the code layout
 * and the compiled code they got, and one process's ratio can move by more than a change to the
 * code does (the mesh's ring-hash route + report / get: 0.20x to 0.28x across processes, the
 * code unchanged). A script runs a pair alone when given `--pair <name>` (pairWanted) and
 * answers with answerPair; inFreshProcesses runs it that many times, one after the other, and
 * reports the median, with the lowest and highest as the spread.
 */
export const pairWanted: string | undefined = process.argv.includes('--pair') ? process.argv[process.argv.indexOf('--pair') + 1] : undefined;

/** The child's side: the pair's ratio on stdout as JSON, then exit. */
export function answerPair(r: Ratio): never {
  process.stdout.write(`${JSON.stringify({ value: r.value, low: r.low, high: r.high })}\n`);
  process.exit(0);
}

const execFileAsync = promisify(execFile);

/** The pair `name` of `script` (a bench file's import.meta.url) in `processes` fresh processes. */
export async function inFreshProcesses(label: string, script: string, name: string, target?: number, processes = 3): Promise<Ratio> {
  const values: number[] = [];
  for (let i = 0; i < processes; i++) {
    process.stderr.write(`  ${name}: fresh process ${i + 1} of ${processes}\n`);
    const args = ['--import', 'tsx', fileURLToPath(script), '--pair', name, ...(quick ? ['--quick'] : [])];
    const { stdout } = await execFileAsync(process.execPath, args, { maxBuffer: 1 << 20 });
    values.push((JSON.parse(stdout.trim().split('\n').at(-1)!) as Ratio).value);
  }
  values.sort((a, b) => a - b);
  return { label: `${label} (interleaved rounds, median of ${processes} fresh processes; spread: their lowest..highest)`, value: values[processes >> 1]!, low: values[0]!, high: values.at(-1)!, ...(target === undefined ? {} : { target }) };
}

/** How many times faster `a` is than `b` (medians, same run). */
export function ratio(label: string, a: Result, b: Result, target?: number): Ratio {
  return { label, value: a.median / b.median, ...(target === undefined ? {} : { target }) };
}

export function si(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(1);
}

export function table(results: Result[]): string {
  const rows = ['| suite | case | median /s | min /s | max /s | ±% | samples |', '|---|---|---:|---:|---:|---:|---:|'];
  for (const r of results) {
    rows.push(`| ${r.suite} | ${r.name} | ${si(r.median)} | ${si(r.min)} | ${si(r.max)} | ${r.rme.toFixed(1)} | ${r.samples} |`);
  }
  return rows.join('\n');
}

export function ratioTable(ratios: Ratio[]): string {
  const rows = ['| ratio | measured | target | |', '|---|---:|---:|---|'];
  for (const r of ratios) {
    const ok = r.target === undefined ? '' : r.value >= r.target ? 'met' : 'BELOW TARGET';
    const spread = r.low === undefined ? '' : ` (${r.low.toFixed(2)}..${r.high!.toFixed(2)})`;
    rows.push(`| ${r.label} | ${r.value.toFixed(2)}x${spread} | ${r.target === undefined ? '' : `>= ${r.target}x`} | ${ok} |`);
  }
  return rows.join('\n');
}

export function machine(): Record<string, string | number> {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
  };
}

/** `--update-readme`: a full run's results replace the committed ones and the README's tables. */
export const updateReadme = process.argv.includes('--update-readme');
if (updateReadme && quick) {
  console.error('bench: a quick run never replaces the committed results nor the README: drop --quick or --update-readme');
  process.exit(2);
}

/**
 * Where results go: bench/results/ (committed; the README's tables come from them) only with
 * --update-readme; otherwise bench/results/run/ for a full run and bench/results/quick/ for a
 * quick one, both untracked, so that a run to look at changes nothing under version control.
 */
export const resultsDir = new URL(updateReadme ? './results/' : quick ? './results/quick/' : './results/run/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });

export function save(name: string, data: unknown): string {
  const dir = resultsDir;
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file.pathname;
}
