// Prometheus metrics of one Mesh, with prom-client: a registry per mesh, no global state.
import type { Counter, Gauge, Metric } from 'prom-client';
import { promClient } from '../lazy.js';
import { Buckets, kRouteTimedEvery, type EndpointTally, type Tallies } from './tally.js';

/** Upper bounds of the cached-share buckets. */
const kShareBuckets: readonly number[] = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];

/** What the metrics read from the mesh when scraped (gauges are computed then, not kept). */
export interface MetricsSource {
  services(): string[];
  endpoints(service: string): { id: string; accelerator: string; capacity: number; load: number }[];
  /** Routed and reported counts: the routed and outcome counters publish them when scraped. */
  tallies(): Tallies;
  panic(service: string): boolean;
  ringPoints(service: string): Map<string, number> | undefined;
}

export class MeshMetrics {
  readonly registry = new (promClient().Registry)();
  readonly routed: Counter<'service' | 'endpoint' | 'policy'>;
  readonly outcomes: Counter<'service' | 'endpoint' | 'result'>;
  readonly ejections: Counter<'service' | 'endpoint' | 'cause'>;
  readonly rejections: Counter<'service' | 'reason'>;
  readonly retries: Counter<'service' | 'result'>;
  // The cached shares by service, counted into plain buckets as the route durations are.
  readonly #hits = new Map<string, { predicted: Buckets; delivered: Buckets }>();

  constructor(source: MetricsSource) {
    const { Counter, Gauge } = promClient();
    const registers = [this.registry];
    const publishAll = () => {
      for (const [service, tally] of source.tallies()) for (const [id, t] of tally.endpoints) this.publish(service, id, t);
    };
    this.routed = new Counter({ name: 'wasmesh_requests_routed_total', help: 'Requests routed, by service, endpoint and policy.', labelNames: ['service', 'endpoint', 'policy'], registers, collect: publishAll });
    this.outcomes = new Counter({ name: 'wasmesh_outcomes_total', help: 'Reported request outcomes.', labelNames: ['service', 'endpoint', 'result'], registers, collect: publishAll });
    this.ejections = new Counter({ name: 'wasmesh_ejections_total', help: 'Outlier-detection ejections.', labelNames: ['service', 'endpoint', 'cause'], registers });
    this.rejections = new Counter({ name: 'wasmesh_rejections_total', help: 'Requests refused: circuit open, overloaded, no endpoint.', labelNames: ['service', 'reason'], registers });
    this.retries = new Counter({ name: 'wasmesh_retries_total', help: 'Retry decisions: retried, or not: not_retryable (the failure or method), budget_exhausted, no_endpoint (none other than the one that failed).', labelNames: ['service', 'result'], registers });
    this.registry.registerMetric(
      plainHistogram('wasmesh_route_duration_seconds', `Time route() takes, sampled: one route in ${kRouteTimedEvery} is timed (wasmesh_requests_routed_total counts them all).`, function* () {
        for (const [service, tally] of source.tallies()) yield [{ service }, tally.routeSeconds];
      }),
    );
    const hits = this.#hits;
    this.registry.registerMetric(
      plainHistogram('wasmesh_prefix_cached_share', 'Share of an LLM request\'s prompt tokens cached at its endpoint: predicted by the router (kind="predicted"), or as the engine reported it (kind="delivered", usage.prompt_tokens_details.cached_tokens).', function* () {
        for (const [service, h] of hits) {
          yield [{ service, kind: 'predicted' }, h.predicted];
          yield [{ service, kind: 'delivered' }, h.delivered];
        }
      }),
    );
    const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge<string>) => void) =>
      new Gauge({ name, help, labelNames, registers, collect() { this.reset(); collect(this); } });
    gauge('wasmesh_inflight_cost', 'In-flight cost per endpoint.', ['service', 'endpoint'], (g) => {
      for (const s of source.services()) for (const e of source.endpoints(s)) g.set({ service: s, endpoint: e.id }, e.load);
    });
    gauge('wasmesh_utilization', 'In-flight cost per capacity unit, per endpoint.', ['service', 'endpoint'], (g) => {
      for (const s of source.services()) for (const e of source.endpoints(s)) g.set({ service: s, endpoint: e.id }, e.load / e.capacity);
    });
    gauge('wasmesh_inflight_cost_by_accelerator', 'In-flight cost per accelerator type.', ['accelerator'], (g) => {
      const by = new Map<string, number>();
      for (const s of source.services()) for (const e of source.endpoints(s)) by.set(e.accelerator, (by.get(e.accelerator) ?? 0) + e.load);
      for (const [accelerator, v] of by) g.set({ accelerator }, v);
    });
    gauge('wasmesh_utilization_by_accelerator', 'In-flight cost per capacity unit, per accelerator type.', ['accelerator'], (g) => {
      const load = new Map<string, number>(), capacity = new Map<string, number>();
      for (const s of source.services()) {
        for (const e of source.endpoints(s)) {
          load.set(e.accelerator, (load.get(e.accelerator) ?? 0) + e.load);
          capacity.set(e.accelerator, (capacity.get(e.accelerator) ?? 0) + e.capacity);
        }
      }
      for (const [accelerator, v] of load) g.set({ accelerator }, v / capacity.get(accelerator)!);
    });
    gauge('wasmesh_capacity_share', 'Share of the service capacity per endpoint.', ['service', 'endpoint'], (g) => {
      for (const s of source.services()) {
        const list = source.endpoints(s);
        const total = list.reduce((sum, e) => sum + e.capacity, 0);
        for (const e of list) g.set({ service: s, endpoint: e.id }, total ? e.capacity / total : 0);
      }
    });
    gauge('wasmesh_routed_share', 'Share of routed requests per endpoint (distribution drift against capacity share).', ['service', 'endpoint'], (g) => {
      for (const s of source.services()) {
        const tally = source.tallies().get(s)?.endpoints ?? new Map<string, EndpointTally>();
        let total = 0;
        for (const t of tally.values()) total += t.routed;
        for (const [id, t] of tally) g.set({ service: s, endpoint: id }, total ? t.routed / total : 0);
      }
    });
    gauge('wasmesh_panic', '1 while a service balances across all endpoints because too few are healthy.', ['service'], (g) => {
      for (const s of source.services()) g.set({ service: s }, source.panic(s) ? 1 : 0);
    });
    gauge('wasmesh_ring_points', 'Ring points (virtual nodes) per endpoint of ring-hash services.', ['service', 'endpoint'], (g) => {
      for (const s of source.services()) for (const [id, n] of source.ringPoints(s) ?? []) g.set({ service: s, endpoint: id }, n);
    });
  }

  /** The predicted cached share of a routed LLM request. */
  prefixHit(service: string, share: number): void {
    this.#hitsOf(service).predicted.add(share);
  }

  /** The cached share the engine reported. */
  prefixDelivered(service: string, share: number): void {
    this.#hitsOf(service).delivered.add(share);
  }

  #hitsOf(service: string): { predicted: Buckets; delivered: Buckets } {
    let h = this.#hits.get(service);
    if (!h) this.#hits.set(service, (h = { predicted: new Buckets(kShareBuckets), delivered: new Buckets(kShareBuckets) }));
    return h;
  }

  /** Removes the series of an endpoint the mesh no longer counts. */
  forget(service: string, endpoint: string, t: EndpointTally): void {
    this.routed.remove({ service, endpoint, policy: t.policy });
    for (const result of ['success', 'failure', 'cancelled']) this.outcomes.remove({ service, endpoint, result });
  }

  /** Adds an endpoint's counts since the last publish to the routed and outcome counters. */
  publish(service: string, endpoint: string, t: EndpointTally): void {
    if (t.routed > t.publishedRouted) this.routed.inc({ service, endpoint, policy: t.policy }, t.routed - t.publishedRouted);
    const failures = t.failures - t.publishedFailures;
    const successes = t.requests - t.publishedRequests - failures;
    if (successes > 0) this.outcomes.inc({ service, endpoint, result: 'success' }, successes);
    if (failures > 0) this.outcomes.inc({ service, endpoint, result: 'failure' }, failures);
    if (t.cancelled > t.publishedCancelled) this.outcomes.inc({ service, endpoint, result: 'cancelled' }, t.cancelled - t.publishedCancelled);
    t.publishedCancelled = t.cancelled;
    t.publishedRouted = t.routed;
    t.publishedRequests = t.requests;
    t.publishedFailures = t.failures;
  }
}

/**
 * A histogram counted into plain buckets (Buckets) and read when scraped: prom-client's Histogram
 * builds and hashes a label set on every observation, which was a quarter of what a route cost
 * (the route durations) and a fiftieth of an LLM decision (the cached shares). The registry takes
 * any object with this shape. `series` lists each label set's buckets; one with no observation
 * is left out, as prom-client leaves out a label set never observed.
 */
function plainHistogram(name: string, help: string, series: () => Iterable<[Record<string, string>, Buckets]>): Metric {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const [labels, b] of series()) {
        if (b.count === 0) continue;
        let cumulative = 0;
        for (let i = 0; i <= b.bounds.length; i++) {
          cumulative += b.counts[i]!;
          values.push({ metricName: `${name}_bucket`, labels: { le: i < b.bounds.length ? b.bounds[i]! : '+Inf', ...labels }, value: cumulative });
        }
        values.push({ metricName: `${name}_sum`, labels, value: b.sum }, { metricName: `${name}_count`, labels, value: b.count });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset(): void {
      for (const [, b] of series()) b.reset();
    },
  };
  return metric as unknown as Metric;
}
