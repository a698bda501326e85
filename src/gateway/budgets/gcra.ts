// The token bucket of a budget, as the Generic Cell Rate Algorithm keeps it: one number per
// bucket, its theoretical arrival time (TAT), the time at which the bucket would be full again.
// A charge of n tokens moves TAT n emission intervals (T ms a token) later; it fits while TAT
// stays within the burst tolerance (tau = burst x T) of now. A reconciliation moves TAT by the
// difference between the tokens used and those charged, never before now (a bucket holds no
// more than its burst). The Redis store runs the same arithmetic in Lua (redisStore.ts).

/** A bucket's shape: its emission interval and burst tolerance, ms. */
export interface BucketShape {
  /** Milliseconds a token (60000 / tokensPerMinute). */
  intervalMs: number;
  /** Burst tolerance, ms (burstTokens x intervalMs). */
  toleranceMs: number;
}

/** What a charge found: whether it fit, the bucket's TAT after it, and the store's now. */
export interface GcraResult {
  ok: boolean;
  tat: number;
  now: number;
}

/** Charges `tokens` to a bucket whose TAT is `tat` (undefined: full): the new TAT when it fits. */
export function charge(tat: number | undefined, now: number, tokens: number, shape: BucketShape): GcraResult {
  const from = Math.max(tat ?? now, now);
  const next = from + tokens * shape.intervalMs;
  if (next - now > shape.toleranceMs) return { ok: false, tat: from, now };
  return { ok: true, tat: next, now };
}

/** Moves a bucket's TAT by `tokens` (negative: a refund), never before now. */
export function adjust(tat: number | undefined, now: number, tokens: number, shape: BucketShape): GcraResult {
  return { ok: true, tat: Math.max(now, Math.max(tat ?? now, now) + tokens * shape.intervalMs), now };
}

/** Tokens left in the bucket, ms until it is full, and (when a charge of `tokens` did not fit) ms until it would. */
export function standing(r: GcraResult, tokens: number, shape: BucketShape): { remaining: number; resetMs: number; retryAfterMs: number } {
  const used = Math.max(0, r.tat - r.now);
  const remaining = Math.max(0, Math.floor((shape.toleranceMs - used) / shape.intervalMs + 1e-9));
  const retryAfterMs = r.ok ? 0 : tokens * shape.intervalMs > shape.toleranceMs ? Infinity : used + tokens * shape.intervalMs - shape.toleranceMs;
  return { remaining, resetMs: used, retryAfterMs };
}
