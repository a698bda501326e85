// The sidecar's own Prometheus metrics, beside the mesh's: requests it answered itself, and
// malformed ones. Only the paths that refuse a request touch them; a proxied request does not.
import { promClient } from '../lazy.js';

export class ProxyMetrics {
  readonly #p = promClient();
  readonly registry = new this.#p.Registry();
  /** Requests refused as malformed (bad framing, duplicate Host, smuggling attempts), by reason. */
  readonly badRequests = new this.#p.Counter({ name: 'wasmesh_bad_requests_total', help: 'Malformed requests answered 400 (or 431) before routing, by reason.', labelNames: ['reason'], registers: [this.registry] });
  /** Every answer the proxy gave itself instead of an endpoint, by status and reason. */
  readonly localAnswers = new this.#p.Counter({ name: 'wasmesh_local_responses_total', help: 'Responses the proxy gave itself (limits, timeouts, refusals), by status and reason.', labelNames: ['status', 'reason'], registers: [this.registry] });

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
