// Time to first token per endpoint, in milliseconds, predicted as
//   base + perToken x (prefill tokens queued ahead + the prompt's uncached tokens)
// Both coefficients are fitted online from the TTFTs reported back: recursive least squares with
// forgetting. Before any report they start from the accelerator catalog: perToken = 1 /
// (capacity x prefillRate), so an H100 and an L4 are compared in time, not in tokens. (A third
// term for the tokens in flight, the running batch's slowdown, was tried: fitted from reports
// that arrive when requests end, it learned to chase load and lost the caches' locality.)
//
// "Queued ahead" is the router's own account: every request it sends adds its uncached tokens to
// the endpoint's backlog, which drains at the endpoint's fitted prefill rate (a fluid queue;
// nothing to release when a request ends, so nothing can be released twice).

const D = 2;

/** One endpoint's fit. */
export class TtftFit {
  /** [base ms, ms a prefill token]. */
  readonly theta = new Float64Array(D);
  // RLS covariance (D x D, row-major) and its bounds against wind-up.
  readonly #p = new Float64Array(D * D);
  readonly #maxP = new Float64Array(D);
  // A fitted prefill rate stays within 50x of the catalog's either way: a fit that wandered to
  // "free" would draw every request at once (reports arrive late, when requests end).
  readonly #minPerToken: number;
  readonly #maxPerToken: number;
  readonly #phi = new Float64Array(D);
  readonly #pp = new Float64Array(D);
  #backlog = 0;
  #backlogAt = 0;
  /** TTFTs fitted. */
  samples = 0;

  constructor(baseMs: number, perTokenMs: number) {
    this.theta.set([baseMs, perTokenMs]);
    // Prior uncertainty of the order of the prior itself.
    const prior = [Math.max(baseMs, 10) ** 2, perTokenMs ** 2];
    for (let i = 0; i < D; i++) {
      this.#p[i * D + i] = prior[i]!;
      this.#maxP[i] = prior[i]! * 100;
    }
    this.#minPerToken = perTokenMs * 0.02;
    this.#maxPerToken = perTokenMs * 50;
  }

  get base(): number {
    return this.theta[0]!;
  }

  get perToken(): number {
    return this.theta[1]!;
  }

  /** Prefill tokens queued ahead at `now` (ms). */
  backlog(now: number): number {
    const drained = (now - this.#backlogAt) / this.theta[1]!;
    return drained >= this.#backlog ? 0 : this.#backlog - drained;
  }

  /** Predicted TTFT (ms) for `tokens` (queued ahead + uncached). */
  predict(tokens: number): number {
    return this.theta[0]! + this.theta[1]! * tokens;
  }

  /** A request of `tokens` uncached tokens was sent here at `now`. */
  add(tokens: number, now: number): void {
    this.#backlog = this.backlog(now) + tokens;
    this.#backlogAt = now;
  }

  /** A TTFT was observed for a request routed with these inputs. One RLS step, forgetting factor `lambda`. */
  observe(tokens: number, ttftMs: number, lambda: number): void {
    const phi = this.#phi, pp = this.#pp, p = this.#p, theta = this.theta;
    phi[0] = 1;
    phi[1] = tokens;
    // k = P phi / (lambda + phi' P phi)
    let denom = lambda;
    for (let i = 0; i < D; i++) {
      let v = 0;
      for (let j = 0; j < D; j++) v += p[i * D + j]! * phi[j]!;
      pp[i] = v;
      denom += phi[i]! * v;
    }
    const error = ttftMs - this.predict(tokens);
    for (let i = 0; i < D; i++) theta[i]! += (pp[i]! / denom) * error;
    // Coefficients stay physical: no negative time, and a prefill rate near the catalog's.
    theta[0] = Math.min(60_000, Math.max(0, theta[0]!));
    theta[1] = Math.min(this.#maxPerToken, Math.max(this.#minPerToken, theta[1]!));
    // P = (P - k (P phi)') / lambda, then scaled back within its bounds.
    let scale = 1;
    for (let i = 0; i < D; i++) {
      for (let j = 0; j < D; j++) p[i * D + j] = (p[i * D + j]! - (pp[i]! * pp[j]!) / denom) / lambda;
      scale = Math.min(scale, this.#maxP[i]! / Math.max(p[i * D + i]!, Number.MIN_VALUE));
    }
    if (scale < 1) for (let i = 0; i < D * D; i++) p[i]! *= scale;
    this.samples++;
  }
}
