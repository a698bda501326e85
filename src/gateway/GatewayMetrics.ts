// The AI gateway's Prometheus metrics: engine scrapes, tokens by endpoint, model and tenant,
// TTFT and time per output token, token budgets and their store.
import { promClient } from '../lazy.js';

// Seconds: from a cached short prompt on an H100 (10 ms) to a long queue (60 s).
const kTtftBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
// Seconds a token: 5 ms (fast decode) to 1 s (a CPU box).
const kTpotBuckets = [0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1];

export class GatewayMetrics {
  readonly #p = promClient();
  readonly registry = new this.#p.Registry();
  /** Engine metrics scrapes by result: ok, error (refused, reset, non-200), timeout, garbage (not an engine's metrics). */
  readonly scrapes = new this.#p.Counter({ name: 'wasmesh_engine_scrapes_total', help: 'Scrapes of engine metrics, by service, endpoint and result (ok, error, timeout, garbage).', labelNames: ['service', 'endpoint', 'result'], registers: [this.registry] });
  /** Age of each endpoint's last good scrape. */
  readonly age = new this.#p.Gauge({ name: 'wasmesh_engine_metrics_age_seconds', help: 'Seconds since the endpoint\'s engine metrics were last read.', labelNames: ['service', 'endpoint'], registers: [this.registry] });
  readonly tokens = new this.#p.Counter({ name: 'wasmesh_tokens_total', help: 'Tokens of answered requests, from their usage (kind: prompt, cached, completion), by service, endpoint, model and tenant.', labelNames: ['service', 'endpoint', 'model', 'tenant', 'kind'], registers: [this.registry] });
  /** Answers without usage whose tokens were counted from their stream's chunks instead. */
  readonly estimatedUsage = new this.#p.Counter({ name: 'wasmesh_usage_estimated_total', help: 'Streamed answers without usage: completion tokens counted as their content chunks.', labelNames: ['service', 'endpoint'], registers: [this.registry] });
  readonly ttft = new this.#p.Histogram({ name: 'wasmesh_ttft_seconds', help: 'Time to first token of streamed answers, by service and endpoint.', labelNames: ['service', 'endpoint'], buckets: kTtftBuckets, registers: [this.registry] });
  readonly tpot = new this.#p.Histogram({ name: 'wasmesh_time_per_output_token_seconds', help: 'Time per output token after the first, of streamed answers, by service and endpoint.', labelNames: ['service', 'endpoint'], buckets: kTpotBuckets, registers: [this.registry] });
  /** Budget decisions: admitted, limited (429), unlimited (no rule), open (store down, admitted), closed (store down, refused). */
  readonly budget = new this.#p.Counter({ name: 'wasmesh_budget_decisions_total', help: 'Token budget decisions by result (admitted, limited, open, closed).', labelNames: ['result'], registers: [this.registry] });
  readonly storeErrors = new this.#p.Counter({ name: 'wasmesh_budget_store_errors_total', help: 'Budget store (Redis) calls that failed or timed out.', labelNames: ['op'], registers: [this.registry] });
  readonly reservations = new this.#p.Gauge({ name: 'wasmesh_budget_reservations_open', help: 'Budget charges of requests under way, not settled yet.', registers: [this.registry] });
  readonly storeUp = new this.#p.Gauge({ name: 'wasmesh_budget_store_up', help: '1 while the budget store answers, 0 while it does not.', registers: [this.registry] });
  /** Requests answered by a fallback service instead of the one routed first. */
  readonly fallbacks = new this.#p.Counter({ name: 'wasmesh_fallbacks_total', help: 'Requests passed to a fallback service, by the service that refused, the one tried next and why.', labelNames: ['from', 'to', 'reason'], registers: [this.registry] });

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
