// A service's view of what its endpoints hold in their KV caches: a PrefixIndex (approximate: fed
// by the router's own decisions; precise: by the engines' KV events, with the router's recent
// decisions in a short-lived side index until the events confirm them). It outlives config
// snapshots, as the caches it mirrors do.
import { PrefixIndex } from '../../core/PrefixIndex.js';
import type { EngineName } from '../../core/options.js';
import type { Endpoint } from '../endpoints.js';
import { capacityBlocks, tokensPerBlock, type PrefixSettings } from './settings.js';
import { seedOf, type PromptFields } from './prompt.js';

export class PrefixTracker {
  readonly settings: PrefixSettings;
  readonly #main: PrefixIndex;
  // precise mode: the router's own decisions, for recentMs.
  readonly #recent: PrefixIndex | undefined;
  /** Blocks each slot holds of the last matched prompt; [slots] is the most. */
  matched = new Uint32Array(17);
  #recentMatched = new Uint32Array(17);
  /** Blocks of the last matched prompt. */
  blocks = 0;
  /** Tokens a block of the last matched prompt holds. */
  tokensPerBlock = 16;

  constructor(settings: PrefixSettings, engine: EngineName, clock: () => number) {
    this.settings = settings;
    const o = { blockChars: settings.blockChars, blockTokens: settings.blockTokens, engine, clock };
    this.#main = new PrefixIndex({ ...o, ttlMs: settings.ttlMs });
    this.#recent = settings.mode === 'precise' ? new PrefixIndex({ ...o, ttlMs: settings.recentMs }) : undefined;
  }

  /** Whether a tracker for `s` would be this one (else the mesh builds a new one). */
  sameAs(s: PrefixSettings): boolean {
    const a = this.settings;
    return a.mode === s.mode && a.blockChars === s.blockChars && a.blockTokens === s.blockTokens && a.ttlMs === s.ttlMs && a.recentMs === s.recentMs;
  }

  /** Follows the service's endpoints: new ones get a slot and a capacity, gone ones are forgotten. */
  setEndpoints(endpoints: Iterable<Endpoint>, settings: PrefixSettings): void {
    const keep = new Set<string>();
    for (const e of endpoints) {
      keep.add(e.id);
      const blocks = capacityBlocks(e, settings);
      this.#main.set(e.id, blocks);
      this.#recent?.set(e.id, blocks);
    }
    for (const id of this.#main.ids()) {
      if (keep.has(id)) continue;
      this.#main.delete(id);
      this.#recent?.delete(id);
    }
    const slots = this.#main.slots + 1;
    if (this.matched.length < slots) {
      this.matched = new Uint32Array(slots * 2);
      this.#recentMatched = new Uint32Array(slots * 2);
    }
  }

  slotOf(id: string): number {
    return this.#main.slotOf(id);
  }

  /** Matches a request's prompt: fills `matched` and `blocks`. False when it has none. */
  match(f: PromptFields): boolean {
    const text = typeof f.prompt === 'string';
    this.tokensPerBlock = tokensPerBlock(this.settings, text || (f.prompt === undefined && f.blocks === undefined));
    if (f.blocks === undefined && f.prompt === undefined) {
      this.blocks = 0;
      this.matched.fill(0);
      return false;
    }
    const recent = this.#recent;
    if (recent) {
      // The side index hashes; the main index matches the same chain.
      this.blocks = f.blocks ? recent.matchChainInto(f.blocks, this.#recentMatched) : recent.matchInto(f.prompt!, seedOf(f), this.#recentMatched);
      this.#main.matchChainInto(f.blocks ?? recent.matchedChain(this.blocks), this.matched);
      for (let i = 0; i <= recent.slots; i++) this.matched[i] = Math.max(this.matched[i]!, this.#recentMatched[i]!);
    } else {
      this.blocks = f.blocks ? this.#main.matchChainInto(f.blocks, this.matched) : this.#main.matchInto(f.prompt!, seedOf(f), this.matched);
    }
    return true;
  }

  /** The slot took the last matched prompt: it holds (or soon will hold) its blocks. */
  record(slot: number): void {
    if (this.blocks === 0) return;
    (this.#recent ?? this.#main).recordMatched(slot, this.blocks);
  }

  /** The low 32 bits of the last matched prompt's i-th block hash. */
  blockWord(i: number): number {
    return (this.#recent ?? this.#main).matchedWord(i);
  }

  /** The hex of the last matched prompt's first block: the cold-miss ring's key. */
  firstBlockKey(): string {
    return (this.#recent ?? this.#main).matchedChain(1)[0]!.toString(16);
  }

  /** An engine's KV event (precise mode; in approximate mode it corrects the index too). */
  observe(id: string, blocks: ArrayLike<bigint>, event: 'stored' | 'removed'): void {
    this.#main.observe(id, blocks, event);
  }

  /** The index itself, for inspection. */
  get index(): PrefixIndex {
    return this.#main;
  }

  dispose(): void {
    this.#main.dispose();
    this.#recent?.dispose();
  }
}
