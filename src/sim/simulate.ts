// The discrete-event loop: requests arrive, a router sends each to an engine, engines run
// iteration by iteration, finished requests go back to the router (report) and into the results.
// Deterministic: the same workload, fleet, policy and seed give the same results, bit for bit
// (router cost aside, which is wall-clock time).
import { engineSpeed, kModels, kvCapacityTokens } from './costModel.js';
import { Engine, type SeqResult } from './Engine.js';
import type { Fleet } from './fleets.js';
import { summarize, type PolicyResult, type Slo } from './results.js';
import { makeRouter } from './routers.js';
import { MetricsScraper } from './MetricsScraper.js';
import type { Workload } from './workloads.js';

/** Options of one simulation run. */
export interface SimulateOptions {
  workload: Workload;
  fleet: Fleet;
  policy: string;
  seed?: number;
  /** A request not admitted within this many seconds is dropped by its client. Default 60. */
  timeoutS?: number;
  /** Service level objectives of goodput. Default TTFT 2 s, TPOT 100 ms. */
  slo?: Slo;
  /** Engine metrics scrape interval and the age past which a sample is stale, seconds. Defaults 0.2 and 1. */
  scrapeS?: number;
  staleS?: number;
}

export const kDefaultSlo: Slo = Object.freeze({ ttftMs: 2000, tpotMs: 100 });

/** Runs a workload through a fleet under one routing policy. */
export function simulate(options: SimulateOptions): PolicyResult {
  const { workload, fleet, policy } = options;
  const seed = options.seed ?? 1;
  const model = kModels[fleet.model]!;
  const records: SeqResult[] = [];
  const servedBy: number[] = [];
  let router: ReturnType<typeof makeRouter> | undefined;
  const engines = fleet.endpoints.map(
    (e, i) =>
      new Engine({ speed: engineSpeed(e, model), kvTokens: e.kvTokens ?? kvCapacityTokens(e, model), timeoutS: options.timeoutS ?? 60 }, (result) => {
        records.push(result);
        servedBy.push(i);
        router!.done(i, result, clock);
      }),
  );
  router = makeRouter(policy, fleet, engines, seed);
  const scraper = new MetricsScraper(engines, options.scrapeS ?? 0.2, options.staleS ?? 1);
  const requests = workload.requests;
  let next = 0;
  let clock = 0;
  for (;;) {
    // The next event: an arrival, an iteration's end, or a scrape.
    let at = next < requests.length ? requests[next]!.arrivalS : Infinity;
    let engine = -1;
    for (let i = 0; i < engines.length; i++) {
      const until = engines[i]!.busyUntil;
      if (until >= 0 && until < at) [at, engine] = [until, i];
    }
    if (at === Infinity) break;
    if (scraper.due(at)) {
      clock = scraper.next;
      scraper.scrape(clock);
      router.scraped?.(scraper, clock);
      continue;
    }
    clock = at;
    if (engine >= 0) {
      const e = engines[engine]!;
      e.finish();
      e.start(clock);
    } else {
      const request = requests[next++]!;
      const i = router.pick(request, clock);
      const e = engines[i]!;
      e.enqueue(request);
      if (!e.busy) e.start(clock);
    }
  }
  return summarize({ policy, records, servedBy, engines, router, total: requests.length, slo: options.slo ?? kDefaultSlo, scraper });
}
