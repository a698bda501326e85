// Retry decisions: what may be retried, within a budget, after how long.
//
// Backoff is exponential with full jitter (AWS Architecture Blog, "Exponential Backoff And
// Jitter"): a delay drawn uniformly from [0, min(maxMs, baseMs * 2^attempt)). It is written here
// rather than taken from cockatiel, whose jitter generators draw from Math.random; the mesh's
// randomness is seeded and injectable, so that routing and tests repeat exactly.
import type { Random } from './random.js';

/** Retry settings; defaults as Envoy's retry budget and gRPC-style backoff. */
export interface RetrySettings {
  /** What failures are retried. Default connect failures and 5xx. */
  retryOn: readonly ('connect-failure' | '5xx' | '429')[];
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
  retryOn: Object.freeze(['connect-failure', '5xx'] as const),
  maxRetries: 2,
  budgetPercent: 20,
  minConcurrent: 3,
  baseMs: 25,
  maxMs: 250,
});

/** A failure as the data plane saw it. */
export interface FailureKind {
  status?: number;
  connectFailure?: boolean;
}

export function retryable(f: FailureKind, s: RetrySettings): boolean {
  if (f.connectFailure) return s.retryOn.includes('connect-failure');
  if (f.status === 429) return s.retryOn.includes('429');
  return f.status !== undefined && f.status >= 500 && s.retryOn.includes('5xx');
}

/** Whether one more retry fits the budget, given the active requests and retries in flight. */
export function withinBudget(activeRequests: number, activeRetries: number, s: RetrySettings): boolean {
  return activeRetries < Math.max(s.minConcurrent, (activeRequests * s.budgetPercent) / 100);
}

/** Full-jitter delay before retry number `attempt` (1 for the first retry). */
export function backoffMs(attempt: number, s: RetrySettings, random: Random): number {
  return random() * Math.min(s.maxMs, s.baseMs * 2 ** (attempt - 1));
}
