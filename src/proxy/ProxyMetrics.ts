// The sidecar's own Prometheus metrics, beside the mesh's: requests it answered itself, and
// malformed ones, and which reader read each request. Only the paths that refuse a request touch
// prom-client; a proxied request adds one to a plain number, published when scraped.
import { promClient } from '../lazy.js';

export class ProxyMetrics {
  readonly #p = promClient();
  readonly registry = new this.#p.Registry();
  /** Requests refused as malformed (bad framing, duplicate Host, smuggling attempts), by reason. */
  readonly badRequests = new this.#p.Counter({ name: 'wasmesh_bad_requests_total', help: 'Malformed requests answered 400 (or 431) before routing, by reason.', labelNames: ['reason'], registers: [this.registry] });
  /** Every answer the proxy gave itself instead of an endpoint, by status and reason. */
  readonly localAnswers = new this.#p.Counter({ name: 'wasmesh_local_responses_total', help: 'Responses the proxy gave itself (limits, timeouts, refusals), by status and reason.', labelNames: ['status', 'reason'], registers: [this.registry] });

  /** Requests read by the proxy's own reader (the common shape), and by node:http's (the rest). */
  readOwn = 0;
  readNode = 0;
  readonly requestsRead = new this.#p.Counter({
    name: 'wasmesh_requests_read_total',
    help: "Requests read, by reader: the proxy's own (the common shape) or node:http's (the rest).",
    labelNames: ['reader'],
    registers: [this.registry],
    collect: (() => {
      const metrics = this;
      return function (this: { reset(): void; inc(labels: { reader: string }, n: number): void }) {
        this.reset();
        this.inc({ reader: 'own' }, metrics.readOwn);
        this.inc({ reader: 'node' }, metrics.readNode);
      };
    })(),
  });

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
