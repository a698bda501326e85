// Scrapes the engine metrics of every endpoint of the services that ask for it (`metrics:` in a
// service's config) and hands them to the mesh as load reports. Each endpoint is scraped on its
// own jittered timer (so a fleet's scrapes do not fall in step), one scrape at a time, with a
// bound on the scrapes under way per service; a scrape that fails, hangs or returns garbage is
// counted and skipped: routing never waits for it, and the report it would have refreshed grows
// stale (the mesh's engines.stale policy says what that means).
import { undici } from '../lazy.js';
import type { ServiceConfig } from '../mesh/config.js';
import type { Mesh } from '../mesh/Mesh.js';
import { EngineMetricsError, readEngineMetrics, type EngineKind } from './engineMetrics.js';
import type { GatewayMetrics } from './GatewayMetrics.js';
import { slots, type Slots } from './slots.js';

// A scrape larger than this is not an engine's metrics page.
const kMaxScrapeBytes = 8 * 2 ** 20;

interface Target {
  service: string;
  id: string;
  url: string;
  engine: EngineKind;
  intervalMs: number;
  timeoutMs: number;
  limit: Slots;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Mesh clock of the last good scrape. */
  lastOk: number | undefined;
  /** The last scrape failed (its failure was said; the next failures are only counted). */
  failing: boolean;
  stopped: boolean;
}

export interface EngineScraperOptions {
  mesh: Mesh;
  metrics: GatewayMetrics;
  /** Randomness of the jitter. Default Math.random. */
  random?: () => number;
  /** Where a target's first failure after success (and its recovery) is said. */
  log?: (line: string) => void;
}

export class EngineScraper {
  readonly #mesh: Mesh;
  readonly #metrics: GatewayMetrics;
  readonly #random: () => number;
  readonly #log: (line: string) => void;
  readonly #targets = new Map<string, Target>();
  readonly #limits = new Map<string, { max: number; limit: Slots }>();
  // Scrapes have their own connections: they never queue behind proxied requests.
  readonly #agent = new (undici().Agent)({ connections: 2, keepAliveTimeout: 10_000 });
  #closed = false;

  constructor(options: EngineScraperOptions) {
    this.#mesh = options.mesh;
    this.#metrics = options.metrics;
    this.#random = options.random ?? Math.random;
    this.#log = options.log ?? (() => {});
    this.refresh();
  }

  /** Scrapes under way or scheduled, by "service/endpoint". */
  targets(): string[] {
    return [...this.#targets.keys()];
  }

  /** Follows the mesh's config: starts scraping new endpoints, stops those gone or changed. */
  refresh(): void {
    if (this.#closed) return;
    const wanted = new Map<string, Omit<Target, 'timer' | 'lastOk' | 'stopped' | 'failing'>>();
    for (const s of this.#mesh.config.services) {
      if (!s.metrics) continue;
      const limit = this.#limitOf(s);
      for (const e of this.#mesh.endpoints(s.name)) {
        const own = s.endpoints?.find((x) => x.id === e.id)?.metrics;
        const address = own?.address ?? e.address;
        const url = `http://${address}${own?.path ?? s.metrics.path ?? '/metrics'}`;
        wanted.set(`${s.name}/${e.id}`, { service: s.name, id: e.id, url, engine: own?.engine ?? s.metrics.engine ?? 'vllm', intervalMs: s.metrics.intervalMs ?? 200, timeoutMs: s.metrics.timeoutMs ?? 1000, limit });
      }
    }
    for (const [key, t] of this.#targets) {
      const w = wanted.get(key);
      if (w && w.url === t.url && w.engine === t.engine && w.intervalMs === t.intervalMs && w.timeoutMs === t.timeoutMs && w.limit === t.limit) continue;
      this.#stop(key, t);
    }
    for (const [key, w] of wanted) {
      if (this.#targets.has(key)) continue;
      const t: Target = { ...w, timer: undefined, lastOk: undefined, stopped: false, failing: false };
      this.#targets.set(key, t);
      // The first scrape comes within one interval, spread over it.
      this.#schedule(t, this.#random() * t.intervalMs);
    }
  }

  /** Scrapes one endpoint now (tests; the timers do it otherwise). Resolves to the result counted. */
  scrapeNow(service: string, id: string): Promise<string> {
    const t = this.#targets.get(`${service}/${id}`);
    return t ? this.#scrape(t) : Promise.resolve('none');
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const [key, t] of this.#targets) this.#stop(key, t);
    await this.#agent.close();
  }

  #limitOf(s: Readonly<ServiceConfig>): Slots {
    const max = s.metrics?.maxConcurrent ?? 16;
    const current = this.#limits.get(s.name);
    if (current && current.max === max) return current.limit;
    const limit = slots(max);
    this.#limits.set(s.name, { max, limit });
    return limit;
  }

  #stop(key: string, t: Target): void {
    t.stopped = true;
    clearTimeout(t.timer);
    this.#targets.delete(key);
    this.#metrics.age.remove({ service: t.service, endpoint: t.id });
  }

  #schedule(t: Target, delayMs: number): void {
    if (t.stopped) return;
    t.timer = setTimeout(() => {
      void t.limit(() => this.#scrape(t)).finally(() => this.#schedule(t, t.intervalMs * (0.9 + 0.2 * this.#random())));
    }, delayMs);
    t.timer.unref();
  }

  async #scrape(t: Target): Promise<string> {
    let result: 'ok' | 'error' | 'timeout' | 'garbage';
    let detail = '';
    try {
      const res = await undici().request(t.url, { dispatcher: this.#agent, headersTimeout: t.timeoutMs, bodyTimeout: t.timeoutMs, signal: AbortSignal.timeout(t.timeoutMs) });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`status ${res.statusCode}`);
      }
      const length = Number(res.headers['content-length'] ?? 0);
      if (length > kMaxScrapeBytes) {
        await res.body.dump();
        throw new EngineMetricsError(`${length} bytes`);
      }
      const text = await res.body.text();
      const report = readEngineMetrics(text, t.engine);
      if (t.stopped) return 'stopped';
      this.#mesh.reportLoad(t.service, t.id, report);
      result = 'ok';
    } catch (error) {
      const e = error as Error & { code?: string; name?: string };
      result = error instanceof EngineMetricsError ? 'garbage' : e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' ? 'timeout' : 'error';
      detail = e.message;
    }
    if (t.stopped) return 'stopped';
    this.#metrics.scrapes.inc({ service: t.service, endpoint: t.id, result });
    const now = Date.now();
    if (result === 'ok') {
      if (t.failing || t.lastOk === undefined) this.#log(`engine metrics of ${t.service}/${t.id} read from ${t.url}`);
      t.lastOk = now;
      t.failing = false;
    } else if (!t.failing) {
      t.failing = true;
      this.#log(`engine metrics of ${t.service}/${t.id} (${t.url}): ${result}: ${detail}; counted in wasmesh_engine_scrapes_total until it recovers`);
    }
    if (t.lastOk !== undefined) this.#metrics.age.set({ service: t.service, endpoint: t.id }, (now - t.lastOk) / 1000);
    return result;
  }
}
