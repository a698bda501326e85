// The sidecar's AI gateway: what it adds to the proxy for LLM traffic. It scrapes the engines'
// metrics into the mesh, keeps the token budgets (in this process or in Redis), and counts the
// tokens, TTFT and time per output token of every answer. The proxy's exchanges call it at
// admission (budget), and when an attempt ends (usage).
import type { ProxyConfig } from '../mesh/config.js';
import type { Mesh } from '../mesh/Mesh.js';
import { Budgets, type BudgetRule } from './budgets/Budgets.js';
import { RedisBudgetStore } from './budgets/redisStore.js';
import { LocalBudgetStore, type BudgetStore } from './budgets/store.js';
import { EngineScraper } from './EngineScraper.js';
import { GatewayMetrics } from './GatewayMetrics.js';
import type { MeteredUsage } from './usage.js';

/** The gateway section of the proxy config with its defaults. */
export interface GatewaySettings {
  readonly tenantHeader: string;
  readonly apiKeyHeader: string;
  readonly includeUsage: boolean;
  readonly defaultMaxTokens: number;
}

export function gatewaySettings(p: ProxyConfig | undefined): GatewaySettings {
  const g = p?.gateway ?? {};
  return Object.freeze({ tenantHeader: (g.tenantHeader ?? 'x-tenant-id').toLowerCase(), apiKeyHeader: (g.apiKeyHeader ?? 'authorization').toLowerCase(), includeUsage: g.includeUsage ?? false, defaultMaxTokens: g.defaultMaxTokens ?? 256 });
}

export interface GatewayOptions {
  mesh: Mesh;
  log: (line: string) => void;
  /** Where budgets live; default this process (LocalBudgetStore). Gateway.start opens Redis. */
  store?: BudgetStore;
  /** The clock budgets are charged at (tests); default the store's own. */
  budgetClock?: () => number;
}

/** Where an answer came from, for its token counts. */
export interface Served {
  service: string;
  endpoint: string;
  model: string;
  tenant: string;
}

export class Gateway {
  readonly metrics = new GatewayMetrics();
  readonly scraper: EngineScraper;
  readonly #mesh: Mesh;
  readonly #budgets: Budgets;
  #rules: readonly BudgetRule[];

  constructor(options: GatewayOptions) {
    this.#mesh = options.mesh;
    this.#rules = options.mesh.config.proxy?.gateway?.budgets ?? [];
    this.scraper = new EngineScraper({ mesh: options.mesh, metrics: this.metrics, log: options.log });
    const store = options.store ?? new LocalBudgetStore(options.budgetClock);
    // The rules are read at each decision, so a reload changes them; the store stays.
    this.#budgets = new Budgets({ rules: () => this.#rules, store, onFailure: options.mesh.config.proxy?.gateway?.budgetStore?.onFailure ?? 'open', metrics: this.metrics, log: options.log, clock: options.budgetClock });
  }

  /** A gateway for the mesh's config, with budgets in Redis when `redis` (or the config's budgetStore.redis) names it: it connects in the background. */
  static async start(options: GatewayOptions & { redis?: string | undefined }): Promise<Gateway> {
    const g = options.mesh.config.proxy?.gateway;
    const url = options.redis ?? g?.budgetStore?.redis;
    if (!url) return new Gateway(options);
    const store = await RedisBudgetStore.open({ url, prefix: g?.budgetStore?.prefix, timeoutMs: g?.budgetStore?.timeoutMs, onState: (state, error) => options.log(`redis ${url} ${state}${error ? ` (${error.message})` : ''}`) });
    return new Gateway({ ...options, store });
  }

  /** The token budgets (present even with no rule: then every request is unlimited). */
  get budgets(): Budgets {
    return this.#budgets;
  }

  /** Whether any budget rule is configured: only then are requests charged. */
  get budgeted(): boolean {
    return this.#rules.length > 0;
  }

  /** Follows a new config: budget rules now, scrape targets now; the budget store at the next start. */
  refresh(): void {
    this.#rules = this.#mesh.config.proxy?.gateway?.budgets ?? [];
    this.scraper.refresh();
  }

  /** Counts an answer's tokens, TTFT and time per output token. */
  served(at: Served, usage: MeteredUsage | undefined, ttftMs: number | undefined, streamMs: number | undefined): void {
    const m = this.metrics;
    const labels = { service: at.service, endpoint: at.endpoint, model: at.model, tenant: at.tenant };
    if (usage?.promptTokens !== undefined) m.tokens.inc({ ...labels, kind: 'prompt' }, usage.promptTokens);
    if (usage?.cachedTokens !== undefined) m.tokens.inc({ ...labels, kind: 'cached' }, usage.cachedTokens);
    if (usage?.completionTokens !== undefined) m.tokens.inc({ ...labels, kind: 'completion' }, usage.completionTokens);
    if (usage?.estimated) m.estimatedUsage.inc({ service: at.service, endpoint: at.endpoint });
    if (ttftMs !== undefined) m.ttft.observe({ service: at.service, endpoint: at.endpoint }, ttftMs / 1000);
    const out = usage?.completionTokens;
    if (streamMs !== undefined && out !== undefined && out > 1) m.tpot.observe({ service: at.service, endpoint: at.endpoint }, streamMs / 1000 / (out - 1));
  }

  async close(): Promise<void> {
    await this.scraper.close();
    await this.#budgets.close();
  }
}
