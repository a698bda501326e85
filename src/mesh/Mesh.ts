// Mesh: the control plane's versioned snapshots and the route/report calls of the data plane.
// Data flows one way: config -> endpoints and capacity -> balancers -> route -> report.
import type { HashRing } from '../core/HashRing.js';
import { movedShare } from '../core/ring/disruption.js';
import type { EngineName } from '../core/options.js';
import { checkCost, checkOptions, definedOnly } from '../core/options.js';
import { show, WasmeshError } from '../core/WasmeshError.js';
import { kEjected, kFull, type Standing } from './Standing.js';
import { capacityUnit, kDefaultSlowStart, kDefaultWeightSettings, P2cBalancer, RingHashBalancer, SwrrBalancer, type Balancer, type DeferredReason, type LoadReport, type Policy } from './balancers.js';
import { validateConfig, validateEndpoint, type EndpointConfig, type MeshConfig, type ServiceConfig } from './config.js';
import type { DiscoveryEvent, DiscoverySource } from './discovery.js';
import { movedShareOf } from '../core/ring/disruption.js';
import { catalogOf, endpointOf, meets, type Endpoint, type Requirements } from './endpoints.js';
import { seededRandom, type Random } from './random.js';
import { kDefaultOutlierSettings, OutlierDetector, type Ejection } from './health.js';
import { MeshMetrics } from './metrics.js';
import { kRouteTimedEvery, Tallies, type EndpointTally, type ServiceTally } from './tally.js';
import { backoffMs, kDefaultRetrySettings, retryable, withinBudget, type FailureKind } from './retry.js';
import { LlmBalancer } from './llm/LlmBalancer.js';
import { MaglevBalancer } from './MaglevBalancer.js';
import { movedEntries } from '../core/Maglev.js';
import { LlmState } from './llm/LlmState.js';
import { EngineReports, engineSettings, type EngineReport, type EngineState } from './EngineReports.js';
import { FairQueue, kVtcInputWeight, kVtcOutputWeight, type Waiting } from './FairQueue.js';
import { narrow } from './filters/narrow.js';
import { MeshRoute } from './MeshRoute.js';
import { checkPromptFields, promptTokens, type PromptFields } from './llm/prompt.js';
import { kDefaultPrefix, kDefaultTtft, tokensPerBlock, type PrefixSettings } from './llm/settings.js';


/** Options of `new Mesh(options)`; every field optional. */
export interface MeshOptions {
  /** Engine of the rings and round robins, unless the config names one. Default 'wasm'. */
  engine?: EngineName;
  /** Randomness for p2c; default seeded, so runs repeat. */
  random?: Random;
  /** Milliseconds now; default Date.now. Tests and simulations pass their own. */
  clock?: () => number;
}

/** A request to route. prefix-cache and ttft services read its prompt (PromptFields). */
export interface RouteRequest extends PromptFields {
  service: string;
  /** Affinity key (session, prompt prefix): required by ring-hash services. */
  key?: string;
  /** Cost units the request holds while in flight (tokens, or 1 a request). Default 1; prefix-cache and ttft: the prompt's tokens. */
  cost?: number;
  requires?: Requirements;
  /** Endpoints to pass over when another is eligible (a retry avoids the one that failed). */
  avoid?: readonly string[];
  /** Avoided endpoints never take the request: NO_ENDPOINT when no other is eligible. Default false. */
  strictAvoid?: boolean;
  /** Who the request is for: the admission queue serves tenants fairly (virtual token counters). Default "". */
  tenant?: string;
  /** Priority band: higher first in the admission queue; below 0, sheddable (refused rather than queued when there is no room, and first out of a full queue). Default 0. */
  priority?: number;
}

/** Where a request goes, and why. Hand it back to report() when the request ends. */
export interface Route {
  readonly service: string;
  readonly endpoint: Endpoint;
  readonly policy: Policy;
  readonly reason: string;
  readonly cost: number;
  /** Snapshot version that routed it. */
  readonly version: number;
  /** 0 for a first try; n for the n-th retry (see retry()). */
  readonly attempt: number;
  /** prefix-cache and ttft: share of the prompt's tokens predicted cached at the endpoint (0 to 1). */
  readonly cachedShare?: number;
  /** ttft: the predicted time to first token at the endpoint, ms. */
  readonly predictedTtftMs?: number;
}

/** How a request ended, as the data plane saw it (feeds health; counted per endpoint). */
export interface Outcome {
  /** HTTP status, if any. */
  status?: number;
  /** The request failed (connect error, 5xx, timeout). Default: status >= 500. */
  failed?: boolean;
  /**
   * The request says nothing of the endpoint: the client left, or its request was refused before
   * the endpoint answered (a malformed header, a body over the limit, a slow upload). Its cost is
   * released; health is not told; it is counted as `result="cancelled"`.
   */
  cancelled?: boolean;
  latencyMs?: number;
  /** Time to first token, ms: fits the ttft policy's prediction for the endpoint. */
  ttftMs?: number;
  /** Prompt tokens the engine found cached, and the prompt's tokens (usage.prompt_tokens_details.cached_tokens, usage.prompt_tokens): the delivered hit. */
  cachedTokens?: number;
  promptTokens?: number;
  /** Tokens generated (usage.completion_tokens): charged to the tenant's fair share at twice an input token's weight. */
  completionTokens?: number;
}

/** Per-endpoint counts of reported outcomes. */
export interface EndpointStats {
  requests: number;
  failures: number;
  /** Requests that ended without judging the endpoint (Outcome.cancelled); not in `requests`. */
  cancelled: number;
  latencyMsSum: number;
}

/** What apply() changed in one service. */
export interface ServiceChange {
  policy: Policy;
  added: string[];
  removed: string[];
  updated: string[];
  /** ring-hash: exact share of the key space whose endpoint changes (from the arcs); maglev: share of the table's entries whose endpoint changes. */
  movedShare?: number;
  /** swrr: each endpoint's new traffic share minus its old one. */
  shareChange?: Record<string, number>;
}

/** The result of apply(). */
export interface ApplyResult {
  version: number;
  services: Record<string, ServiceChange>;
}

interface ServiceState {
  readonly policy: Policy;
  /** Ring weight unit, from the config (RingHashSettings.unit). */
  readonly unit: number;
  readonly endpoints: ReadonlyMap<string, Endpoint>;
  readonly balancer: Balancer;
  readonly config: Readonly<ServiceConfig>;
  /** Some endpoint has maxRequests: only then does route() scan for full ones. */
  readonly requestLimits: boolean;
  /** Some endpoint lists the models it serves: only then are requests filtered by model. */
  readonly modelled: boolean;
  /** Each endpoint's incarnation: new when it joins, kept while it stays. */
  readonly incarnations: ReadonlyMap<string, number>;
  /** The service's counts and its outlier detector (both outlive snapshots), so route() looks neither up by name. */
  tally: ServiceTally;
  health: OutlierDetector;
  /** What its engines report (outlives snapshots too), set with health. */
  engines: EngineReports;
  /** The balancer again, typed, when it is an LLM one or smooth round robin: route() tests no class per request. */
  readonly llm: LlmBalancer | undefined;
  readonly swrr: SwrrBalancer | undefined;  /**
   * Endpoint tallies by balancer slot (Pick.slot), filled as routes go: a balancer's slots hold
   * the same endpoints for the life of a state (a membership change makes a new state), so a route
   * finds its tally without a lookup by id. Every new state starts it empty.
   */
  readonly tallyBySlot: (EndpointTally | undefined)[];
  /**
   * The ejected set (and whether the service was in panic) the balancer's standing exclusions
   * were last set from: route() sets them again only when the detector's set is a new one.
   * Undefined in a new state (a new balancer, or new membership and so a new panic threshold).
   */
  standingFrom: { ejected: ReadonlySet<string>; panic: boolean } | undefined;
}

const hasRequestLimits = (endpoints: ReadonlyMap<string, Endpoint>) => [...endpoints.values()].some((e) => e.maxRequests !== Infinity);
const hasModels = (endpoints: ReadonlyMap<string, Endpoint>) => [...endpoints.values()].some((e) => e.models !== undefined);

interface Waiter extends Waiting {
  request: RouteRequest;
  resolve: (route: Route) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

// A function of its own: #route captures nothing, so it allocates no closure context per call.
function meetable(endpoints: ReadonlyMap<string, Endpoint>, service: string, requires: Requirements): void {
  for (const e of endpoints.values()) if (meets(e, requires)) return;
  throw new WasmeshError('NO_ENDPOINT', `service ${show(service)} has no endpoint meeting ${JSON.stringify(requires)}`);
}

// The detector's ejected set as standing exclusions of the service's balancer: out unless in panic.
function standEjected(s: ServiceState, standing: Standing, ejected: ReadonlySet<string>, panic: boolean): void {
  standing.clear(kEjected);
  if (!panic) for (const id of ejected) if (s.endpoints.has(id)) standing.set(id, kEjected, true);
  s.standingFrom = { ejected, panic };
}

function panicReason(all: number, ejected: number, reason: string | DeferredReason): string {
  return `panic (${all - ejected} of ${all} healthy): ${typeof reason === 'string' ? reason : reason.format()}`;
}

// Module-wide: an incarnation names one endpoint of one mesh, whichever mesh a route is reported to.
let incarnations = 0;
/** Incarnations of `ids`: kept from `before` for those in it, new for the others. */
function incarnate(ids: Iterable<string>, before: ReadonlyMap<string, number> | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const id of ids) out.set(id, before?.get(id) ?? ++incarnations);
  return out;
}

interface Snapshot {
  readonly version: number;
  readonly config: Readonly<MeshConfig>;
  readonly services: ReadonlyMap<string, ServiceState>;
  /** The discovery revision this snapshot includes (etcd's), 0 when none. */
  readonly revision: number;
}

export class Mesh {
  readonly options: Readonly<Required<Pick<MeshOptions, 'engine'>>>;
  readonly #random: Random;
  readonly #clock: () => number;
  #snapshot: Snapshot = { version: 0, config: Object.freeze({ services: [] }), services: new Map(), revision: 0 };
  /** Endpoints that discovery added, by service: kept when a new config is applied. */
  readonly #discovered = new Map<string, Map<string, EndpointConfig>>();
  // Routes built by hand that were reported (the mesh's own routes keep that themselves).
  readonly #reported = new WeakSet<Route>();
  // Requests waiting for room, per service (admission.queue): priority bands, fair among tenants.
  readonly #waiting = new Map<string, FairQueue<Waiter>>();
  #seq = 0;
  #timing = 0;
  // What each service's engines report (scraped or pushed); outlives snapshots.
  readonly #engines = new Map<string, EngineReports>();
  #lastName: string | undefined;
  #last: ServiceState | undefined;
  #lastIn: Snapshot | undefined;
  // Endpoint health per service; it outlives snapshots (an ejection survives an apply).
  readonly #health = new Map<string, OutlierDetector>();
  readonly #ejectListeners = new Set<(service: string, e: Ejection) => void>();
  // Requests and retries in flight (circuit breakers, the retry budget), routed and reported.
  readonly #tallies = new Tallies();
  // prefix-cache and ttft services: caches, TTFT fits and engine reports; they outlive snapshots.
  readonly #llm = new Map<string, LlmState>();
  readonly #metrics = new MeshMetrics({
    services: () => this.services(),
    endpoints: (s) => this.endpoints(s),
    tallies: () => this.#tallies,
    panic: (s) => {
      const h = this.#health.get(s);
      const n = h?.ejected().size ?? 0;
      return n > 0 && h!.panic(n);
    },
    ringPoints: (s) => {
      const b = this.#snapshot.services.get(s)?.balancer;
      if (!(b instanceof RingHashBalancer)) return undefined;
      const points = new Map<string, number>();
      for (const [, id] of b.ring.pointList()) points.set(id, (points.get(id) ?? 0) + 1);
      return points;
    },
  });

  constructor(options: MeshOptions = {}) {
    const o = checkOptions<MeshOptions>('Mesh', options, {
      engine: (v) => (v === 'wasm' || v === 'ts' ? null : 'one of "wasm", "ts"'),
      random: (v) => (typeof v === 'function' ? null : 'a function returning numbers in [0, 1)'),
      clock: (v) => (typeof v === 'function' ? null : 'a function returning milliseconds'),
    });
    this.options = Object.freeze({ engine: o.engine ?? 'wasm' });
    this.#random = o.random ?? seededRandom();
    this.#clock = o.clock ?? Date.now;
  }

  /** The Prometheus exposition text of this mesh's metrics (wasmesh_ prefix). */
  metrics(): Promise<string> {
    return this.#metrics.registry.metrics();
  }

  /** Fires when outlier detection ejects an endpoint of a service. */
  onEject(listener: (service: string, ejection: Ejection) => void): { dispose(): void } {
    this.#ejectListeners.add(listener);
    return { dispose: () => void this.#ejectListeners.delete(listener) };
  }

  /** Endpoints of a service that outlier detection has ejected now. */
  ejected(service: string): string[] {
    this.#service(service);
    return [...(this.#health.get(service)?.ejected() ?? [])];
  }

  /** Version of the running snapshot: 0 before the first apply. */
  get version(): number {
    return this.#snapshot.version;
  }

  /** The discovery revision (etcd's) the running snapshot includes: 0 when no event carried one. */
  get revision(): number {
    return this.#snapshot.revision;
  }

  /** The running configuration (frozen). */
  get config(): Readonly<MeshConfig> {
    return this.#snapshot.config;
  }

  /** Service names. */
  services(): string[] {
    return [...this.#snapshot.services.keys()];
  }

  /** A service's endpoints, with their capacity, in-flight cost and reported outcomes. */
  endpoints(service: string): (Endpoint & { load: number; stats: EndpointStats })[] {
    const s = this.#service(service);
    const tally = this.#tallies.get(service)?.endpoints;
    return [...s.endpoints.values()].map((e) => {
      const t = tally?.get(e.id);
      return { ...e, load: s.balancer.load(e.id), stats: { requests: t?.requests ?? 0, failures: t?.failures ?? 0, cancelled: t?.cancelled ?? 0, latencyMsSum: t?.latencyMsSum ?? 0 } };
    });
  }

  /** Requests of a service routed and not yet reported: all, retries among them, and per endpoint. */
  inflight(service: string): { requests: number; retries: number; endpoints: Record<string, number> } {
    this.#service(service);
    const tally = this.#tallies.get(service);
    return { requests: tally?.inflight ?? 0, retries: tally?.retrying ?? 0, endpoints: Object.fromEntries([...(tally?.endpoints ?? [])].map(([id, t]) => [id, t.inflight])) };
  }

  /** Counts in-flight cost on an endpoint for a request routed some other way. */
  acquire(service: string, id: string, cost = 1): void {
    this.#endpoint(service, id);
    checkCost(cost);
    this.#service(service).balancer.carry(id, cost);
  }

  /** Releases cost counted by acquire(). */
  release(service: string, id: string, cost = 1): void {
    this.#endpoint(service, id);
    checkCost(cost);
    this.#service(service).balancer.release(id, cost);
    this.#drain(service);
  }

  /**
   * Validates `config`, builds every balancer, then swaps: all or nothing. A bad config throws
   * INVALID_CONFIG and the running snapshot keeps serving. In-flight cost carries over.
   */
  apply(config: MeshConfig | unknown): ApplyResult {
    const valid = validateConfig(config);
    const catalog = catalogOf(valid);
    const engine = valid.engine ?? this.options.engine;
    const built = new Map<string, ServiceState>();
    try {
      for (const s of valid.services) {
        const endpoints = new Map((s.endpoints ?? []).map((e) => [e.id, endpointOf(e, catalog)] as const));
        const unit = s.ring?.unit ?? capacityUnit([...endpoints.values()], catalog);
        // Endpoints from discovery stay across config changes (a discovered id overrides the file's).
        for (const e of this.#discovered.get(s.name)?.values() ?? []) if (catalog[e.resources.accelerator]) endpoints.set(e.id, endpointOf(e, catalog));
        const list = [...endpoints.values()];
        const balancer =
          s.policy === 'maglev'
            ? new MaglevBalancer(list, { tableSize: s.maglev?.tableSize ?? 65537, boundedLoad: s.maglev?.boundedLoad ?? 1.25, engine })
            : s.policy === 'prefix-cache' || s.policy === 'ttft'
            ? new LlmBalancer(s.policy, list, this.#llmState(s, engine, endpoints.values()), { unit, vnodes: s.ring?.vnodes ?? 160, boundedLoad: s.ring?.boundedLoad ?? 1.25, engine, prefix: prefixSettings(s), ttft: { ...kDefaultTtft, ...definedOnly(s.ttft ?? {}) } }, this.#random, this.#clock)
            : s.policy === 'ring-hash'
            ? new RingHashBalancer(list, { unit, vnodes: s.ring?.vnodes ?? 160, hash: s.ring?.hash ?? 'xxh32', boundedLoad: s.ring?.boundedLoad ?? 1.25, engine, minRingSize: s.ring?.minRingSize, maxRingSize: s.ring?.maxRingSize })
            : s.policy === 'swrr'
              ? new SwrrBalancer(list, engine, { ...kDefaultWeightSettings, ...definedOnly(s.weights ?? {}) }, { ...kDefaultSlowStart, ...definedOnly(s.slowStart ?? {}) })
              : new P2cBalancer(list, this.#random, this.#clock);
        built.set(s.name, { policy: s.policy, unit, endpoints, balancer, config: s, requestLimits: hasRequestLimits(endpoints), modelled: hasModels(endpoints), incarnations: incarnate(endpoints.keys(), this.#snapshot.services.get(s.name)?.incarnations), tally: this.#tallies.service(s.name), health: undefined!, engines: undefined!, llm: balancer instanceof LlmBalancer ? balancer : undefined, swrr: balancer instanceof SwrrBalancer ? balancer : undefined, tallyBySlot: [], standingFrom: undefined });
      }
    } catch (error) {
      for (const s of built.values()) s.balancer.dispose();
      throw error;
    }
    const old = this.#snapshot;
    const changes: Record<string, ServiceChange> = {};
    for (const [name, next] of built) {
      const prev = old.services.get(name);
      changes[name] = describe(prev, next);
      // The requests in flight are still on their endpoints: their cost stays counted.
      if (prev) for (const id of next.endpoints.keys()) if (prev.endpoints.has(id)) next.balancer.carry(id, prev.balancer.load(id));
      // Endpoints at their maximum of requests in flight (counted across balancers) sit out of this one too.
      if (next.requestLimits) for (const e of next.endpoints.values()) this.#standFull(next, e);
      // Endpoints new to an existing service start slow (the first fleet does not, as in Envoy).
      if (prev && next.balancer instanceof SwrrBalancer) for (const id of changes[name]!.added) next.balancer.slowStart(id, this.#clock());
    }
    this.#snapshot = Object.freeze({ version: old.version + 1, config: valid, services: built, revision: old.revision });
    for (const s of valid.services) {
      const state = built.get(s.name)!;
      state.health = this.#healthOf(s.name, s.outlier ?? {});
      state.health.setEndpoints([...state.endpoints.keys()]);
    }
    for (const name of [...this.#health.keys()]) if (!built.has(name)) this.#health.delete(name);
    for (const [name, s] of built) {
      const engines = (s.engines = this.#enginesOf(name, s));
      engines.keep(s.endpoints.keys(), this.#clock());
      if (s.balancer instanceof P2cBalancer) s.balancer.engines = engines;
    }
    for (const name of [...this.#engines.keys()]) if (!built.has(name)) this.#engines.delete(name);
    for (const [name, state] of [...this.#llm]) {
      if (built.get(name)?.balancer instanceof LlmBalancer) continue;
      state.dispose();
      this.#llm.delete(name);
    }
    for (const [name, s] of old.services) for (const id of s.endpoints.keys()) this.#forget(name, id);
    for (const s of old.services.values()) s.balancer.dispose();
    for (const name of this.#waiting.keys()) this.#drain(name);
    return { version: this.#snapshot.version, services: changes };
  }

  /** The ring owner of a key in a ring-hash service, load aside (where it goes when idle). */
  owner(service: string, key: string): string | undefined {
    return this.ring(service).get(key);
  }

  /**
   * The hash ring of a ring-hash service, for batch routing (BatchRouter) and inspection. It is
   * the live table: read it, do not change it (apply and discovery do).
   */
  ring(service: string): HashRing {
    const s = this.#service(service);
    if (!(s.balancer instanceof RingHashBalancer || s.balancer instanceof LlmBalancer)) throw new WasmeshError('INVALID_ARGUMENT', `service ${show(service)} is ${s.policy}, not ring-hash: keys have no owner`);
    return s.balancer.ring;
  }

  /**
   * Picks an endpoint for the request and counts its cost there, synchronously. Throws
   * NO_ENDPOINT when no endpoint meets the requirements, OVERLOADED when none has room.
   */
  route(request: RouteRequest): Route {
    return this.#routeAttempt(request, 0);
  }

  #routeAttempt(request: RouteRequest, attempt: number): Route {
    // One route in kRouteTimedEvery is timed (tally.ts says why so few).
    const start = (this.#timing++ & (kRouteTimedEvery - 1)) === 0 ? performance.now() : -1;
    try {
      return this.#route(request, start, attempt);
    } catch (error) {
      if (error instanceof WasmeshError && (error.code === 'OVERLOADED' || error.code === 'NO_ENDPOINT')) {
        const reason = error.message.startsWith('circuit open') ? 'circuit_open' : error.code === 'OVERLOADED' ? 'overloaded' : 'no_endpoint';
        this.#metrics.rejections.inc({ service: String(request?.service), reason });
      }
      throw error;
    }
  }

  // `start`: when route() was called (-1: this route is not timed); the time to here goes into the
  // service's route durations.
  #route(request: RouteRequest, start: number, attempt: number): Route {
    const { service, key, requires } = request ?? ({} as RouteRequest);
    const s = this.#service(service);
    const llm = s.llm;
    if (request.prompt !== undefined || request.blocks !== undefined || request.model !== undefined || request.adapter !== undefined || request.cacheSalt !== undefined) checkPromptFields(request);
    const cost = request.cost ?? (llm ? promptTokens(request, tokensPerBlock(llm.prefix, typeof request.prompt === 'string')) : 1);
    checkCost(cost, 'route cost');
    if (s.swrr?.timed) s.swrr.update(this.#clock());
    if (requires) meetable(s.endpoints, service, requires);
    if (s.endpoints.size === 0) throw new WasmeshError('NO_ENDPOINT', `service ${show(service)} has no endpoints`);
    const circuit = s.config.circuit;
    const tally = s.tally;
    const inService = tally.inflight;
    if (circuit?.maxRequests !== undefined && inService >= circuit.maxRequests) {
      throw new WasmeshError('OVERLOADED', `circuit open: service ${show(service)} has ${inService} requests in flight (max ${circuit.maxRequests})`);
    }
    // Ejected endpoints sit out, unless so many are ejected that the service panics (Envoy):
    // then every endpoint takes traffic again.
    const health = s.health;
    const ejected = health.ejected();
    // An endpoint back from ejection starts slow, as a new one does.
    const was = health.seen;
    if (was !== ejected && (was?.size || ejected.size)) {
      if (s.swrr) for (const id of was ?? []) if (!ejected.has(id)) s.swrr.slowStart(id, this.#clock());
      health.seen = ejected;
    }
    const panic = ejected.size > 0 && health.panic(ejected.size);
    const engines = s.engines;
    // Ejected endpoints and those at their request limit are out of the balancer's table until
    // they come back (Standing), where the balancer keeps them: no filter for them.
    const standing = s.balancer.standing;
    if (standing !== undefined && (s.standingFrom?.ejected !== ejected || s.standingFrom.panic !== panic)) standEjected(s, standing, ejected, panic);
    // Most requests pass no filter: the filters (and their closures) are built only for the others.
    const filtered = requires !== undefined || (standing === undefined && (s.requestLimits || (ejected.size > 0 && !panic))) || request.avoid?.length || s.modelled || engines.active;
    const allowed = filtered ? this.#allowed(s, request, ejected, panic, engines) : undefined;
    const llmPick = llm?.pickPrompt(request, cost, allowed, key);
    // swrr at a call site of its own: one shared by every balancer class is polymorphic, and V8
    // did not inline the round robin's pick there once a ring-hash service had routed (a tenth of
    // its route + report).
    const pick = llm ? llmPick : s.swrr !== undefined ? s.swrr.pick(key, cost, allowed) : s.balancer.pick(key, cost, allowed);
    if (!pick) {
      if (standing !== undefined && s.requestLimits && [...s.endpoints.values()].every((e) => standing.reasons(e.id) & kFull)) {
        throw new WasmeshError('OVERLOADED', `circuit open: every endpoint of service ${show(service)} has its maximum of requests in flight`);
      }
      throw new WasmeshError('OVERLOADED', `service ${show(service)}: every eligible endpoint is at its in-flight limit for cost ${cost}`);
    }
    const reason = panic ? panicReason(s.endpoints.size, ejected.size, pick.reason) : pick.reason;
    tally.inflight++;
    const slot = pick.slot;
    let t = slot === undefined ? undefined : s.tallyBySlot[slot];
    if (t === undefined) {
      t = tally.endpoint(pick.endpoint.id);
      if (slot !== undefined) s.tallyBySlot[slot] = t;
    }
    t.inflight++;
    if (t.inflight >= pick.endpoint.maxRequests) standing?.set(pick.endpoint.id, kFull, true);
    // Counts routed under an earlier policy keep its label.
    if (t.policy !== s.policy) {
      this.#metrics.publish(service, pick.endpoint.id, t);
      t.policy = s.policy;
    }
    t.routed++;
    // The request rides on its route (a retry routes it again), in a private field of the route.
    const route = new MeshRoute(service, pick.endpoint, s.policy, reason, cost, this.#snapshot.version, attempt, request, this.#snapshot, s, t, pick.slot, llmPick);
    // Fair shares count what every request of a queued service received, queued or not.
    if (s.config.admission?.queue) this.#queueOf(service).charge(request.tenant ?? '', cost * kVtcInputWeight, true);
    if (llmPick && (request.prompt !== undefined || request.blocks !== undefined)) this.#metrics.prefixHit(service, llmPick.cachedShare);
    if (start >= 0) tally.routeSeconds.add((performance.now() - start) / 1000);
    return route;
  }

  // The endpoints a request may go to, as one predicate: requirements, request limits, ejections
  // (unless in panic), avoided endpoints (only when another may take it), then model and engine
  // filters. Throws OVERLOADED when every endpoint is at its request limit.
  #allowed(s: ServiceState, request: RouteRequest, ejected: ReadonlySet<string>, panic: boolean, engines: EngineReports | undefined): ((e: Endpoint) => boolean) | undefined {
    const { service, requires } = request;
    // Per-endpoint request limits cost a scan per route: only when some endpoint has one.
    const tally = s.tally;
    const full = s.requestLimits ? (e: Endpoint) => (tally.endpoints.get(e.id)?.inflight ?? 0) >= e.maxRequests : undefined;
    if (full && [...s.endpoints.values()].every(full)) {
      throw new WasmeshError('OVERLOADED', `circuit open: every endpoint of service ${show(service)} has its maximum of requests in flight`);
    }
    const skip = ejected.size > 0 && !panic;
    const anyFull = full !== undefined && [...s.endpoints.values()].some(full);
    const base = requires || skip || anyFull ? (e: Endpoint) => (!skip || !ejected.has(e.id)) && (!requires || meets(e, requires)) && !full?.(e) : undefined;
    // Avoided endpoints sit out only when another endpoint may take the request.
    const avoid = request.avoid?.length ? new Set(request.avoid) : undefined;
    const avoiding = avoid && [...s.endpoints.values()].some((e) => !avoid.has(e.id) && (!base || base(e)));
    if (avoid && !avoiding && request.strictAvoid) {
      throw new WasmeshError('NO_ENDPOINT', `service ${show(service)} has no eligible endpoint other than ${[...avoid].map(show).join(', ')}`);
    }
    const allowed = avoiding ? (e: Endpoint) => !avoid!.has(e.id) && (!base || base(e)) : base;
    return s.modelled || engines?.active ? narrow(s.endpoints, allowed, request, engines, s.modelled, this.#clock()) : allowed;
  }

  /**
   * Applies one discovery event to the running snapshot: the service's balancer is patched in
   * place (ring add/remove, round-robin set/remove), not rebuilt, and the version moves on.
   * Returns what changed, with the exact moved share for ring-hash services. A bad endpoint
   * throws INVALID_CONFIG and changes nothing.
   */
  patch(event: DiscoveryEvent): ApplyResult {
    return this.#patch(event, true);
  }

  // The moved share compares the whole ring before and after (O(points)); attach() does not
  // report it, so a discovery stream patches at the cost of the ring change alone.
  #patch(event: DiscoveryEvent, measure: boolean): ApplyResult {
    const s = this.#service(event.service);
    const endpoints = new Map(s.endpoints);
    const change: ServiceChange = { policy: s.policy, added: [], removed: [], updated: [] };
    let next: Endpoint | undefined;
    let validated: EndpointConfig | undefined;
    if (event.type === 'remove') {
      if (!endpoints.has(event.id)) return { version: this.version, services: { [event.service]: change } };
      endpoints.delete(event.id);
      change.removed.push(event.id);
    } else {
      const config = validateEndpoint(event.endpoint, `${event.service}.endpoints[${JSON.stringify(event.endpoint?.id)}]`);
      validated = config;
      const catalog = catalogOf(this.#snapshot.config);
      if (!catalog[config.resources.accelerator]) {
        throw new WasmeshError('INVALID_CONFIG', `endpoint ${show(config.id)}: unknown accelerator ${show(config.resources.accelerator)}; known: ${Object.keys(catalog).join(', ')}`);
      }
      next = endpointOf(config, catalog);
      (endpoints.has(next.id) ? change.updated : change.added).push(next.id);
      endpoints.set(next.id, next);
    }
    const ring = measure && s.balancer instanceof RingHashBalancer ? s.balancer.ring : undefined;
    const before = ring?.pointList();
    const maglev = measure && s.balancer instanceof MaglevBalancer ? s.balancer.maglev : undefined;
    const table = maglev?.table();
    if (next) {
      s.balancer.upsert(next);
      this.#standFull(s, next);
    } else s.balancer.remove((event as { id: string }).id);
    if (next && change.added.length && s.balancer instanceof SwrrBalancer) s.balancer.slowStart(next.id, this.#clock());
    // An 'envoy' ring is rebuilt, not patched: read the balancer's ring after the change, not the old one.
    if (ring) change.movedShare = movedShareOf(before!, (s.balancer as RingHashBalancer).ring.pointList());
    if (maglev) change.movedShare = movedEntries(table!, maglev.table());
    const services = new Map(this.#snapshot.services);
    services.set(event.service, { ...s, endpoints, requestLimits: hasRequestLimits(endpoints), modelled: hasModels(endpoints), incarnations: incarnate(endpoints.keys(), s.incarnations), tallyBySlot: [], standingFrom: undefined });
    this.#snapshot = Object.freeze({ version: this.#snapshot.version + 1, config: this.#snapshot.config, services, revision: event.revision ?? this.#snapshot.revision });
    const discovered = this.#discovered.get(event.service) ?? new Map<string, EndpointConfig>();
    this.#discovered.set(event.service, discovered);
    if (event.type === 'remove') discovered.delete(event.id);
    else discovered.set(event.endpoint.id, validated!);
    this.#health.get(event.service)?.setEndpoints([...endpoints.keys()]);
    s.engines.keep(endpoints.keys(), this.#clock());
    const llm = this.#llm.get(event.service);
    if (llm) {
      llm.tracker.setEndpoints(endpoints.values(), llm.tracker.settings);
      llm.keep(new Set(endpoints.keys()));
    }
    if (event.type === 'remove') this.#forget(event.service, event.id);
    this.#drain(event.service);
    return { version: this.#snapshot.version, services: { [event.service]: change } };
  }

  /**
   * Follows a discovery source: each event is patched in as it comes. An event the mesh
   * refuses (unknown service, bad endpoint) goes to `onError` and changes nothing. Returns
   * the function that stops following.
   */
  attach(source: DiscoverySource, onError: (error: unknown, event: DiscoveryEvent) => void = () => {}): () => void {
    return source.watch((event) => {
      try {
        this.#patch(event, false);
      } catch (error) {
        onError(error, event);
      }
    });
  }

  /**
   * route(), but when every endpoint is at its limit and the service has an admission queue,
   * the request waits (FIFO) until a report frees room or `admission.timeoutMs` passes. A full
   * queue or a timeout rejects with OVERLOADED; other errors reject at once.
   */
  routeAsync(request: RouteRequest): Promise<Route> {
    try {
      return Promise.resolve(this.route(request));
    } catch (error) {
      if (!(error instanceof WasmeshError) || error.code !== 'OVERLOADED') return Promise.reject(error);
      const priority = request.priority ?? 0;
      // Sheddable requests are refused at once when there is no room.
      if (priority < 0) return Promise.reject(error.message.startsWith('shed') ? error : new WasmeshError('OVERLOADED', `shed (priority ${priority}): ${error.message}`));
      const config = this.#serviceConfig(request.service);
      const size = Math.min(config?.admission?.queue ?? 0, config?.circuit?.maxPending ?? Infinity);
      const queue = this.#queueOf(request.service);
      if (queue.length >= size) {
        // A full queue makes room for a higher band by shedding the newest of the lowest.
        const victim = size > 0 ? queue.victim() : undefined;
        if (!victim || victim.priority >= priority) return Promise.reject(new WasmeshError('OVERLOADED', `${error.message}; admission queue ${size ? `full (${size})` : 'off'}`));
        queue.remove(victim);
        clearTimeout(victim.timer);
        victim.reject(new WasmeshError('OVERLOADED', `shed from the admission queue of service ${show(request.service)} for a request of priority ${priority}`));
      }
      const timeoutMs = config?.admission?.timeoutMs ?? 1000;
      return new Promise<Route>((resolve, reject) => {
        const waiter: Waiter = { request, tenant: request.tenant ?? '', priority, seq: this.#seq++, resolve, reject, timer: undefined };
        waiter.timer = setTimeout(() => {
          queue.remove(waiter);
          reject(new WasmeshError('OVERLOADED', `service ${show(request.service)}: no room within ${timeoutMs} ms`));
        }, timeoutMs);
        queue.push(waiter);
      });
    }
  }

  #queueOf(service: string): FairQueue<Waiter> {
    let queue = this.#waiting.get(service);
    if (!queue) this.#waiting.set(service, (queue = new FairQueue<Waiter>()));
    return queue;
  }

  /** Requests of a service waiting in its admission queue now. */
  queued(service: string): number {
    return this.#waiting.get(service)?.length ?? 0;
  }

  /** A tenant's virtual token counter in a service's admission queue (input tokens x1, output x2). */
  fairShare(service: string, tenant: string): number {
    return this.#waiting.get(service)?.counter(tenant) ?? 0;
  }

  // Routes waiting requests while there is room: the next by band and fair share first.
  #drain(service: string): void {
    // Most services queue nothing: report() inlines this test, not the loop.
    if (this.#waiting.size !== 0) this.#drainQueue(service);
  }

  #drainQueue(service: string): void {
    const queue = this.#waiting.get(service);
    for (let head = queue?.peek(); head; head = queue!.peek()) {
      let route: Route;
      try {
        route = this.route(head.request);
      } catch (error) {
        if (error instanceof WasmeshError && error.code === 'OVERLOADED') return;
        queue!.remove(head);
        clearTimeout(head.timer);
        head.reject(error);
        continue;
      }
      queue!.remove(head);
      clearTimeout(head.timer);
      head.resolve(route);
    }
  }

  /**
   * After a failed request: reports it (if not yet), then decides whether to retry. A retry
   * needs a retryable failure (retryOn), attempts left (maxRetries), room in the retry budget
   * (retries in flight <= budgetPercent of active requests, at least minConcurrent) and under
   * circuit.maxRetries; it goes to another endpoint when one is eligible, after `delayMs` of
   * full-jitter backoff (the caller waits). Undefined: do not retry (the reason is counted).
   */
  retry(failed: Route, failure: FailureKind): { route: Route; delayMs: number } | undefined {
    if (!this.#wasReported(failed)) this.report(failed, { status: failure.status, failed: true });
    const { service, id, cost, attempt, request } = MeshRoute.facts(failed);
    const config = this.#serviceConfig(service);
    const settings = { ...kDefaultRetrySettings, ...definedOnly(config?.retry ?? {}) };
    if (!retryable(failure, settings)) {
      this.#metrics.retries.inc({ service, result: 'not_retryable' });
      return undefined;
    }
    if (attempt >= settings.maxRetries) return undefined;
    const tally = this.#tallies.service(service);
    const retries = tally.retrying;
    const maxRetries = config?.circuit?.maxRetries ?? Infinity;
    if (retries >= maxRetries || !withinBudget(tally.inflight, retries, settings)) {
      this.#metrics.retries.inc({ service, result: 'budget_exhausted' });
      return undefined;
    }
    let route: Route;
    try {
      route = this.#routeAttempt({ ...request, service, cost, avoid: [id], strictAvoid: !settings.sameEndpoint }, attempt + 1);
    } catch (error) {
      if (!(error instanceof WasmeshError)) throw error;
      this.#metrics.retries.inc({ service, result: 'no_endpoint' });
      return undefined;
    }
    tally.retrying++;
    this.#metrics.retries.inc({ service, result: 'retried' });
    return { route, delayMs: backoffMs(route.attempt, settings, this.#random) };
  }

  /**
   * An endpoint's own load report (utilization, qps, errors), as gRPC's ORCA carries them.
   * swrr services turn reports into weights (SwrrBalancer); others ignore them for now.
   */
  reportLoad(service: string, id: string, report: LoadReport): void {
    const s = this.#service(service);
    this.#endpoint(service, id);
    const bad = (['utilization', 'qps', 'eps', 'queueLength', 'kvUsage', 'running'] as const).find((k) => report?.[k] !== undefined && (typeof report[k] !== 'number' || !Number.isFinite(report[k]!) || report[k]! < 0));
    const engine = report && (report.queueLength !== undefined || report.kvUsage !== undefined || report.running !== undefined || report.adapters !== undefined);
    const weights = report && report.utilization !== undefined && report.qps !== undefined;
    if (!report || bad || (!engine && !weights)) {
      throw new WasmeshError('INVALID_ARGUMENT', `load report ${bad ? `${bad} must be a finite number >= 0, got ${show(report[bad])}` : 'needs utilization and qps, or an engine field (queueLength, kvUsage, running, adapters)'}`);
    }
    if (report.kvUsage !== undefined && report.kvUsage > 1) throw new WasmeshError('INVALID_ARGUMENT', `load report kvUsage must be a share from 0 to 1, got ${show(report.kvUsage)}`);
    const a = report.adapters;
    if (a !== undefined && (a === null || typeof a !== 'object' || !Array.isArray(a.running) || !Array.isArray(a.waiting) || ![...a.running, ...a.waiting].every((x) => typeof x === 'string') || !(Number.isInteger(a.max) && a.max >= 0))) {
      throw new WasmeshError('INVALID_ARGUMENT', `load report adapters must be { running: string[], waiting: string[], max: integer >= 0 }, got ${show(a)}`);
    }
    if (weights && s.balancer instanceof SwrrBalancer) s.balancer.reportLoad(id, report as Required<Pick<LoadReport, 'utilization' | 'qps'>> & LoadReport, this.#clock());
    if (engine) s.engines.set(id, { queueLength: report.queueLength ?? NaN, running: report.running ?? NaN, kvUsage: report.kvUsage ?? NaN, adapters: a && { running: [...a.running], waiting: [...a.waiting], max: a.max } }, this.#clock());
  }

  // An endpoint at its maximum of requests in flight sits out of the balancer's picks; below it, back in.
  #standFull(s: ServiceState, e: Endpoint | undefined): void {
    const standing = s.balancer.standing;
    if (standing === undefined || e === undefined) return;
    standing.set(e.id, kFull, (s.tally.endpoints.get(e.id)?.inflight ?? 0) >= e.maxRequests);
  }

  #enginesOf(name: string, s: { readonly config: Readonly<ServiceConfig> }): EngineReports {
    const settings = engineSettings(s.config);
    let engines = this.#engines.get(name);
    if (!engines) this.#engines.set(name, (engines = new EngineReports(settings)));
    else engines.settings = settings;
    return engines;
  }

  /** What an endpoint's engine last reported, its state now (fresh, stale, unknown) and whether the saturation filter skips it. */
  engineState(service: string, id: string): { state: EngineState; saturated: boolean; report: EngineReport | undefined } {
    this.#endpoint(service, id);
    const engines = this.#service(service).engines;
    const now = this.#clock();
    return { state: engines.state(id, now), saturated: engines.settings.filter && engines.saturated(id, now), report: engines.fresh(id, now) };
  }

  /** The current weight of each endpoint of an swrr service (capacities until reports count). */
  weights(service: string): Record<string, number> {
    const s = this.#service(service);
    if (!(s.balancer instanceof SwrrBalancer)) return {};
    s.balancer.update(this.#clock());
    const wrr = s.balancer.wrr;
    return Object.fromEntries(wrr.nodes().map((id) => [id, wrr.weightOf(id)!]));
  }

  /**
   * The request of a route ended: its cost leaves the endpoint, and its outcome is counted.
   * Each route reports once.
   */
  report(route: Route, outcome: Outcome = {}): void {
    if (typeof route !== 'object' || route === null || typeof route.endpoint?.id !== 'string') throw new WasmeshError('INVALID_ARGUMENT', `report needs the Route that route() returned, got ${show(route)}`);
    const first = MeshRoute.close(route);
    if (first === false || (first === undefined && this.#reported.has(route))) throw new WasmeshError('INVALID_ARGUMENT', `route to ${show(route.endpoint.id)} was already reported`);
    if (first === undefined) this.#reported.add(route);
    // The route's own record (what it counted), read out before anything else may route.
    const { service, id, cost, attempt, request, made, state, ttftTokens, slot, tally: endpointTally } = MeshRoute.facts(route);
    const tally = state?.tally ?? this.#tallies.service(service);
    const t = endpointTally ?? tally.endpoint(id);
    const cancelled = outcome.cancelled === true;
    const failed = !cancelled && (outcome.failed ?? (outcome.status !== undefined && outcome.status >= 500));
    if (cancelled) t.cancelled++;
    else {
      t.requests++;
      if (failed) t.failures++;
      t.latencyMsSum += outcome.latencyMs ?? 0;
    }
    // A Route this mesh did not make (built by hand) cannot push the counts below zero.
    tally.inflight = Math.max(0, tally.inflight - 1);
    t.inflight = Math.max(0, t.inflight - 1);
    // The snapshot that made the route still current: nothing has changed since, no lookups.
    const unchanged = made === this.#snapshot;
    const s = unchanged ? (state as ServiceState) : this.#snapshot.services.get(service);
    if (!cancelled && !failed && this.#llm.size !== 0) this.#learn(service, id, ttftTokens, outcome);
    // An endpoint removed since the route was made has no health to keep and nothing to release.
    // Incarnations are unique across meshes: the same one here means the same endpoint, still in this mesh.
    if (unchanged || (state !== undefined ? s?.incarnations.get(id) === state.incarnations.get(id) : s?.endpoints.has(id))) {
      if (!cancelled) s!.health.record(id, failed);
      // swrr at a call site of its own, as in #route.
      if (s!.swrr !== undefined) s!.swrr.release(id, cost, slot);
      else s!.balancer.release(id, cost, slot);
    } else this.#forget(service, id);
    // The endpoint's count of requests is by id, whichever incarnation they went to: below its
    // maximum, it is back in (also after the route of an endpoint since removed and added again).
    if (s?.requestLimits) this.#standFull(s, s.endpoints.get(id));
    const completion = outcome.completionTokens;
    if (typeof completion === 'number' && completion > 0 && s?.config.admission?.queue) this.#queueOf(service).charge(request?.tenant ?? '', completion * kVtcOutputWeight);
    if (attempt > 0) tally.retrying = Math.max(0, tally.retrying - 1);
    this.#drain(service);
  }

  // What an LLM request's outcome teaches: its TTFT fits the endpoint's prediction; the engine's
  // cached tokens are the delivered hit.
  #learn(service: string, id: string, tokens: number | undefined, outcome: Outcome): void {
    const state = this.#llm.get(service);
    if (!state) return;
    const { ttftMs, cachedTokens, promptTokens: prompt } = outcome;
    if (typeof ttftMs === 'number' && Number.isFinite(ttftMs) && ttftMs >= 0 && tokens !== undefined) {
      state.fitOf(id)?.observe(tokens, ttftMs, this.#serviceConfig(service)?.ttft?.forgetting ?? kDefaultTtft.forgetting);
    }
    if (typeof cachedTokens === 'number' && typeof prompt === 'number' && prompt > 0 && cachedTokens >= 0) this.#metrics.prefixDelivered(service, Math.min(1, cachedTokens / prompt));
  }

  // The service's caches and fits: kept across applies, started over when the block settings change.
  #llmState(s: ServiceConfig, engine: EngineName, endpoints: Iterable<Endpoint>): LlmState {
    const settings = prefixSettings(s);
    let state = this.#llm.get(s.name);
    if (state && !state.tracker.sameAs(settings)) {
      state.dispose();
      state = undefined;
    }
    if (!state) this.#llm.set(s.name, (state = new LlmState(settings, engine, this.#clock)));
    state.engines = this.#enginesOf(s.name, { config: s });
    const list = [...endpoints];
    state.tracker.setEndpoints(list, settings);
    state.keep(new Set(list.map((e) => e.id)));
    return state;
  }

  /**
   * An engine's KV-cache event for a prefix-cache or ttft service: the endpoint stored these
   * blocks, or removed them (block hashes as promptBlocks computes them, seeded by model). With
   * `prefix.mode: precise` these events are the index; in approximate mode they correct it.
   */
  observe(service: string, id: string, blocks: BigUint64Array | readonly bigint[], event: 'stored' | 'removed'): void {
    this.#endpoint(service, id);
    const state = this.#llm.get(service);
    if (!state) throw new WasmeshError('INVALID_ARGUMENT', `service ${show(service)} is ${this.#service(service).policy}: only prefix-cache and ttft services keep a prefix index`);
    state.tracker.observe(id, blocks, event);
  }

  /** Each endpoint's longest cached prefix of a prompt, in blocks, as a prefix-cache or ttft service's index has it. */
  cached(service: string, request: PromptFields): Record<string, number> {
    const state = this.#llm.get(service);
    if (!state) throw new WasmeshError('INVALID_ARGUMENT', `service ${show(service)} is ${this.#service(service).policy}: only prefix-cache and ttft services keep a prefix index`);
    checkPromptFields(request);
    const t = state.tracker;
    t.match(request);
    return Object.fromEntries([...this.#service(service).endpoints.keys()].map((id) => [id, t.matched[t.slotOf(id)]!]));
  }

  // The service's detector; a new one when its settings change (state then starts over).
  #healthOf(service: string, overrides: object): OutlierDetector {
    const settings = { ...kDefaultOutlierSettings, ...definedOnly(overrides) };
    const current = this.#health.get(service);
    if (current && JSON.stringify(current.settings) === JSON.stringify(settings)) return current;
    const detector = new OutlierDetector(settings, this.#clock);
    detector.onEject((e) => {
      this.#metrics.ejections.inc({ service, endpoint: e.id, cause: e.cause });
      for (const l of this.#ejectListeners) l(service, e);
    });
    this.#health.set(service, detector);
    return detector;
  }

  // Drops the counts (and metric series) of an endpoint that is gone and has nothing in flight:
  // a fleet whose endpoint ids churn (pod addresses) would grow them without end.
  #forget(service: string, id: string): void {
    const tally = this.#tallies.get(service);
    const t = tally?.endpoints.get(id);
    if (!tally || !t || t.inflight > 0 || this.#snapshot.services.get(service)?.endpoints.has(id)) return;
    tally.endpoints.delete(id);
    this.#metrics.forget(service, id, t);
    if (tally.endpoints.size === 0 && !this.#snapshot.services.has(service)) this.#tallies.delete(service);
  }

  #wasReported(route: Route): boolean {
    return MeshRoute.isOpen(route) === false || this.#reported.has(route);
  }

  #serviceConfig(service: string): Readonly<ServiceConfig> | undefined {
    return this.#snapshot.services.get(service)?.config;
  }

  #endpoint(service: string, id: string): Endpoint {
    const e = this.#service(service).endpoints.get(id);
    if (!e) throw new WasmeshError('UNKNOWN_NODE', `service ${show(service)} has no endpoint ${show(id)}`);
    return e;
  }

  #service(name: string): ServiceState {
    // Most routers route one service after another of the same name: the last answer, while its
    // snapshot stands (the lookup in a method of its own, so that route() inlines this one).
    if (name === this.#lastName && this.#lastIn === this.#snapshot) return this.#last!;
    return this.#lookUpService(name);
  }

  #lookUpService(name: string): ServiceState {
    const s = this.#snapshot.services.get(name);
    if (s) {
      this.#lastName = name;
      this.#last = s;
      this.#lastIn = this.#snapshot;
    }
    if (!s) throw new WasmeshError('NO_ENDPOINT', `no service ${show(name)}; services: ${this.services().join(', ') || 'none'}`);
    return s;
  }
}

function prefixSettings(s: ServiceConfig): PrefixSettings {
  return { ...kDefaultPrefix, ...definedOnly(s.prefix ?? {}) } as PrefixSettings;
}

function describe(prev: ServiceState | undefined, next: ServiceState): ServiceChange {
  const before = prev?.endpoints ?? new Map<string, Endpoint>();
  const change: ServiceChange = {
    policy: next.policy,
    added: [...next.endpoints.keys()].filter((id) => !before.has(id)),
    removed: [...before.keys()].filter((id) => !next.endpoints.has(id)),
    updated: [...next.endpoints.keys()].filter((id) => before.has(id) && JSON.stringify(before.get(id)) !== JSON.stringify(next.endpoints.get(id))),
  };
  if (next.balancer instanceof RingHashBalancer && prev?.balancer instanceof RingHashBalancer) {
    change.movedShare = movedShare(prev.balancer.ring, next.balancer.ring);
  }
  if (next.balancer instanceof MaglevBalancer && prev?.balancer instanceof MaglevBalancer && prev.balancer.maglev.options.tableSize === next.balancer.maglev.options.tableSize) {
    change.movedShare = movedEntries(prev.balancer.maglev.table(), next.balancer.maglev.table());
  }
  if (next.policy === 'swrr') {
    const share = (m: ReadonlyMap<string, Endpoint>) => {
      const total = [...m.values()].reduce((s, e) => s + e.capacity, 0);
      return new Map([...m.values()].map((e) => [e.id, e.capacity / total]));
    };
    const a = prev?.policy === 'swrr' ? share(before) : new Map<string, number>();
    const b = share(next.endpoints);
    change.shareChange = Object.fromEntries([...new Set([...a.keys(), ...b.keys()])].map((id) => [id, (b.get(id) ?? 0) - (a.get(id) ?? 0)]));
  }
  return change;
}
