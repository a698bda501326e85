// What the mesh counts as it routes and hears outcomes, per service and per endpoint: plain
// numbers on the hot path. Admission (circuit limits, the retry budget) and endpoints() read
// them as they are; the Prometheus counters read them when scraped (metrics.ts adds the increase
// since the last scrape), so route() and report() build no label set.

/** Counts of one endpoint of a service. */
export class EndpointTally {
  /** Requests routed here and not reported yet. */
  inflight = 0;
  routed = 0;
  /** Policy of the service when it last routed here: a label of the routed counter. */
  policy = '';
  /** Reported outcomes. */
  requests = 0;
  failures = 0;
  /** Outcomes that did not judge the endpoint (the client left, or was refused before an answer). */
  cancelled = 0;
  latencyMsSum = 0;
  /** What the Prometheus counters hold already. */
  publishedRouted = 0;
  publishedRequests = 0;
  publishedFailures = 0;
  publishedCancelled = 0;
}

/**
 * route() durations are sampled: one route in this many is timed (a power of two). A timed route
 * cost about 250 ns more than another here (two clock reads of ~60 ns on this VM, and what V8
 * makes of the branch): timing one in 16 made route + report 1.07x slower than timing none, one
 * in 128 was within the noise of none (ring-hash, ten alternating in-process runs each). At
 * 1,000 routes a second that is still eight samples a second.
 */
export const kRouteTimedEvery = 128;

/** Upper bounds (seconds) of the route duration buckets. */
export const kRouteBuckets: readonly number[] = [1e-7, 3e-7, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 1e-3];

/**
 * Observations counted into fixed buckets, as a Prometheus histogram has them when scraped (not
 * cumulative here; a value counts in the first bucket whose bound it does not exceed, the last
 * bucket is above every bound).
 */
export class Buckets {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  add(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = this.count = 0;
  }
}

/** Counts of one service, and of each endpoint it has routed to (removed ones too). */
export class ServiceTally {
  /** Requests in flight, and retries among them. */
  inflight = 0;
  retrying = 0;
  /** How long route() took. */
  readonly routeSeconds = new Buckets(kRouteBuckets);
  readonly endpoints = new Map<string, EndpointTally>();

  endpoint(id: string): EndpointTally {
    let t = this.endpoints.get(id);
    if (!t) this.endpoints.set(id, (t = new EndpointTally()));
    return t;
  }
}

/** Tallies by service name. */
export class Tallies extends Map<string, ServiceTally> {
  service(name: string): ServiceTally {
    let t = this.get(name);
    if (!t) this.set(name, (t = new ServiceTally()));
    return t;
  }
}
