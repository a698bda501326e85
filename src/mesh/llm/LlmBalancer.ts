// The balancer of the LLM policies (prefix-cache, ttft): a request's path is a short pipeline.
//   match   the prompt's blocks against every endpoint's cache (PrefixTracker; one Wasm call)
//   filter  the endpoints that may take it (requirements, health, avoid: `allowed`; room: maxInflight)
//   score   what each candidate offers (cached blocks, load, engine reports, predicted TTFT)
//   decide  prefixCache.ts, weighted.ts or ttftPick.ts; a cold miss goes to the bounded-load ring
//   record  the pick holds the prompt's blocks now (approximate index), and its backlog grows
// In-flight cost is kept by the ring's bounded-load table, whichever way a request was placed, so
// the ring's bounds see all of it.
import type { EngineName } from '../../core/options.js';
import type { Balancer, Pick, Policy } from '../balancers.js';
import { RingHashBalancer } from '../balancers.js';
import type { Endpoint } from '../endpoints.js';
import type { Random } from '../random.js';
import { xxh32 } from '../../core/hash.js';
import { Candidates, type Decision, type PromptShape } from './Candidates.js';
import type { LlmState } from './LlmState.js';
import { decidePrefixCache } from './prefixCache.js';
import { promptTokens, type PromptFields } from './prompt.js';
import type { PrefixSettings, TtftSettings } from './settings.js';
import { decideTtft, kvPenalty } from './ttftPick.js';
import { decideWeighted } from './weighted.js';

/** A pick of an LLM policy, with what the route reports about it. */
export interface LlmPick extends Pick {
  /** Share of the prompt's tokens predicted cached at the endpoint picked (0 to 1). */
  cachedShare: number;
  /** The TTFT fit's input at the pick (tokens queued ahead plus uncached), for when the TTFT is reported. */
  ttftTokens: number;
  /** Predicted TTFT, ms (ttft policy). */
  predictedMs: number | undefined;
}


export interface LlmBalancerSettings {
  unit: number;
  vnodes: number;
  boundedLoad: number;
  engine: EngineName;
  prefix: PrefixSettings;
  ttft: TtftSettings;
}

const kNone: PromptFields = Object.freeze({});

export class LlmBalancer implements Balancer {
  readonly policy: Policy;
  readonly #ring: RingHashBalancer;
  readonly #byId: Map<string, Endpoint>;
  #list: Endpoint[];
  #meanCapacity = 1;
  readonly #state: LlmState;
  readonly #settings: LlmBalancerSettings;
  readonly #random: Random;
  readonly #clock: () => number;
  readonly #c = new Candidates();
  #scores = new Float64Array(16);
  readonly #shape: PromptShape = { blocks: 0, tokens: 0, tokensPerBlock: 16, divergence: 0 };
  // xxh32 of each endpoint's id, by its place in #list.
  #idHashes: number[] = [];

  constructor(policy: 'prefix-cache' | 'ttft', endpoints: readonly Endpoint[], state: LlmState, settings: LlmBalancerSettings, random: Random, clock: () => number) {
    this.policy = policy;
    this.#state = state;
    this.#settings = settings;
    this.#random = random;
    this.#clock = clock;
    this.#ring = new RingHashBalancer(endpoints, { unit: settings.unit, vnodes: settings.vnodes, hash: 'xxh32', boundedLoad: settings.boundedLoad, engine: settings.engine });
    this.#byId = new Map(endpoints.map((e) => [e.id, e]));
    this.#list = [...endpoints];
    this.#listed();
  }

  // #list changed: its id hashes and mean capacity follow.
  #listed(): void {
    this.#meanCapacity = mean(this.#list);
    this.#idHashes = this.#list.map((e) => idHash(e.id));
  }

  pick(key: string | undefined, cost: number, allowed?: (e: Endpoint) => boolean): Pick | undefined {
    return this.pickPrompt(kNone, cost, allowed, key);
  }

  /** The pipeline above, for a request with (or without) a prompt. */
  pickPrompt(f: PromptFields, cost: number, allowed: ((e: Endpoint) => boolean) | undefined, key?: string): LlmPick | undefined {
    const tracker = this.#state.tracker;
    const prompted = tracker.match(f);
    const shape = this.#shape;
    shape.blocks = tracker.blocks;
    shape.tokensPerBlock = tracker.tokensPerBlock;
    shape.tokens = promptTokens(f, tracker.tokensPerBlock);
    const c = this.#filter(cost, allowed);
    if (c.n === 0) return undefined;
    if (shape.blocks > 0) {
      let most = 0;
      for (let i = 0; i < c.n; i++) most = Math.max(most, c.matched[i]!);
      shape.divergence = tracker.blockWord(Math.min(most, shape.blocks - 1));
    }
    const now = this.#clock();
    this.#score(c, shape, now);
    const decision = this.#decide(c, shape);
    let chosen: Endpoint | undefined;
    let reason = decision.reason;
    if (decision.index >= 0) {
      chosen = c.endpoints[decision.index]!;
      this.#ring.carry(chosen.id, cost);
    } else {
      const coldKey = prompted && shape.blocks > 0 ? tracker.firstBlockKey() : key;
      const ring = coldKey === undefined ? undefined : this.#coldPick(c, coldKey, cost);
      if (ring) {
        chosen = ring.endpoint;
        reason = `${reason}: ${ring.reason}`;
      } else {
        chosen = c.endpoints[c.least(this.policy === 'ttft' ? c.ttft : c.load)]!;
        this.#ring.carry(chosen.id, cost);
        reason = `${reason}: least loaded`;
      }
    }
    const at = c.endpoints.indexOf(chosen);
    const slot = tracker.slotOf(chosen.id);
    const cachedTokens = Math.min(shape.tokens, c.matched[at]! * shape.tokensPerBlock);
    const uncached = shape.tokens - cachedTokens;
    const fit = this.#fit(chosen);
    const ttftTokens = fit.backlog(now) + uncached;
    if (prompted) tracker.record(slot);
    fit.add(uncached, now);
    return { endpoint: chosen, reason, cachedShare: shape.tokens ? cachedTokens / shape.tokens : 0, ttftTokens, predictedMs: this.policy === 'ttft' ? c.ttft[at] : undefined };
  }

  #fit(e: Endpoint) {
    return this.#state.fit(e, this.#settings.ttft);
  }

  // filter: allowed by the mesh (requirements, health, avoid) and with room for the cost, each with
  // the blocks it holds of the prompt; for ttft also not saturated (bounded load: at most
  // `boundedLoad` times its capacity's share of all in-flight tokens, this request's included),
  // unless every endpoint is.
  #filter(cost: number, allowed: ((e: Endpoint) => boolean) | undefined): Candidates {
    const c = this.#c;
    const tracker = this.#state.tracker;
    c.reset(this.#list.length);
    let total = cost, capacity = 0;
    for (let j = 0; j < this.#list.length; j++) {
      const e = this.#list[j]!;
      if (allowed && !allowed(e)) continue;
      // Its in-flight cost, read once (a lookup by id) and kept for the scores (#score scales it).
      const load = this.#ring.load(e.id);
      if (load + cost > e.maxInflight) continue;
      c.idHash[c.n] = this.#idHashes[j]!;
      c.matched[c.n] = tracker.matched[tracker.slotOf(e.id)]!;
      c.load[c.n] = load;
      c.endpoints[c.n++] = e;
      total += load;
      capacity += e.capacity;
    }
    if (this.policy === 'ttft' && c.n > 1) {
      const bound = (this.#settings.boundedLoad * total) / capacity;
      let kept = 0;
      for (let i = 0; i < c.n; i++) {
        if (c.load[i]! + cost > bound * c.endpoints[i]!.capacity) continue;
        c.idHash[kept] = c.idHash[i]!;
        c.matched[kept] = c.matched[i]!;
        c.load[kept] = c.load[i]!;
        c.endpoints[kept++] = c.endpoints[i]!;
      }
      if (kept > 0) c.n = kept;
    }
    c.endpoints.length = c.n;
    return c;
  }

  // score: how busy each candidate is (what it holds came with the filter).
  #score(c: Candidates, p: PromptShape, now: number): void {
    const ttft = this.policy === 'ttft';
    for (let i = 0; i < c.n; i++) {
      const e = c.endpoints[i]!;
      // The filter left each one's in-flight cost here.
      c.load[i] = (c.load[i]! * this.#meanCapacity) / e.capacity;
      const report = this.#state.report(e.id, now);
      c.queue[i] = report ? report.queueLength : c.load[i]!;
      c.kvUsage[i] = report ? report.kvUsage : NaN;
      if (ttft) {
        const fit = this.#fit(e);
        const uncached = Math.max(0, p.tokens - c.matched[i]! * p.tokensPerBlock);
        c.tokens[i] = fit.backlog(now) + uncached;
        c.ttft[i] = fit.predict(c.tokens[i]!) + kvPenalty(c.kvUsage[i]!, this.#settings.ttft);
      }
    }
  }

  #decide(c: Candidates, p: PromptShape): Decision {
    if (this.policy === 'ttft') return decideTtft(c, p, this.#settings.ttft, this.#random);
    if (this.#settings.prefix.scorers) {
      if (this.#scores.length < c.n) this.#scores = new Float64Array(c.n * 2);
      return decideWeighted(c, p, this.#settings.prefix, this.#scores);
    }
    return decidePrefixCache(c, p, this.#settings.prefix);
  }

  // A cold miss: where the key's ring order says, so that every router, knowing only its own
  // load, sends a new prefix to the same few endpoints. prefix-cache: the key's first candidate in
  // ring order, or its second when the first is busier by more than this request. ttft: the first
  // of its first four predicted within 25% of the best (else none: the best).
  #coldPick(c: Candidates, key: string, cost: number): Pick | undefined {
    const order = this.#ring.ring.getN(key, Math.min(this.#list.length, 4));
    let a = -1, b = -1;
    for (const id of order) {
      const i = c.endpoints.findIndex((e) => e.id === id);
      if (i < 0) continue;
      if (this.policy === 'ttft') {
        if (c.ttft[i]! > c.ttft[c.least(c.ttft)]! * 1.25) continue;
        a = i;
        break;
      }
      if (a < 0) a = i;
      else {
        b = i;
        break;
      }
    }
    if (a < 0) return undefined;
    // The second only when the first carries more than this request's size beyond it: a margin in
    // the request's own units, so routers that see a slice of the load still mostly agree.
    const i = b >= 0 && c.load[a]! - c.load[b]! > cost ? b : a;
    this.#ring.carry(c.endpoints[i]!.id, cost);
    const other = i === a ? b : a;
    const chosen = c.endpoints[i]!.id;
    return { endpoint: c.endpoints[i]!, reason: other < 0 ? `ring order on the first block: ${chosen}` : i === a ? `ring order on the first block: ${chosen} before ${c.endpoints[other]!.id}` : `ring order on the first block: ${chosen}, ${c.endpoints[other]!.id} being busier` };
  }

  release(id: string, cost: number): void {
    this.#ring.release(id, cost);
  }

  load(id: string): number {
    return this.#ring.load(id);
  }

  carry(id: string, cost: number): void {
    this.#ring.carry(id, cost);
  }

  upsert(e: Endpoint): void {
    this.#ring.upsert(e);
    this.#byId.set(e.id, e);
    this.#list = [...this.#byId.values()];
    this.#listed();
  }

  remove(id: string): void {
    this.#ring.remove(id);
    this.#byId.delete(id);
    this.#list = [...this.#byId.values()];
    this.#listed();
  }

  /** The service's prefix settings. */
  get prefix(): PrefixSettings {
    return this.#settings.prefix;
  }

  /** The cold-miss ring (inspection; the mesh's ring()). */
  get ring() {
    return this.#ring.ring;
  }

  dispose(): void {
    this.#ring.dispose();
  }
}

const encoder = new TextEncoder();
const idHash = (id: string) => {
  const bytes = encoder.encode(id);
  return xxh32(bytes, 0, bytes.length, 0);
};

const mean = (list: readonly Endpoint[]) => (list.length ? list.reduce((s, e) => s + e.capacity, 0) / list.length : 1);
