// Per-service balancers: one small interface, three policies. Each keeps the in-flight cost
// of its endpoints; the mesh swaps whole balancers on apply and carries that cost over.
import { BoundedLoad } from '../core/BoundedLoad.js';
import { HashRing, type HashName } from '../core/HashRing.js';
import type { EngineName } from '../core/options.js';
import { SmoothWrr } from '../core/SmoothWrr.js';
import { WasmeshError } from '../core/WasmeshError.js';
import type { Endpoint } from './endpoints.js';
import type { EngineReports } from './EngineReports.js';
import type { Random } from './random.js';
import type { AcceleratorSpec } from './catalog.js';
import { roomUnder, SlotLoads } from './SlotLoads.js';
import { kEjected, kFull, Standing } from './Standing.js';

export type Policy = 'ring-hash' | 'swrr' | 'p2c' | 'prefix-cache' | 'ttft' | 'maglev';

/**
 * A reason with numbers in it, formatted only if the route's reason is read: formatting costs
 * more than the rest of a route. An object of its own class, not a closure: a closure and its
 * context were a third of a p2c route + report (measured against this, interleaved).
 */
export interface DeferredReason {
  format(): string;
}

/** A balancer's answer. It may be reused by the balancer's next pick: read it at once. */
export interface Pick {
  endpoint: Endpoint;
  /** Why. */
  reason: string | DeferredReason;
  /** The balancer's own slot of the endpoint (ring-hash, p2c, swrr), handed back to release() and valid while the balancer's membership stays. */
  slot?: number;
}

export interface Balancer {
  readonly policy: Policy;
  /**
   * Picks among the endpoints that pass `allowed` and counts `cost` on the one picked;
   * undefined when none may take it (admission control's cue).
   */
  pick(key: string | undefined, cost: number, allowed?: (e: Endpoint) => boolean): Pick | undefined;
  /** The cost a pick counted on `id` is done; `slot` is the pick's, when it had one. */
  release(id: string, cost: number, slot?: number): void;
  /** In-flight cost of an endpoint. */
  load(id: string): number;
  /** Counts in-flight cost carried over from the balancer this one replaces. */
  carry(id: string, cost: number): void;
  /** Patches: a new endpoint, or new resources for one (its in-flight cost stays). */
  upsert(e: Endpoint): void;
  remove(id: string): void;
  dispose(): void;
  /**
   * The endpoints out of every pick until readmitted (ejected, at their maximum of requests),
   * kept by the balancer in its own table; the mesh sets and clears them as they change.
   * Undefined for a balancer that takes them as a per-request filter instead.
   */
  readonly standing?: Standing;
}

/** Whether any endpoint has an in-flight limit: only then must a pick look for full ones. */
const anyLimit = (endpoints: Iterable<Endpoint>) => [...endpoints].some((e) => e.maxInflight !== Infinity);

/**
 * Runs `pick` with the endpoints `ids` made ineligible through `setEligible`, and restores them
 * after: per-request exclusion for engines that keep eligibility as state. `ids` must leave out
 * the endpoints out already (Standing): restoring them would let them back in.
 */
function excluding<T>(ids: readonly string[], setEligible: (id: string, eligible: boolean) => void, pick: () => T): T {
  for (const id of ids) setEligible(id, false);
  try {
    return pick();
  } finally {
    for (const id of ids) setEligible(id, true);
  }
}

export interface RingHashSettings {
  /**
   * Capacity units per unit of ring weight, fixed by the config (capacityUnit), so that a change
   * of membership changes no other endpoint's points (a mean-based weight would move them all).
   */
  unit: number;
  vnodes: number;
  hash: HashName;
  /** Bounded-load factor c (>= 1). */
  boundedLoad: number;
  engine: EngineName;
  /** hash 'envoy': Envoy's minimum_ring_size and maximum_ring_size. */
  minRingSize?: number;
  maxRingSize?: number;
}

/** Key affinity (KV-cache reuse) with bounded loads: an overloaded owner passes keys clockwise. */
/**
 * release, load and carry of the balancers that count in-flight cost by their own slots: a pick
 * counts on its slot and hands it to the route, which releases by it (SlotLoads).
 */
export abstract class CountsBySlot {
  protected readonly loads = new SlotLoads();

  release(id: string, cost: number, slot?: number): void {
    this.loads.release(id, cost, slot);
  }

  load(id: string): number {
    return this.loads.load(id);
  }

  carry(id: string, cost: number): void {
    this.loads.carry(id, cost);
  }
}

export class RingHashBalancer implements Balancer {
  readonly policy = 'ring-hash';
  #ring: HashRing;
  #bounded: BoundedLoad;
  readonly #byId: Map<string, Endpoint>;
  readonly #unit: number;
  readonly #settings: RingHashSettings;
  readonly #owned: Pick = { endpoint: undefined!, reason: 'ring owner', slot: -1 };
  // Endpoints by ring slot, filled as picks find them and emptied at every change of the ring or
  // of #byId (a freed slot may go to another node): a Map lookup by id on every route was a
  // twentieth of route + report.
  #bySlot: (Endpoint | undefined)[] = [];
  readonly #setEligible = (id: string, eligible: boolean) => void this.#bounded.setEligible(id, eligible);
  readonly standing = new Standing(this.#setEligible);

  constructor(endpoints: readonly Endpoint[], s: RingHashSettings) {
    this.#byId = new Map(endpoints.map((e) => [e.id, e]));
    this.#unit = s.unit;
    this.#settings = s;
    [this.#ring, this.#bounded] = this.#build(endpoints);
  }

  /** The ring (rebuilt, not patched, in the 'envoy' mode). */
  get ring(): HashRing {
    return this.#ring;
  }

  // Ring weight = capacity / unit; the bounds use the capacities themselves. Envoy's ring depends
  // on its hosts' order: endpoints go in by id, so that every router builds the same ring.
  #build(endpoints: readonly Endpoint[]): [HashRing, BoundedLoad] {
    const s = this.#settings;
    const list = s.hash === 'envoy' ? [...endpoints].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : endpoints;
    const ring = new HashRing({ vnodes: s.vnodes, hash: s.hash, engine: s.engine, ...(s.hash === 'envoy' ? { minRingSize: s.minRingSize ?? 1024, maxRingSize: s.maxRingSize ?? 8_388_608 } : {}) }).addMany(list.map((e) => [e.id, { weight: e.capacity / s.unit }] as const));
    const bounded = new BoundedLoad(ring, { c: s.boundedLoad });
    for (const e of endpoints) bounded.setCapacity(e.id, e.capacity).setLimit(e.id, e.maxInflight);
    return [ring, bounded];
  }

  // The 'envoy' mode after a membership change: a new ring of every endpoint in id order, loads carried over.
  #rebuild(): void {
    const loads = this.#ring.nodes().map((id) => [id, this.#bounded.load(id)] as const);
    this.#bounded.dispose();
    this.#ring.dispose();
    [this.#ring, this.#bounded] = this.#build([...this.#byId.values()]);
    for (const [id, load] of loads) if (load > 0 && this.#byId.has(id)) this.#bounded.add(id, load);
    this.standing.reapply();
  }

  pick(key: string | undefined, cost: number, allowed?: (e: Endpoint) => boolean): Pick | undefined {
    if (key === undefined) throw new WasmeshError('INVALID_KEY', 'a ring-hash service routes by key: route() needs request.key');
    // Most requests exclude nothing: one engine call, no closures (the filtered path in a method
    // of its own: a closure here would make every call allocate a context for what it captures).
    return allowed ? this.#pickAllowed(key, cost, allowed) : this.#acquire(key, cost, undefined);
  }

  #pickAllowed(key: string, cost: number, allowed: (e: Endpoint) => boolean): Pick | undefined {
    const excluded = [...this.#byId.values()].filter((e) => !this.standing.has(e.id) && !allowed(e)).map((e) => e.id);
    return excluding(excluded, this.#setEligible, () => this.#acquire(key, cost, excluded));
  }

  #acquire(key: string, cost: number, excluded: readonly string[] | undefined): Pick | undefined {
    const bounded = this.#bounded;
    const slot = bounded.acquireSlot(key, cost);
    if (slot < 0) return undefined;
    let endpoint = this.#bySlot[slot];
    if (endpoint === undefined) this.#bySlot[slot] = endpoint = this.#byId.get(this.#ring.nodeAt(slot)!)!;
    if (slot !== bounded.ownerSlot) return this.#passedOn(slot, endpoint, cost, excluded);
    // The common answer reuses one object: the mesh reads a pick before the next one.
    this.#owned.endpoint = endpoint;
    this.#owned.slot = slot;
    return this.#owned;
  }

  // A key its owner did not take, and why (a method of its own: route() inlines the owner's case).
  #passedOn(slot: number, endpoint: Endpoint, cost: number, excluded: readonly string[] | undefined): Pick {
    const bounded = this.#bounded;
    const owner = this.#ring.nodeAt(bounded.ownerSlot)!;
    const out = this.standing.reasons(owner);
    const reason =
      out & kEjected ? `ring: owner ${owner} is ejected`
      : out & kFull ? `ring: owner ${owner} has its maximum of requests in flight`
      : excluded?.includes(owner) ? `ring: owner ${owner} does not meet the requirements`
      : bounded.load(owner) + cost > this.#byId.get(owner)!.maxInflight ? `admission: owner ${owner} is at its in-flight limit`
      : `bounded load: owner ${owner} is at its bound`;
    return { endpoint, reason, slot };
  }

  release(id: string, cost: number, slot?: number): void {
    // The slot still holding the node: no lookup by id.
    if (slot !== undefined && this.#ring.nodeAt(slot) === id) this.#bounded.releaseSlot(slot, cost);
    else this.#bounded.release(id, cost);
  }

  load(id: string): number {
    return this.#bounded.load(id);
  }

  carry(id: string, cost: number): void {
    if (cost > 0) this.#bounded.add(id, cost);
  }

  upsert(e: Endpoint): void {
    this.#bySlot = [];
    if (this.#settings.hash === 'envoy') {
      this.#byId.set(e.id, e);
      return this.#rebuild();
    }
    // A weight change is a remove and an add: the node takes its freed slot back, so the
    // in-flight cost BoundedLoad keeps by slot stays with it.
    const load = this.#byId.has(e.id) ? this.#bounded.load(e.id) : 0;
    if (this.#byId.has(e.id)) this.ring.remove(e.id);
    this.ring.add(e.id, { weight: e.capacity / this.#unit });
    this.#byId.set(e.id, e);
    this.#bounded.setCapacity(e.id, e.capacity).setLimit(e.id, e.maxInflight);
    const now = this.#bounded.load(e.id);
    if (now < load) this.#bounded.add(e.id, load - now);
    else if (now > load) this.#bounded.release(e.id, now - load);
  }

  remove(id: string): void {
    this.#bySlot = [];
    this.standing.forget(id);
    if (this.#settings.hash === 'envoy') {
      this.#byId.delete(id);
      return this.#rebuild();
    }
    // Its load goes with it: a node added later in the freed slot starts from none.
    const load = this.#bounded.load(id);
    if (load > 0) this.#bounded.release(id, load);
    this.ring.remove(id);
    this.#byId.delete(id);
  }

  dispose(): void {
    this.#bounded.dispose();
    this.ring.dispose();
  }
}

/** A backend's own account of its load (like gRPC's ORCA reports). */
export interface LoadReport {
  /** Busy fraction, 0..1 (or more when oversubscribed): GPU or CPU utilization. With qps, an swrr service's weight; a report needs both, or an engine field. */
  utilization?: number;
  /** Requests per second it served. */
  qps?: number;
  /** Errors per second. Default 0. */
  eps?: number;
  /** Requests waiting in its own queue (vllm:num_requests_waiting): the queue scorer of prefix-cache services. */
  queueLength?: number;
  /** Share of its KV cache in use, 0 to 1 (vllm:kv_cache_usage_perc): the KV scorer, and ttft's KV-pressure penalty. */
  kvUsage?: number;
  /** Requests it is running now (vllm:num_requests_running). */
  running?: number;
  /** LoRA adapters running and waiting, and the most it holds at once (vllm:lora_requests_info): the LoRA affinity filter. */
  adapters?: { running: readonly string[]; waiting: readonly string[]; max: number };
}

/** How load reports become weights (gRPC's weighted_round_robin settings, same defaults). */
export interface WeightSettings {
  /** A newly reporting endpoint's weight is used only after this long. Default 10 s. */
  blackoutMs: number;
  /** A weight without a report for this long is stale. Default 180 s. */
  expiryMs: number;
  /** Weights are recomputed at most this often. Default 1 s. */
  updateMs: number;
  /** Multiplier of eps / qps added to utilization. Default 1. */
  errorPenalty: number;
}

export const kDefaultWeightSettings: WeightSettings = Object.freeze({ blackoutMs: 10_000, expiryMs: 180_000, updateMs: 1_000, errorPenalty: 1 });

/** Slow start (Envoy's): weight x max(minWeightPercent / 100, (elapsed / windowMs) ^ (1 / aggression)). */
export interface SlowStartSettings {
  /** Ramp length; 0 turns slow start off. Default 30 s. */
  windowMs: number;
  /** 1 ramps linearly; more is faster at first. Default 1. */
  aggression: number;
  /** The weight starts at this share. Default 10. */
  minWeightPercent: number;
}

export const kDefaultSlowStart: SlowStartSettings = Object.freeze({ windowMs: 30_000, aggression: 1, minWeightPercent: 10 });

/** The slow-start factor of an endpoint `elapsed` ms into its window. */
export function slowStartFactor(elapsed: number, s: SlowStartSettings): number {
  if (s.windowMs <= 0 || elapsed >= s.windowMs) return 1;
  const time = Math.max(elapsed, 1) / s.windowMs;
  return Math.max(s.minWeightPercent / 100, time ** (1 / s.aggression));
}

interface Reported {
  since: number;
  last: number;
  report: LoadReport;
}

/**
 * Stateless requests spread by nginx's smooth weighted round robin. Weights start at the
 * endpoints' capacities; once endpoints report their load, each weight is
 * qps / (utilization + errorPenalty * eps / qps), as in gRPC's weighted round robin (A58), with
 * its blackout and expiry; endpoints without a valid weight take the mean of the valid ones.
 */
export class SwrrBalancer extends CountsBySlot implements Balancer {
  readonly policy = 'swrr';
  readonly wrr: SmoothWrr;
  readonly #byId: Map<string, Endpoint>;
  #limited: boolean;
  readonly #reports = new Map<string, Reported>();
  readonly #settings: WeightSettings;
  readonly #slow: SlowStartSettings;
  // Endpoints in slow start, and when it began.
  readonly #starting = new Map<string, number>();
  #updated = -Infinity;
  // Endpoints by the round robin's slots (insertion positions), beside their in-flight cost
  // (this.loads); both rebuilt when a peer joins or leaves.
  #bySlot: Endpoint[] = [];
  // Reused: the mesh reads a pick before the next one.
  readonly #picked: Pick = { endpoint: undefined!, reason: 'smooth weighted round robin by capacity', slot: -1 };
  readonly #setEligible = (id: string, eligible: boolean) => void this.wrr.setEligible(id, eligible);
  readonly standing = new Standing(this.#setEligible);
  // Reused by pick: the ids a request excludes.
  readonly #excluded: string[] = [];

  constructor(endpoints: readonly Endpoint[], engine: EngineName, settings: WeightSettings = kDefaultWeightSettings, slow: SlowStartSettings = kDefaultSlowStart) {
    super();
    this.#byId = new Map(endpoints.map((e) => [e.id, e]));
    this.#settings = settings;
    this.#slow = slow;
    this.#limited = anyLimit(endpoints);
    this.wrr = new SmoothWrr({ engine });
    for (const e of endpoints) this.wrr.set(e.id, e.capacity);
    this.#reslot();
  }

  #reslot(): void {
    const ids = this.wrr.nodes();
    this.#bySlot = ids.map((id) => this.#byId.get(id)!);
    this.loads.reslot(ids);
    this.loads.limitBy(this.#limited ? Float64Array.from(this.#bySlot, (e) => e.maxInflight) : undefined);
  }

  /** Records a load report; weights follow at the next update. */
  reportLoad(id: string, report: LoadReport, now: number): void {
    const prev = this.#reports.get(id);
    // A report after an expired one starts a new blackout.
    const since = prev && now - prev.last < this.#settings.expiryMs ? prev.since : now;
    this.#reports.set(id, { since, last: now, report });
  }

  /** Puts an endpoint (new, or back from ejection) in slow start from `now`; weights follow now. */
  slowStart(id: string, now: number): void {
    if (!this.#byId.has(id) || this.#slow.windowMs <= 0) return;
    this.#starting.set(id, now);
    this.#updated = -Infinity;
    this.update(now);
  }

  /** Whether weights may change with time (load reports, endpoints in slow start): else update() needs no clock. */
  get timed(): boolean {
    return this.#reports.size > 0 || this.#starting.size > 0;
  }

  /** Recomputes the weights from the reports and slow start, at most once per updateMs. */
  update(now: number): void {
    if (now - this.#updated < this.#settings.updateMs) return;
    this.#updated = now;
    const factor = (id: string) => {
      const since = this.#starting.get(id);
      if (since === undefined) return 1;
      const f = slowStartFactor(now - since, this.#slow);
      if (f === 1) this.#starting.delete(id);
      return f;
    };
    const { blackoutMs, expiryMs, errorPenalty } = this.#settings;
    const valid = new Map<string, number>();
    for (const id of this.#byId.keys()) {
      const r = this.#reports.get(id);
      if (!r || now - r.last >= expiryMs || now - r.since < blackoutMs) continue;
      const { qps = 0, utilization = 0, eps = 0 } = r.report;
      if (qps <= 0 || utilization <= 0) continue;
      valid.set(id, qps / (utilization + (errorPenalty * eps) / qps));
    }
    const mean = valid.size ? [...valid.values()].reduce((a, b) => a + b, 0) / valid.size : 0;
    for (const e of this.#byId.values()) {
      const base = valid.size ? valid.get(e.id) ?? mean : e.capacity;
      const w = clampWeight(base * factor(e.id));
      if (this.wrr.weightOf(e.id) !== w) this.wrr.set(e.id, w);
    }
  }

  pick(_key: string | undefined, cost: number, allowed?: (e: Endpoint) => boolean): Pick | undefined {
    // NOTE: with nothing to exclude no endpoint is touched, so the round robin keeps its cycle.
    return !allowed && (!this.#limited || this.loads.fits(cost)) ? this.#next(cost) : this.#pickScanning(cost, allowed);
  }

  // The endpoints this request may not go to, by slot over the loads array (a load read by id for
  // each endpoint was most of a limited service's route), less those out already; the least room
  // among them all settles the loads' bound. A method of its own, so that route() inlines pick.
  #pickScanning(cost: number, allowed: ((e: Endpoint) => boolean) | undefined): Pick | undefined {
    const out = this.#excluded;
    out.length = 0;
    const loads = this.loads.bySlot, bySlot = this.#bySlot, standing = this.standing;
    let room = Infinity;
    for (let slot = 0; slot < bySlot.length; slot++) {
      const e = bySlot[slot]!;
      room = Math.min(room, roomUnder(e.maxInflight, loads[slot]!));
      if ((loads[slot]! + cost > e.maxInflight || (allowed !== undefined && !allowed(e))) && !standing.has(e.id)) out.push(e.id);
    }
    if (this.#limited) this.loads.settle(room);
    return out.length === 0 ? this.#next(cost) : this.#nextExcluding(out, cost);
  }

  // A method of its own: a closure in pick would make every pick allocate a context for `cost`.
  #nextExcluding(out: readonly string[], cost: number): Pick | undefined {
    return excluding(out, this.#setEligible, () => this.#next(cost));
  }

  #next(cost: number): Pick | undefined {
    const slot = this.wrr.pickSlot();
    if (slot < 0) return undefined;
    this.loads.add(slot, cost);
    const picked = this.#picked;
    picked.endpoint = this.#bySlot[slot]!;
    picked.slot = slot;
    return picked;
  }

  upsert(e: Endpoint): void {
    this.#byId.set(e.id, e);
    this.#limited = anyLimit(this.#byId.values());
    this.wrr.set(e.id, e.capacity);
    this.#reslot();
  }

  remove(id: string): void {
    this.standing.forget(id);
    this.#byId.delete(id);
    this.#limited = anyLimit(this.#byId.values());
    this.#reports.delete(id);
    this.#starting.delete(id);
    this.wrr.remove(id);
    this.#reslot();
  }

  dispose(): void {
    this.wrr.dispose();
  }
}

/**
 * Power of two choices: two distinct endpoints drawn at random, the one with the lower
 * in-flight cost per capacity unit wins (Mitzenmacher; Envoy's least-request with choice 2).
 */
class TwoChoices implements DeferredReason {
  constructor(
    readonly chosen: Endpoint,
    readonly chosenScore: number,
    readonly other: Endpoint,
    readonly otherScore: number,
  ) {}

  format(): string {
    return `power of two choices: ${this.chosen.id} (${this.chosenScore.toPrecision(3)}) over ${this.other.id} (${this.otherScore.toPrecision(3)}) load per capacity`;
  }
}

export class P2cBalancer extends CountsBySlot implements Balancer {
  readonly policy = 'p2c';
  #endpoints: Endpoint[];
  // In-flight cost (this.loads) by position in #endpoints: a pick scores its two candidates by
  // position (the map reads by id were a fifth of a p2c route + report).
  readonly #random: Random;
  #limited = false;
  // Reused: the mesh reads a pick before the next one.
  readonly #picked: Pick = { endpoint: undefined!, reason: '', slot: -1 };

  readonly #clock: () => number;
  /**
   * The service's engine reports, set by the mesh when the balancer goes into service: a fresh
   * report's waiting and running requests count the load other routers sent too.
   */
  engines: EngineReports | undefined;
  // The positions of the endpoints not out (standing), ascending, in #open[0, #openCount): one
  // taken out or put back in place when it goes out or comes back (an endpoint at its request
  // limit does at nearly every route and report), so that a pick draws from them as from the
  // whole list.
  #open = new Int32Array(0);
  #openCount = 0;
  #positionOf = new Map<string, number>();
  readonly standing = new Standing((id, eligible) => this.#toggle(id, eligible));
  // Reused by pick: the candidates of a filtered request.
  #pool = new Int32Array(0);
  // maxInflight by position, beside the loads: a limited service's pick reads both for every endpoint.
  #limits = new Float64Array(0);

  constructor(endpoints: readonly Endpoint[], random: Random, clock: () => number) {
    super();
    this.#endpoints = [...endpoints];
    this.loads.reslot(this.#endpoints.map((e) => e.id));
    this.#random = random;
    this.#clock = clock;
    this.#relist();
  }

  // After a change of the endpoints: their limits by position, room for a pool, the open ones.
  #relist(): void {
    this.#limited = anyLimit(this.#endpoints);
    this.#pool = new Int32Array(this.#endpoints.length);
    this.#limits = Float64Array.from(this.#endpoints, (e) => e.maxInflight);
    this.loads.limitBy(this.#limited ? this.#limits : undefined);
    this.#positionOf = new Map(this.#endpoints.map((e, i) => [e.id, i]));
    this.#open = new Int32Array(this.#endpoints.length);
    this.#openCount = 0;
    this.#endpoints.forEach((e, i) => this.standing.has(e.id) || (this.#open[this.#openCount++] = i));
  }

  #toggle(id: string, eligible: boolean): void {
    const at = this.#positionOf.get(id);
    if (at === undefined) return;
    const open = this.#open, count = this.#openCount;
    let lo = 0, hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (open[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    const listed = lo < count && open[lo] === at;
    if (eligible && !listed) {
      open.copyWithin(lo + 1, lo, count);
      open[lo] = at;
      this.#openCount++;
      // Its room may be less than the bound the picks read (settled over the open ones).
      this.loads.lower(at);
    } else if (!eligible && listed) {
      open.copyWithin(lo, lo + 1, count);
      this.#openCount--;
    }
  }

  pick(_key: string | undefined, cost: number, allowed?: (e: Endpoint) => boolean): Pick | undefined {
    const all = this.#endpoints, loads = this.loads.bySlot;
    // Positions of the candidates, listed only when some are filtered out.
    let pool: Int32Array | undefined;
    let n = all.length;
    const open = this.standing.size > 0 ? this.#open : undefined;
    if (allowed || (this.#limited && !this.loads.fits(cost))) {
      pool = this.#pool;
      n = 0;
      const m = open ? this.#openCount : all.length, limits = this.#limits;
      // The least room among the candidates settles the loads' bound (an endpoint coming back
      // in lowers it again: #toggle).
      let room = Infinity;
      for (let k = 0; k < m; k++) {
        const i = open ? open[k]! : k;
        room = Math.min(room, roomUnder(limits[i]!, loads[i]!));
        if (loads[i]! + cost <= limits[i]! && (!allowed || allowed(all[i]!))) pool[n++] = i;
      }
      if (this.#limited) this.loads.settle(room);
    } else if (open) {
      pool = open;
      n = this.#openCount;
    }
    if (n === 0) return undefined;
    const pa = Math.floor(this.#random() * n);
    const ia = pool ? pool[pa]! : pa;
    const a = all[ia]!;
    let chosen = ia;
    let reason: string | DeferredReason = 'power of two choices: only one candidate';
    if (n > 1) {
      let j = Math.floor(this.#random() * (n - 1));
      if (j === pa) j = n - 1;
      const ib = pool ? pool[j]! : j;
      const b = all[ib]!;
      // Engines' own counts only once one has reported (a clock read, then a map read each).
      const engines = this.engines?.reported ? this.engines : undefined;
      const now = engines ? this.#clock() : 0;
      const sa = this.#score(ia, cost, engines, now), sb = this.#score(ib, cost, engines, now);
      chosen = sb < sa ? ib : ia;
      reason = chosen === ia ? new TwoChoices(a, sa, b, sb) : new TwoChoices(b, sb, a, sa);
    }
    this.loads.add(chosen, cost);
    const picked = this.#picked;
    picked.endpoint = all[chosen]!;
    picked.reason = reason;
    picked.slot = chosen;
    return picked;
  }

  // The engine's own count when it reported (it sees every router's requests), else this router's in flight.
  #score(i: number, cost: number, engines: EngineReports | undefined, now: number): number {
    const e = this.#endpoints[i]!;
    return (Math.max(this.loads.bySlot[i]!, engines?.queued(e.id, now) ?? 0) + cost) / e.capacity;
  }

  upsert(e: Endpoint): void {
    const at = this.#endpoints.findIndex((x) => x.id === e.id);
    if (at >= 0) this.#endpoints[at] = e;
    else {
      this.#endpoints.push(e);
      this.loads.reslot(this.#endpoints.map((x) => x.id));
    }
    this.#relist();
  }

  remove(id: string): void {
    this.standing.forget(id);
    this.#endpoints = this.#endpoints.filter((e) => e.id !== id);
    this.loads.reslot(this.#endpoints.map((x) => x.id));
    this.#relist();
  }

  dispose(): void {}
}

/**
 * The weight unit of a service, from its config alone, so that every sidecar given the same
 * config builds the same ring whatever it saw before: the mean capacity of the endpoints the
 * config lists, rounded to a power of two (so `vnodes` means about "points of an average
 * endpoint"); for a service whose endpoints all come from discovery, the mean capacity of one
 * device of each catalog type, rounded the same way.
 */
export function capacityUnit(endpoints: readonly Endpoint[], catalog: Readonly<Record<string, AcceleratorSpec>>): number {
  const capacities = endpoints.length ? endpoints.map((e) => e.capacity) : Object.values(catalog).map((spec) => spec.capacity);
  const mean = capacities.reduce((sum, c) => sum + c, 0) / Math.max(1, capacities.length);
  return mean > 0 ? 2 ** Math.round(Math.log2(mean)) : 1;
}

/** SmoothWrr takes weights from 0.001 to 1e6 at 0.001 resolution. */
function clampWeight(w: number): number {
  return Math.min(1e6, Math.max(0.001, Math.round(w * 1000) / 1000));
}
