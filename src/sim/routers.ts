// The routers the simulator compares. The Mesh policies run as they do in production: the real
// Mesh.route() and Mesh.report() on a Mesh whose clock is the simulation's, so what the simulator
// measures is what ships. `random` is the baseline of the published comparisons; `oracle` knows
// every engine's cache and queue exactly and picks the least predicted time to first token, an
// upper bound no real router reaches.
import { Mesh, type Route } from '../mesh/Mesh.js';
import { seededRandom } from '../mesh/random.js';
import type { Engine, SeqResult } from './Engine.js';
import type { MetricsScraper } from './MetricsScraper.js';
import type { Fleet } from './fleets.js';
import type { SimRequest } from './workloads.js';

/** A routing policy under simulation. */
export interface SimRouter {
  readonly name: string;
  /** The endpoint (index into the fleet) for a request arriving at `nowS`. */
  pick(request: SimRequest, nowS: number): number;
  /** The request ended (answered, or dropped by its client). */
  done(index: number, result: SeqResult, nowS: number): void;
  /** The engines' metrics were scraped (routers that read engine metrics take them here). */
  scraped?(scraper: MetricsScraper, nowS: number): void;
  /** Wall-clock microseconds of each decision (its route and its report), in order. */
  readonly micros: number[];
  readonly decisions: number;
}

/**
 * The Mesh policies the simulator runs through Mesh.route: `weighted` is prefix-cache with
 * llm-d's default scorer weights (prefix 3, queue 2, kvUsage 2; its scheduler's defaults).
 */
export const kMeshPolicies = ['swrr', 'p2c', 'ring-hash', 'prefix-cache', 'ttft', 'weighted'] as const;
type MeshPolicy = (typeof kMeshPolicies)[number];
/** Every policy name the simulator knows. */
export const kSimPolicies = [...kMeshPolicies, 'random', 'oracle'] as const;
export type SimPolicy = (typeof kSimPolicies)[number];

/** A policy name the simulator runs: one of kSimPolicies, or "<mesh policy> xN" (N replicas). */
export function isSimPolicy(name: string): boolean {
  const replicas = /^(\S+) x([1-9]\d{0,2})$/.exec(name);
  return (kSimPolicies as readonly string[]).includes(name) || (replicas !== null && (kMeshPolicies as readonly string[]).includes(replicas[1]!));
}

class MeshRouter implements SimRouter {
  readonly name: string;
  readonly micros: number[] = [];
  decisions = 0;
  readonly #mesh: Mesh;
  readonly #index = new Map<string, number>();
  // Each request's route, and the index of its decision in `micros` (its report's time is added there).
  readonly #routes = new Map<number, { route: Route; decision: number }>();
  readonly #ring: boolean;
  readonly #llm: boolean;
  readonly #ids: string[];
  // Each request's block chain as the mesh takes it (64-bit hashes), made before the clock starts.
  readonly #chains = new WeakMap<SimRequest, BigUint64Array>();
  #nowMs = 0;

  constructor(policy: MeshPolicy, fleet: Fleet, seed: number, options: MeshRouterOptions = {}) {
    this.name = options.name ?? policy;
    this.#ring = policy === 'ring-hash';
    this.#llm = policy === 'prefix-cache' || policy === 'ttft' || policy === 'weighted';
    this.#mesh = new Mesh({ clock: () => this.#nowMs, random: seededRandom(seed) });
    fleet.endpoints.forEach((e, i) => this.#index.set(e.id, i));
    this.#ids = fleet.endpoints.map((e) => e.id);
    // The index holds what the engines hold: their KV tokens in 16-token blocks when the fleet fixes them.
    const kvTokens = fleet.endpoints.every((e) => e.kvTokens) ? Math.min(...fleet.endpoints.map((e) => e.kvTokens!)) : undefined;
    this.#mesh.apply({
      services: [
        {
          name: 'llm',
          policy: policy === 'weighted' ? 'prefix-cache' : policy,
          // Prompt-prefix affinity: the key is the prompt's first KV block (as a sidecar keyed on the prompt's start).
          ...(this.#ring ? { ring: { boundedLoad: 1.25 } } : {}),
          ...(this.#llm ? { prefix: { ...(kvTokens ? { capacityBlocks: Math.floor(kvTokens / 16) } : {}), ...(policy === 'weighted' ? { scorers: { prefix: 3, queue: 2, kvUsage: 2 } } : {}), ...options.prefix } } : {}),
          ...(options.ttft ? { ttft: options.ttft } : {}),
          // Clients time out on slow endpoints; that is no reason to eject one from a simulated fleet.
          outlier: { consecutiveFailures: 1_000_000 },
          endpoints: fleet.endpoints.map((e, i) => ({ id: e.id, address: `127.0.0.1:${10_000 + i}`, resources: { accelerator: e.accelerator, count: e.count ?? 1, ...(e.memoryGiB ? { memoryGiB: e.memoryGiB } : {}) } })),
        },
      ],
    });
  }

  #chain(request: SimRequest): BigUint64Array {
    let chain = this.#chains.get(request);
    if (!chain) {
      chain = new BigUint64Array(request.promptBlocks);
      for (let i = 0; i < request.promptBlocks; i++) chain[i] = BigInt(request.blocks[i]!);
      this.#chains.set(request, chain);
    }
    return chain;
  }

  pick(request: SimRequest, nowS: number): number {
    this.#nowMs = nowS * 1000;
    const blocks = this.#llm ? this.#chain(request) : undefined;
    const start = performance.now();
    const route = this.#mesh.route(this.#ring ? { service: 'llm', key: request.key } : blocks ? { service: 'llm', blocks, cost: request.promptTokens } : { service: 'llm' });
    this.micros.push((performance.now() - start) * 1000);
    this.#routes.set(request.id, { route, decision: this.decisions++ });
    return this.#index.get(route.endpoint.id)!;
  }

  done(_index: number, result: SeqResult, nowS: number): void {
    this.#nowMs = nowS * 1000;
    const { route, decision } = this.#routes.get(result.request.id)!;
    this.#routes.delete(result.request.id);
    const start = performance.now();
    const arrival = result.request.arrivalS;
    this.#mesh.report(
      route,
      result.ok
        ? { status: 200, latencyMs: (result.endS - arrival) * 1000, ttftMs: (result.firstTokenS - arrival) * 1000, cachedTokens: result.cachedTokens, promptTokens: result.request.promptTokens }
        : { status: 504, latencyMs: (nowS - arrival) * 1000 },
    );
    this.micros[decision]! += (performance.now() - start) * 1000;
  }

  // What a gateway scraping vLLM's /metrics would pass on: waiting requests and KV use.
  scraped(scraper: MetricsScraper, nowS: number): void {
    if (!this.#llm) return;
    this.#nowMs = nowS * 1000;
    this.#ids.forEach((id, i) => {
      const { sample } = scraper.read(i, nowS);
      this.#mesh.reportLoad('llm', id, { queueLength: sample.waiting, kvUsage: Math.min(1, sample.kvUsage) });
    });
  }
}

/** Variants of a Mesh policy under simulation (ablations, replicas). */
export interface MeshRouterOptions {
  name?: string;
  prefix?: Record<string, unknown>;
  ttft?: Record<string, unknown>;
}

/**
 * N routers side by side, each its own Mesh with its own index and no shared state, taking
 * requests in turn: independent sidecar replicas (requests spread over them by a front load
 * balancer). Their hit rate against one router's is the cost of not sharing an index.
 */
export class ReplicaRouters implements SimRouter {
  readonly name: string;
  readonly micros: number[] = [];
  readonly #replicas: MeshRouter[];
  readonly #owner = new Map<number, MeshRouter>();
  #next = 0;
  decisions = 0;

  constructor(policy: MeshPolicy, fleet: Fleet, seed: number, replicas: number) {
    this.name = `${policy} x${replicas}`;
    this.#replicas = Array.from({ length: replicas }, (_, i) => new MeshRouter(policy, fleet, seed + i));
  }

  pick(request: SimRequest, nowS: number): number {
    const r = this.#replicas[this.#next++ % this.#replicas.length]!;
    this.#owner.set(request.id, r);
    const index = r.pick(request, nowS);
    this.micros.push(r.micros[r.micros.length - 1]!);
    this.decisions++;
    return index;
  }

  done(index: number, result: SeqResult, nowS: number): void {
    const r = this.#owner.get(result.request.id)!;
    this.#owner.delete(result.request.id);
    r.done(index, result, nowS);
  }

  scraped(scraper: MetricsScraper, nowS: number): void {
    for (const r of this.#replicas) r.scraped(scraper, nowS);
  }
}

class RandomRouter implements SimRouter {
  readonly name = 'random';
  readonly micros: number[] = [];
  decisions = 0;
  readonly #random;
  constructor(readonly size: number, seed: number) {
    this.#random = seededRandom(seed);
  }
  pick(): number {
    const start = performance.now();
    this.decisions++;
    const pick = Math.floor(this.#random() * this.size);
    this.micros.push((performance.now() - start) * 1000);
    return pick;
  }
  done(): void {}
}

/**
 * Least predicted time to first token, from the engines' true state: the prompt tokens queued
 * ahead of it plus its own uncached ones, at the engine's prefill rate, plus an iteration's fixed
 * cost per batch they fill.
 */
class OracleRouter implements SimRouter {
  readonly name = 'oracle';
  readonly micros: number[] = [];
  decisions = 0;
  constructor(readonly engines: readonly Engine[]) {}
  pick(request: SimRequest): number {
    const start = performance.now();
    let best = 0, bestS = Infinity;
    for (let i = 0; i < this.engines.length; i++) {
      const e = this.engines[i]!;
      const tokens = e.pendingPrefillTokens() + request.promptTokens - e.cachedTokensOf(request);
      const s = tokens * e.speed.betaS + (Math.ceil(tokens / e.maxBatchTokens) + 1) * e.speed.alphaS;
      if (s < bestS) [best, bestS] = [i, s];
    }
    this.micros.push((performance.now() - start) * 1000);
    this.decisions++;
    return best;
  }
  done(): void {}
}

export function makeRouter(policy: string, fleet: Fleet, engines: readonly Engine[], seed: number): SimRouter {
  // "<policy> xN": N independent replicas of a Mesh policy.
  const replicas = /^(\S+) x(\d+)$/.exec(policy);
  if (replicas && (kMeshPolicies as readonly string[]).includes(replicas[1]!)) return new ReplicaRouters(replicas[1] as MeshPolicy, fleet, seed, Number(replicas[2]));
  if ((kMeshPolicies as readonly string[]).includes(policy)) return new MeshRouter(policy as MeshPolicy, fleet, seed);
  if (policy === 'random') return new RandomRouter(fleet.endpoints.length, seed);
  if (policy === 'oracle') return new OracleRouter(engines);
  throw new Error(`unknown policy ${policy}`);
}
