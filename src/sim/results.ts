// What a simulation run measured, per policy: the figures LLM routers are judged by.
import type { Engine, SeqResult } from './Engine.js';
import type { MetricsScraper } from './MetricsScraper.js';
import type { SimRouter } from './routers.js';

/** Service level objectives a request must meet to count in goodput. */
export interface Slo {
  ttftMs: number;
  tpotMs: number;
}

/** One policy's results (the JSON contract of `wasmesh sim`, plus more fields). */
export interface PolicyResult {
  policy: string;
  /** Prompt tokens served from the prefix cache over all prompt tokens, of completed requests. */
  hitRate: number;
  ttftMs: { p50: number; p90: number; p99: number };
  /** Time per output token after the first. */
  tpotMs: { p50: number; p99: number };
  e2eMs: { p50: number; p99: number };
  /** Mean time in the system of completed requests, seconds. */
  meanE2eS: number;
  /** Requests in the system (waiting or running), averaged over the metric scrapes. */
  inSystem: number;
  /** Output tokens of completed requests per second, from the first arrival to the last answer. */
  outputTokensPerS: number;
  /** Requests a second that met both SLOs. */
  goodput: number;
  /** Share of requests answered (the rest timed out waiting). */
  successRate: number;
  /** Coefficient of variation of the engines' busy time (0: even). */
  imbalance: number;
  preemptions: number;
  /** Wall-clock microseconds the router spends on a decision (route and report), median: the first decisions pay for compiling the code. */
  routerMicros: number;
  requests: number;
  completed: number;
  /** Mean KV cache usage per engine over the run (from the scraped metrics). */
  kvUsage: number[];
  /** Share of requests each engine served. */
  share: number[];
  /** Mean over sharing groups (problems, documents, system prompts) of the largest share of a group's requests one engine took: 1 when every group stays on one engine. */
  groupAffinity: number;
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const round = (x: number, digits = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

export function summarize(run: { policy: string; records: SeqResult[]; servedBy: number[]; engines: readonly Engine[]; router: SimRouter; total: number; slo: Slo; scraper: MetricsScraper }): PolicyResult {
  const ok = run.records.filter((r) => r.ok);
  const ttft = Float64Array.from(ok, (r) => (r.firstTokenS - r.request.arrivalS) * 1000).sort();
  const tpotOf = (r: SeqResult) => (r.request.outputTokens > 1 ? ((r.endS - r.firstTokenS) * 1000) / (r.request.outputTokens - 1) : 0);
  const tpot = Float64Array.from(ok, tpotOf).sort();
  const e2e = Float64Array.from(ok, (r) => (r.endS - r.request.arrivalS) * 1000).sort();
  let cached = 0, prompt = 0, output = 0, good = 0, first = Infinity, last = 0;
  for (const r of ok) {
    cached += r.cachedTokens;
    prompt += r.request.promptTokens;
    output += r.request.outputTokens;
    if ((r.firstTokenS - r.request.arrivalS) * 1000 <= run.slo.ttftMs && tpotOf(r) <= run.slo.tpotMs) good++;
  }
  for (const r of run.records) {
    first = Math.min(first, r.request.arrivalS);
    last = Math.max(last, r.endS);
  }
  const span = last - first;
  const busy = run.engines.map((e) => e.busyS);
  const mean = busy.reduce((a, b) => a + b, 0) / busy.length;
  const sd = Math.sqrt(busy.reduce((a, b) => a + (b - mean) ** 2, 0) / busy.length);
  const served = new Float64Array(run.engines.length);
  for (const i of run.servedBy) served[i]! += 1 / run.servedBy.length;
  // Per group: requests per engine.
  const groups = new Map<number, Map<number, number>>();
  run.records.forEach((r, k) => {
    if (r.request.group < 0) return;
    const g = groups.get(r.request.group) ?? new Map<number, number>();
    groups.set(r.request.group, g);
    g.set(run.servedBy[k]!, (g.get(run.servedBy[k]!) ?? 0) + 1);
  });
  let affinity = 0;
  for (const g of groups.values()) {
    const counts = [...g.values()];
    affinity += Math.max(...counts) / counts.reduce((a, b) => a + b, 0);
  }
  return {
    policy: run.policy,
    hitRate: round(prompt ? cached / prompt : 0, 4),
    ttftMs: { p50: round(quantile(ttft, 0.5)), p90: round(quantile(ttft, 0.9)), p99: round(quantile(ttft, 0.99)) },
    tpotMs: { p50: round(quantile(tpot, 0.5)), p99: round(quantile(tpot, 0.99)) },
    e2eMs: { p50: round(quantile(e2e, 0.5)), p99: round(quantile(e2e, 0.99)) },
    meanE2eS: round(e2e.reduce((a, b) => a + b, 0) / (e2e.length || 1) / 1000, 4),
    inSystem: round(run.scraper.scrapes ? run.scraper.inSystemSum / run.scraper.scrapes : 0, 3),
    outputTokensPerS: round(span > 0 ? output / span : 0, 1),
    goodput: round(span > 0 ? good / span : 0),
    successRate: round(ok.length / run.total, 4),
    imbalance: round(mean > 0 ? sd / mean : 0, 4),
    preemptions: run.engines.reduce((n, e) => n + e.preemptions, 0),
    routerMicros: round(quantile(Float64Array.from(run.router.micros).sort(), 0.5), 3),
    requests: run.total,
    completed: ok.length,
    kvUsage: Array.from(run.scraper.kvUsageSum, (s) => round(run.scraper.scrapes ? s / run.scraper.scrapes : 0, 4)),
    share: Array.from(served, (x) => round(x, 4)),
    groupAffinity: round(groups.size ? affinity / groups.size : 0, 4),
  };
}
