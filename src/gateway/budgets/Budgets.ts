// Token budgets per tenant and model. A request is charged at admission with an estimate (its
// prompt's characters / 4 plus max_tokens) and reconciled when it ends with what its usage says
// it took; a request that never reached an engine is refunded whole. Each reservation settles
// exactly once, whatever ends the request. The answers carry OpenAI's rate-limit headers.
import type { GatewayMetrics } from '../GatewayMetrics.js';
import { standing, type BucketShape, type GcraResult } from './gcra.js';
import type { BudgetStore } from './store.js';

/** A budget rule of the config (proxy.gateway.budgets). */
export interface BudgetRule {
  tenant?: string | undefined;
  model?: string | undefined;
  tokensPerMinute: number;
  burstTokens?: number | undefined;
}

/** An admitted request's charge, to settle once. */
export interface Reservation {
  readonly key: string;
  readonly shape: BucketShape;
  /** Tokens charged at admission. */
  readonly tokens: number;
  settled: boolean;
}

export type BudgetDecision =
  /** No rule applies, or the store is down and the policy is open: no charge. */
  | { kind: 'unlimited'; headers: Record<string, string> }
  | { kind: 'admitted'; reservation: Reservation; headers: Record<string, string> }
  /** 429 with these headers (retry-after among them). */
  | { kind: 'limited'; headers: Record<string, string>; message: string }
  /** The store is down and the policy is closed: 503. */
  | { kind: 'unavailable'; message: string };

export interface BudgetsOptions {
  /** The rules in force (read at each decision: a config reload changes them). */
  rules: () => readonly BudgetRule[];
  store: BudgetStore;
  onFailure: 'open' | 'closed';
  metrics: GatewayMetrics;
  log: (line: string) => void;
  /** The clock charges are made at; undefined: the store's own (Redis's TIME for Redis). */
  clock?: () => number;
}

/** A duration as OpenAI's x-ratelimit-reset-* headers write it: "20ms", "1.5s", "6m0s". */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Math.round(s * 1000) / 1000}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Math.round((s - m * 60) * 1000) / 1000}s`;
}

const matches = (pattern: string | undefined, value: string) => pattern === undefined || pattern === '*' || pattern === value;

export class Budgets {
  readonly #options: BudgetsOptions;
  #storeUp = true;
  #open = 0;

  constructor(options: BudgetsOptions) {
    this.#options = options;
    options.metrics.storeUp.set(1);
  }

  /** The rule for a tenant and model: the first that matches. */
  ruleOf(tenant: string, model: string): BudgetRule | undefined {
    return this.#options.rules().find((r) => matches(r.tenant, tenant) && matches(r.model, model));
  }

  /** Charges an estimate of `tokens` to the tenant's budget for the model. */
  async reserve(tenant: string, model: string, tokens: number): Promise<BudgetDecision> {
    const rule = this.ruleOf(tenant, model);
    const metrics = this.#options.metrics;
    if (!rule) return { kind: 'unlimited', headers: {} };
    const burst = rule.burstTokens ?? rule.tokensPerMinute;
    const shape: BucketShape = { intervalMs: 60_000 / rule.tokensPerMinute, toleranceMs: (burst * 60_000) / rule.tokensPerMinute };
    const key = `${tenant}\u0000${model}`;
    let result: GcraResult;
    try {
      result = await this.#options.store.update(key, tokens, 'reserve', shape, this.#options.clock?.());
      this.#up();
    } catch (error) {
      this.#down('reserve', error);
      if (this.#options.onFailure === 'open') {
        metrics.budget.inc({ result: 'open' });
        return { kind: 'unlimited', headers: {} };
      }
      metrics.budget.inc({ result: 'closed' });
      return { kind: 'unavailable', message: `the token budget store cannot be reached (${(error as Error).message}); budgets fail closed` };
    }
    const s = standing(result, tokens, shape);
    const headers: Record<string, string> = {
      'x-ratelimit-limit-tokens': String(burst),
      'x-ratelimit-remaining-tokens': String(s.remaining),
      'x-ratelimit-reset-tokens': goDuration(s.resetMs),
    };
    if (!result.ok) {
      metrics.budget.inc({ result: 'limited' });
      const never = s.retryAfterMs === Infinity;
      if (!never) headers['retry-after'] = String(Math.max(1, Math.ceil(s.retryAfterMs / 1000)));
      return {
        kind: 'limited',
        headers,
        message: never
          ? `request of about ${tokens} tokens exceeds tenant ${JSON.stringify(tenant)}'s budget for ${JSON.stringify(model)} (${burst} tokens at most)`
          : `tenant ${JSON.stringify(tenant)} is over its budget for ${JSON.stringify(model)} (${rule.tokensPerMinute} tokens a minute): about ${tokens} tokens fit in ${goDuration(s.retryAfterMs)}`,
      };
    }
    metrics.budget.inc({ result: 'admitted' });
    this.#opened(1);
    return { kind: 'admitted', reservation: { key, shape, tokens, settled: false }, headers };
  }

  /** The request ended with `used` tokens (its usage; undefined when unknown: the estimate stands). Once per reservation. */
  settle(r: Reservation, used: number | undefined): void {
    if (r.settled) return;
    r.settled = true;
    this.#opened(-1);
    if (used === undefined || used === r.tokens) return;
    this.#adjust(r, used - r.tokens);
  }

  /** The request never reached an engine: its charge is refunded whole. Once per reservation. */
  refund(r: Reservation): void {
    if (r.settled) return;
    r.settled = true;
    this.#opened(-1);
    this.#adjust(r, -r.tokens);
  }

  /** Whether the store answered the last call. */
  get storeUp(): boolean {
    return this.#storeUp;
  }

  /** Reservations made and not settled yet (requests under way with a budget charge). */
  get open(): number {
    return this.#open;
  }

  #opened(delta: number): void {
    this.#open += delta;
    this.#options.metrics.reservations.set(this.#open);
  }

  #adjust(r: Reservation, tokens: number): void {
    this.#options.store.update(r.key, tokens, 'adjust', r.shape, this.#options.clock?.()).then(
      () => this.#up(),
      (error: unknown) => this.#down('adjust', error),
    );
  }

  #up(): void {
    if (this.#storeUp) return;
    this.#storeUp = true;
    this.#options.metrics.storeUp.set(1);
    this.#options.log('token budget store answers again');
  }

  #down(op: string, error: unknown): void {
    this.#options.metrics.storeErrors.inc({ op });
    if (!this.#storeUp) return;
    this.#storeUp = false;
    this.#options.metrics.storeUp.set(0);
    this.#options.log(`token budget store failed (${(error as Error).message}): budgets fail ${this.#options.onFailure} until it answers`);
  }

  close(): Promise<void> {
    return this.#options.store.close();
  }
}
