// Retry decisions: what may be retried, within a budget, after how long.
//
// What may be retried follows nginx's proxy_next_upstream and Envoy's retry_on: a failure has a
// kind (the request never left, the connection reset after it was sent, no answer in time, a 5xx
// or 429 answer), `retryOn` lists the kinds retried, and only for the methods in `methods`
// (idempotent ones by default, RFC 9110 9.2.2). A request of any other method (POST, PATCH) may
// have been processed by the endpoint, so it is retried only when it never left: a connect
// failure. A retry never goes back to the endpoint that failed unless `sameEndpoint` is set (a
// hung endpoint retried on itself turns one timeout into three).
//
// Backoff is exponential with full jitter (AWS Architecture Blog, "Exponential Backoff And
// Jitter"): a delay drawn uniformly from [0, min(maxMs, baseMs * 2^attempt)). It is written here
// rather than taken from cockatiel, whose jitter generators draw from Math.random; the mesh's
// randomness is seeded and injectable, so that routing and tests repeat exactly.
import type { Random } from './random.js';

/** The kinds of failure a retry may be made for. */
export type RetryCondition = 'connect-failure' | 'reset' | 'timeout' | '5xx' | '429';

export const kRetryConditions: readonly RetryCondition[] = Object.freeze(['connect-failure', 'reset', 'timeout', '5xx', '429']);

/** Methods a repeat cannot do harm with (RFC 9110 9.2.2): retried on every condition in retryOn. */
export const kIdempotentMethods: readonly string[] = Object.freeze(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Retry settings; defaults as nginx's proxy_next_upstream, with Envoy's retry budget and gRPC-style backoff. */
export interface RetrySettings {
  /** What failures are retried. Default connect failures, resets, timeouts and 5xx. */
  retryOn: readonly RetryCondition[];
  /** Methods retried on every condition of retryOn; others only on connect failures. Default the idempotent ones. */
  methods: readonly string[];
  /** Whether a retry may go back to the endpoint that failed when no other is eligible. Default false. */
  sameEndpoint: boolean;
  /** Retries per request. Default 2. */
  maxRetries: number;
  /** Retries in flight may be at most this share of the active requests... Default 20. */
  budgetPercent: number;
  /** ...but at least this many. Default 3. */
  minConcurrent: number;
  /** Backoff base and cap. Defaults 25 ms and 250 ms. */
  baseMs: number;
  maxMs: number;
}

export const kDefaultRetrySettings: RetrySettings = Object.freeze({
  retryOn: Object.freeze(['connect-failure', 'reset', 'timeout', '5xx'] as const),
  methods: kIdempotentMethods,
  sameEndpoint: false,
  maxRetries: 2,
  budgetPercent: 20,
  minConcurrent: 3,
  baseMs: 25,
  maxMs: 250,
});

/** A failure as the data plane saw it. */
export interface FailureKind {
  /** The endpoint's answer, or 504 for a timeout. */
  status?: number;
  /** Nothing of the request was sent: the connection could not be made. */
  connectFailure?: boolean;
  /** The request was (at least partly) sent, then the connection closed before an answer. */
  reset?: boolean;
  /** No answer within the first-byte timeout. */
  timeout?: boolean;
  /** The request's method; when absent, the request is taken as idempotent. */
  method?: string;
}

/** The condition a failure falls under, if any. */
export function conditionOf(f: FailureKind): RetryCondition | undefined {
  if (f.connectFailure) return 'connect-failure';
  if (f.reset) return 'reset';
  if (f.timeout) return 'timeout';
  if (f.status === 429) return '429';
  return f.status !== undefined && f.status >= 500 ? '5xx' : undefined;
}

export function retryable(f: FailureKind, s: RetrySettings): boolean {
  const condition = conditionOf(f);
  if (condition === undefined || !s.retryOn.includes(condition)) return false;
  // A request that never left is safe to send again whatever its method.
  return condition === 'connect-failure' || f.method === undefined || s.methods.includes(f.method.toUpperCase());
}

/** Whether one more retry fits the budget, given the active requests and retries in flight. */
export function withinBudget(activeRequests: number, activeRetries: number, s: RetrySettings): boolean {
  return activeRetries < Math.max(s.minConcurrent, (activeRequests * s.budgetPercent) / 100);
}

/** Full-jitter delay before retry number `attempt` (1 for the first retry). */
export function backoffMs(attempt: number, s: RetrySettings, random: Random): number {
  return random() * Math.min(s.maxMs, s.baseMs * 2 ** (attempt - 1));
}
