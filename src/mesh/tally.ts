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
  latencyMsSum = 0;
  /** What the Prometheus counters hold already. */
  publishedRouted = 0;
  publishedRequests = 0;
  publishedFailures = 0;
}

/** Counts of one service, and of each endpoint it has routed to (removed ones too). */
export class ServiceTally {
  /** Requests in flight, and retries among them. */
  inflight = 0;
  retrying = 0;
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
