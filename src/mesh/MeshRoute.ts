// The Route a Mesh hands out. A class, not an object literal: every route of a service has one
// shape. What the mesh needs back at report() (its service, endpoint, cost and attempt, whether
// it was reported, the request a retry routes again) lives in private fields, out of reach of the
// caller: changing a route's public fields cannot make the mesh release the wrong counts. That
// replaces Object.freeze (a third of a route's cost) and a WeakSet of reported routes (a
// hash-table entry per request, and most of the garbage collector's time at millions a second).
import type { Endpoint } from './endpoints.js';
import type { Route, RouteRequest } from './Mesh.js';
import type { DeferredReason, Policy } from './balancers.js';
import type { EndpointTally, ServiceTally } from './tally.js';

/** What an LLM pick adds to a route. */
export interface LlmFacts {
  cachedShare: number;
  predictedMs?: number;
  ttftTokens?: number;
}

export class MeshRoute implements Route {
  declare readonly policy: Policy;
  declare readonly version: number;
  declare readonly cachedShare?: number;
  declare readonly predictedTtftMs?: number;
  #open = true;
  // Formatted when first read: a reason with numbers in it cost more than the rest of the route.
  #reason: string | DeferredReason;
  // Read through getters (service, endpoint, cost, attempt): what a caller writes there shadows
  // the getter and never reaches the accounting.
  // NOTE: each field a route carries is paid on every request; one past these cost a tenth of
  // route + report (measured: V8 moves the fields out of the object), so none is kept twice.
  readonly #service: string;
  readonly #endpoint: Endpoint;
  readonly #cost: number;
  readonly #attempt: number;
  readonly #request: RouteRequest;
  // The snapshot that made it, and its service's state then: the counts it adds to (a tally with
  // requests in flight is never dropped) and the incarnation of the endpoint it went to (an
  // endpoint removed and added again is a new one, and a route of the old one releases nothing
  // of the new one's counts). Read by map only when the snapshot has moved on since.
  readonly #made: object;
  readonly #state: RouteState;
  readonly #tally: EndpointTally;
  readonly #ttftTokens: number | undefined;
  // The balancer's slot of the endpoint (Pick.slot), handed back when the route is released.
  readonly #slot: number | undefined;

  constructor(service: string, endpoint: Endpoint, policy: Policy, reason: string | DeferredReason, cost: number, version: number, attempt: number, request: RouteRequest, made: object, state: RouteState, tally: EndpointTally, slot: number | undefined, llm?: LlmFacts) {
    this.#service = service;
    this.#endpoint = endpoint;
    this.policy = policy;
    this.#reason = reason;
    this.#cost = cost;
    this.version = version;
    this.#attempt = attempt;
    if (llm) {
      this.cachedShare = llm.cachedShare;
      this.predictedTtftMs = llm.predictedMs;
    }
    this.#request = request;
    this.#made = made;
    this.#state = state;
    this.#tally = tally;
    this.#ttftTokens = llm?.ttftTokens;
    this.#slot = slot;
  }

  /** The service it was routed in. */
  get service(): string {
    return this.#service;
  }

  set service(value: string) {
    shadow(this, 'service', value);
  }

  /** The endpoint chosen. */
  get endpoint(): Endpoint {
    return this.#endpoint;
  }

  set endpoint(value: Endpoint) {
    shadow(this, 'endpoint', value);
  }

  /** The cost counted on the endpoint until report(). */
  get cost(): number {
    return this.#cost;
  }

  set cost(value: number) {
    shadow(this, 'cost', value);
  }

  /** 0 for a first try, n for the nth retry. */
  get attempt(): number {
    return this.#attempt;
  }

  set attempt(value: number) {
    shadow(this, 'attempt', value);
  }

  /** Why the balancer chose this endpoint. */
  get reason(): string {
    const r = this.#reason;
    return typeof r === 'string' ? r : (this.#reason = r.format());
  }

  /** The public fields, reason included (it is a getter). */
  toJSON(): Record<string, unknown> {
    return { service: this.service, endpoint: this.endpoint, policy: this.policy, reason: this.reason, cost: this.cost, version: this.version, attempt: this.attempt, ...(this.cachedShare === undefined ? {} : { cachedShare: this.cachedShare, predictedTtftMs: this.predictedTtftMs }) };
  }

  /** console.log and util.inspect show the public fields, getters included. */
  [Symbol.for('nodejs.util.inspect.custom')](): Record<string, unknown> {
    return this.toJSON();
  }

  /** Marks a route reported: true the first time, false after; undefined for a route this mesh did not make. */
  static close(route: Route): boolean | undefined {
    if (!(#open in route)) return undefined;
    const r = route as MeshRoute;
    if (!r.#open) return false;
    r.#open = false;
    return true;
  }

  /** Whether a route of a mesh is still unreported; undefined for one built by hand. */
  static isOpen(route: Route): boolean | undefined {
    return #open in route ? (route as MeshRoute).#open : undefined;
  }

  /** What report() and retry() read: the route's own record, or its public fields for a route built by hand. */
  static facts(route: Route): RouteFacts {
    // The hand-built case in a function of its own: with its object literal here, V8 did not
    // inline this one into report() (a twentieth of an swrr route + report).
    if (!(#open in route)) return handBuilt(route);
    const r = route as MeshRoute;
    kFacts.service = r.#service;
    kFacts.id = r.#endpoint.id;
    kFacts.cost = r.#cost;
    kFacts.attempt = r.#attempt;
    kFacts.request = r.#request;
    kFacts.made = r.#made;
    kFacts.state = r.#state;
    kFacts.tally = r.#tally;
    kFacts.ttftTokens = r.#ttftTokens;
    kFacts.slot = r.#slot;
    return kFacts;
  }
}

/** A route's record as report() reads it. facts() of a mesh's route reuses one object: read it before the next call. */
export interface RouteFacts {
  service: string;
  id: string;
  cost: number;
  attempt: number;
  request: RouteRequest | undefined;
  /** The mesh snapshot that made the route: while it is current, `state` is the service's state now. */
  made: object | undefined;
  state: RouteState | undefined;
  tally: EndpointTally | undefined;
  ttftTokens: number | undefined;
  slot: number | undefined;
}

function handBuilt(route: Route): RouteFacts {
  return { service: route.service, id: route.endpoint.id, cost: route.cost, attempt: route.attempt, request: undefined, made: undefined, state: undefined, tally: undefined, ttftTokens: undefined, slot: undefined };
}

const kFacts: RouteFacts = { service: '', id: '', cost: 0, attempt: 0, request: undefined, made: undefined, state: undefined, tally: undefined, ttftTokens: undefined, slot: undefined };

/** What a route keeps of its service's state (Mesh's ServiceState): its counts and its endpoints' incarnations then. */
export interface RouteState {
  readonly tally: ServiceTally;
  readonly incarnations: ReadonlyMap<string, number>;
}

// A caller writing a route's public field (as it could while they were plain fields) gets its own
// value back from then on; what the mesh counted stays in the private field.
function shadow(route: MeshRoute, key: string, value: unknown): void {
  Object.defineProperty(route, key, { value, writable: true, enumerable: true, configurable: true });
}
