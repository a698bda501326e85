// Outlier detection and the panic threshold: which endpoints a service should not send to now.
// No library does this (it is Envoy's outlier detection, with Envoy's defaults); time comes from
// the mesh's clock, so tests are exact and instant.

/** Outlier detection settings; the defaults are Envoy's (outlier_detection and panic threshold). */
export interface OutlierSettings {
  /** Consecutive failed requests (5xx, gateway errors, connect failures) that eject. Default 5. */
  consecutiveFailures: number;
  /** Ejection time is this times the number of times ejected... Default 30 s. */
  baseEjectionMs: number;
  /** ...capped at this. Default 300 s. */
  maxEjectionMs: number;
  /** Never eject more than this share of a service's endpoints (but one of two or more). Default 10. */
  maxEjectionPercent: number;
  /** Below this share of healthy endpoints, balance across all of them (panic). Default 50. */
  panicThresholdPercent: number;
  /**
   * Success-rate ejection, off unless set: every intervalMs, endpoints with at least
   * minRequests whose success rate is below mean - stdevFactor * stddev are ejected.
   */
  successRate?: { intervalMs: number; minRequests: number; stdevFactor: number };
}

export const kDefaultOutlierSettings: OutlierSettings = Object.freeze({
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 10,
  panicThresholdPercent: 50,
});

/** An ejection, as onEject reports it. */
export interface Ejection {
  id: string;
  /** 'consecutive' failures or 'success-rate'. */
  cause: 'consecutive' | 'success-rate';
  /** Times this endpoint has been ejected, this one included. */
  times: number;
  until: number;
}

interface EndpointHealth {
  consecutive: number;
  times: number;
  until: number;
  requests: number;
  successes: number;
}

/** Health of one service's endpoints. */
export class OutlierDetector {
  readonly settings: OutlierSettings;
  /** The ejected set route() last acted on (it starts endpoints back from ejection slowly). */
  seen: ReadonlySet<string> | undefined;
  readonly #clock: () => number;
  readonly #state = new Map<string, EndpointHealth>();
  readonly #listeners = new Set<(e: Ejection) => void>();
  #intervalStart: number;
  #ids: readonly string[] = [];
  #cache: Set<string> | undefined;
  #cacheUntil = 0;
  // Endpoints with a failure since their last success. While there are none and no success-rate
  // intervals run, a success changes nothing: record() returns before any lookup.
  #failing = 0;

  constructor(settings: OutlierSettings, clock: () => number) {
    this.settings = settings;
    this.#clock = clock;
    this.#intervalStart = clock();
  }

  /** Fires when an endpoint is ejected. */
  onEject(listener: (e: Ejection) => void): { dispose(): void } {
    this.#listeners.add(listener);
    return { dispose: () => void this.#listeners.delete(listener) };
  }

  /** The service's endpoints now (ejection percentages count over them). */
  setEndpoints(ids: readonly string[]): void {
    this.#ids = ids;
    for (const [id, h] of [...this.#state]) {
      if (ids.includes(id)) continue;
      this.#consecutive(h, 0);
      this.#state.delete(id);
    }
    this.#cache = undefined;
  }

  /** Counts one request's outcome. */
  record(id: string, failed: boolean): void {
    // A clock read costs about as much as the rest of a route on some hosts: only success-rate
    // intervals and an ejection need the time. The common answer (a success, nothing failing,
    // no intervals) here, the rest in #countOutcome: a small method is inlined into report() whole.
    if (failed || this.settings.successRate !== undefined || this.#failing !== 0) this.#countOutcome(id, failed);
  }

  #countOutcome(id: string, failed: boolean): void {
    if (this.settings.successRate !== undefined) this.#interval(this.#clock());
    const h = this.#health(id);
    h.requests++;
    if (!failed) {
      h.successes++;
      this.#consecutive(h, 0);
      return;
    }
    this.#consecutive(h, h.consecutive + 1);
    if (h.consecutive < this.settings.consecutiveFailures) return;
    const now = this.#clock();
    if (h.until <= now) this.#eject(id, h, 'consecutive', now);
  }

  /**
   * Endpoints ejected at this moment (ejections lapse by themselves). The set is kept until the
   * next ejection or lapse, so a route() in between pays one clock read and no scan.
   */
  ejected(): ReadonlySet<string> {
    // Nothing ejected and no success-rate intervals: nothing can change with time alone (an
    // ejection clears the cache), so no clock read. That answer here, the rest in #ejectedNow:
    // whole, this method took half of V8's inlining budget for route().
    if (this.#cache && this.#cacheUntil === Infinity && !this.settings.successRate) return this.#cache;
    return this.#ejectedNow();
  }

  #ejectedNow(): ReadonlySet<string> {
    const now = this.#clock();
    this.#interval(now);
    if (this.#cache && now < this.#cacheUntil) return this.#cache;
    const out = new Set<string>();
    let next = Infinity;
    for (const [id, h] of this.#state) {
      if (h.until <= now) continue;
      out.add(id);
      next = Math.min(next, h.until);
    }
    this.#cache = out;
    this.#cacheUntil = next;
    return out;
  }

  /** True when too few endpoints are healthy: balance across all of them. */
  panic(ejected: number): boolean {
    const n = this.#ids.length;
    return n > 0 && ((n - ejected) * 100) / n < this.settings.panicThresholdPercent;
  }

  #health(id: string): EndpointHealth {
    let h = this.#state.get(id);
    if (!h) this.#state.set(id, (h = { consecutive: 0, times: 0, until: 0, requests: 0, successes: 0 }));
    return h;
  }

  #consecutive(h: EndpointHealth, n: number): void {
    this.#failing += (n > 0 ? 1 : 0) - (h.consecutive > 0 ? 1 : 0);
    h.consecutive = n;
  }

  #eject(id: string, h: EndpointHealth, cause: Ejection['cause'], now: number): void {
    const n = this.#ids.length;
    const current = [...this.#state.values()].filter((x) => x.until > now).length;
    // NOTE: at most maxEjectionPercent of the endpoints, but one may always go when there are two.
    const allowed = Math.max(n >= 2 ? 1 : 0, Math.floor((n * this.settings.maxEjectionPercent) / 100));
    if (current >= allowed) return;
    h.times++;
    this.#consecutive(h, 0);
    h.until = now + Math.min(this.settings.baseEjectionMs * h.times, this.settings.maxEjectionMs);
    this.#cache = undefined;
    const ejection = { id, cause, times: h.times, until: h.until };
    for (const l of this.#listeners) l(ejection);
  }

  // Success-rate ejection at the end of each interval, over the endpoints with enough requests.
  #interval(now: number): void {
    const sr = this.settings.successRate;
    if (!sr || now - this.#intervalStart < sr.intervalMs) return;
    this.#intervalStart = now;
    const rated = [...this.#state].filter(([, h]) => h.requests >= sr.minRequests).map(([id, h]) => ({ id, h, rate: h.successes / h.requests }));
    if (rated.length >= 2) {
      const mean = rated.reduce((s, r) => s + r.rate, 0) / rated.length;
      const stdev = Math.sqrt(rated.reduce((s, r) => s + (r.rate - mean) ** 2, 0) / rated.length);
      for (const r of rated) if (r.rate < mean - sr.stdevFactor * stdev && r.h.until <= now) this.#eject(r.id, r.h, 'success-rate', now);
    }
    for (const h of this.#state.values()) h.requests = h.successes = 0;
  }
}
