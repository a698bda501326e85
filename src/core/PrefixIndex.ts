// PrefixIndex: which endpoint holds which KV blocks of which prompts, so a router can send a
// prompt where its longest prefix is already cached. It validates and maps endpoint ids to the
// slots of a PrefixTable (Wasm, or the TypeScript twin).
import { checkOptions, integerIn, type EngineName } from './options.js';
import type { Cutting, PrefixTable } from './prefix/PrefixTable.js';
import { TsPrefixTable } from './prefix/TsPrefixTable.js';
import { WasmPrefixTable } from './prefix/WasmPrefixTable.js';
import { show, WasmeshError } from './WasmeshError.js';
import { disposedTable } from './disposed.js';

/** Options of `new PrefixIndex(options)`; every field optional. */
export interface PrefixIndexOptions {
  /** A block untouched for this many milliseconds is forgotten; 0 keeps blocks until evicted. Default 0. */
  ttlMs?: number;
  /** Characters a block of a text prompt holds. Default 64 (about 16 tokens). */
  blockChars?: number;
  /** Token ids a block of a Uint32Array prompt holds. Default 16 (vLLM's block size). */
  blockTokens?: number;
  /** Most blocks of one prompt considered (longer prompts are matched on their start). Default 65536. */
  maxBlocks?: number;
  engine?: EngineName;
  /** Milliseconds now; default Date.now. */
  clock?: () => number;
}

/** What match() found: the prompt's full blocks and each endpoint's longest cached prefix of them, in blocks. */
export interface PrefixMatch {
  blocks: number;
  endpoints: Record<string, number>;
}

const kMaxTtl = 2 ** 31;
const M64 = (1n << 64n) - 1n;

/**
 * An approximate (or, fed by engine events, precise) index of the KV blocks each endpoint holds.
 * Blocks are chain hashes (promptBlocks); each endpoint keeps at most its capacity of them, least
 * recently used out first, and forgets those untouched past `ttlMs`. record() after each routing
 * decision keeps it approximately; observe() with an engine's stored/removed events keeps it exact.
 * Memory: at most 32 bytes a held block (16 MB for 16 endpoints x 31,250 blocks).
 */
export class PrefixIndex {
  readonly options: Readonly<Required<Omit<PrefixIndexOptions, 'clock'>>>;
  #table: PrefixTable;
  readonly #clock: () => number;
  readonly #start: number;
  readonly #slots = new Map<string, number>();
  readonly #ids: (string | undefined)[] = [];
  #out = new Uint32Array(65);

  constructor(options: PrefixIndexOptions = {}) {
    const o = checkOptions<PrefixIndexOptions>('PrefixIndex', options, {
      ttlMs: (v) => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= kMaxTtl ? null : `an integer from 0 to ${kMaxTtl}`),
      blockChars: integerIn(1, 1 << 20),
      blockTokens: integerIn(1, 1 << 16),
      maxBlocks: integerIn(1, 1 << 24),
      engine: (v) => (v === 'wasm' || v === 'ts' ? null : 'one of "wasm", "ts"'),
      clock: (v) => (typeof v === 'function' ? null : 'a function returning milliseconds'),
    });
    this.options = Object.freeze({ ttlMs: o.ttlMs ?? 0, blockChars: o.blockChars ?? 64, blockTokens: o.blockTokens ?? 16, maxBlocks: o.maxBlocks ?? 65_536, engine: o.engine ?? 'wasm' });
    this.#clock = o.clock ?? Date.now;
    this.#start = this.#clock();
    this.#table = this.options.engine === 'ts' ? new TsPrefixTable(this.options.ttlMs) : new WasmPrefixTable(this.options.ttlMs);
  }

  /** Milliseconds since creation, as the table's wrapping u32 stamps. */
  now(): number {
    return Math.floor(this.#clock() - this.#start) >>> 0;
  }

  /** Adds an endpoint, or changes how many blocks it holds (its least recent beyond that are dropped). */
  set(id: string, capacityBlocks: number): this {
    if (typeof id !== 'string' || id === '') throw new WasmeshError('INVALID_ID', `endpoint id must be a non-empty string, got ${show(id)}`);
    if (!Number.isInteger(capacityBlocks) || capacityBlocks < 1 || capacityBlocks > 1 << 26) {
      throw new WasmeshError('INVALID_ARGUMENT', `capacity of ${show(id)} must be an integer from 1 to ${1 << 26} blocks, got ${show(capacityBlocks)}`);
    }
    let slot = this.#slots.get(id);
    if (slot === undefined) {
      slot = this.#ids.indexOf(undefined);
      if (slot < 0) slot = this.#ids.length;
      this.#slots.set(id, slot);
      this.#ids[slot] = id;
    }
    this.#table.setCapacity(slot, capacityBlocks);
    return this;
  }

  /** Forgets an endpoint and its blocks. */
  delete(id: string): boolean {
    const slot = this.#slots.get(id);
    if (slot === undefined) return false;
    this.#table.setCapacity(slot, 0);
    this.#slots.delete(id);
    this.#ids[slot] = undefined;
    return true;
  }

  has(id: string): boolean {
    return this.#slots.has(id);
  }

  ids(): string[] {
    return [...this.#slots.keys()];
  }

  /** Blocks an endpoint holds now. */
  size(id: string): number {
    return this.#table.count(this.#slot(id), this.now());
  }

  /** The endpoint now holds these blocks (a chain, first block first): the router's own account. */
  record(id: string, blocks: ArrayLike<bigint>): void {
    const slot = this.#slot(id);
    this.#table.record(slot, this.#table.setChain(checkBlocks(blocks)), this.now());
  }

  /**
   * An engine's KV event: it stored these blocks, or removed them. Blocks removed must be the
   * tail of what it holds of a chain (engines evict leaf first), or a match may count past them.
   */
  observe(id: string, blocks: ArrayLike<bigint>, event: 'stored' | 'removed'): void {
    const slot = this.#slot(id);
    if (event !== 'stored' && event !== 'removed') throw new WasmeshError('INVALID_ARGUMENT', `event must be "stored" or "removed", got ${show(event)}`);
    const n = this.#table.setChain(checkBlocks(blocks));
    if (event === 'stored') this.#table.record(slot, n, this.now());
    else this.#table.remove(slot, n);
  }

  /** Each endpoint's longest cached prefix of a prompt (text, token ids, or its block chain), in blocks. */
  match(prompt: string | Uint32Array | BigUint64Array | readonly bigint[], options: { seed?: bigint } = {}): PrefixMatch {
    const seed = options.seed ?? 0n;
    if (typeof seed !== 'bigint' || seed < 0n || seed > M64) throw new WasmeshError('INVALID_ARGUMENT', `seed must be a bigint from 0 to 2^64 - 1, got ${show(seed)}`);
    const out = this.#outFor(this.#ids.length);
    const blocks = typeof prompt === 'string' || prompt instanceof Uint32Array ? this.matchInto(prompt, seed, out) : this.matchChainInto(prompt, out);
    return { blocks, endpoints: Object.fromEntries([...this.#slots].map(([id, slot]) => [id, out[slot]!])) };
  }

  // The mesh's path: no validation beyond the prompt's type, no allocation.

  /** Slot of an endpoint (its index in matchInto's output). */
  slotOf(id: string): number {
    return this.#slot(id);
  }

  /** Slots in use or freed (the length matchInto fills). */
  get slots(): number {
    return this.#ids.length;
  }

  /**
   * Hashes a prompt into the current chain and matches it: out[slot] = blocks the slot holds,
   * out[slots] = the most any holds. Returns the chain's length. One call into the core.
   */
  matchInto(prompt: string | Uint32Array, seed: bigint, out: Uint32Array): number {
    if (typeof prompt !== 'string' && !(prompt instanceof Uint32Array)) throw new WasmeshError('INVALID_ARGUMENT', `prompt must be a string or a Uint32Array of token ids, got ${show(prompt)}`);
    return this.#table.hashAndMatch(prompt, this.options as Cutting, seed, this.options.maxBlocks, this.now(), out, this.#ids.length);
  }

  /** matchInto() for a chain already hashed (promptBlocks, or an engine's own block hashes). */
  matchChainInto(blocks: ArrayLike<bigint>, out: Uint32Array): number {
    const n = this.#table.setChain(checkBlocks(blocks));
    out[this.#ids.length] = this.#table.match(n, this.now(), out, this.#ids.length);
    return n;
  }

  /** The slot now holds the first `n` blocks of the chain the last match hashed. */
  recordMatched(slot: number, n: number): void {
    this.#table.record(slot, n, this.now());
  }

  /** The low 32 bits of the i-th hash of the chain the last match hashed. */
  matchedWord(i: number): number {
    return this.#table.word(i);
  }

  /** The first `n` hashes of the chain the last match hashed. */
  matchedChain(n: number): BigUint64Array {
    return this.#table.chain(n);
  }

  /** Bytes the index takes: exact for the Wasm engine (its tables in the core's memory), estimated for the twin. */
  memoryBytes(): number {
    return this.#table.bytes();
  }

  dispose(): void {
    this.#table.dispose();
    this.#table = disposedTable('PrefixIndex');
  }

  #outFor(slots: number): Uint32Array {
    if (this.#out.length < slots + 1) this.#out = new Uint32Array(slots * 2 + 1);
    return this.#out;
  }

  #slot(id: string): number {
    const slot = this.#slots.get(id);
    if (slot === undefined) throw new WasmeshError('UNKNOWN_NODE', `prefix index has no endpoint ${show(id)}; endpoints: ${this.ids().map(show).join(', ') || 'none'}`);
    return slot;
  }
}

function checkBlocks(blocks: ArrayLike<bigint>): ArrayLike<bigint> {
  if (blocks instanceof BigUint64Array) return blocks;
  if (!Array.isArray(blocks) || blocks.some((b) => typeof b !== 'bigint' || b < 0n || b > M64)) {
    throw new WasmeshError('INVALID_ARGUMENT', `blocks must be a BigUint64Array or an array of bigints from 0 to 2^64 - 1 (promptBlocks' output), got ${show(blocks)}`);
  }
  return blocks;
}
