// Thin layer over benny: warm-up, items-per-second figures with their spread, ratios within
// one run, and a results file. Every figure a benchmark reports comes through here.
import b from 'benny';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

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

export function find(results: Result[], suite: string, name: string): Result {
  const r = results.find((x) => x.suite === suite && x.name === name);
  if (!r) throw new Error(`no result ${suite} / ${name}`);
  return r;
}

export interface Ratio {
  label: string;
  value: number;
  target?: number;
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
    rows.push(`| ${r.label} | ${r.value.toFixed(2)}x | ${r.target === undefined ? '' : `>= ${r.target}x`} | ${ok} |`);
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
