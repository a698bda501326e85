// Maglev: a consistent-hash lookup table (Eisenbud et al., NSDI 2016) built exactly as Envoy's
// weighted `maglev` load balancer builds it, so that a wasmesh sidecar and an Envoy in front of
// the same endpoints send a key to the same one. It validates, keeps the ids and their slots, and
// forwards to a MaglevTable engine (Wasm, or the TypeScript twin).
import { checkKey, checkKeyArray, encoder } from './keys.js';
import type { MaglevNode, MaglevTable } from './maglev/MaglevTable.js';
import { TsMaglevTable } from './maglev/TsMaglevTable.js';
import { WasmMaglevTable } from './maglev/WasmMaglevTable.js';
import { checkOptions, type EngineName } from './options.js';
import { xxh64 } from './prefixHash.js';
import { NodeSlots } from './nodeSlots.js';
import { show, WasmeshError } from './WasmeshError.js';
import { disposedTable } from './disposed.js';

/** Options of `new Maglev(options)`; every field optional. */
export interface MaglevOptions {
  /** Table entries, a prime from 7 to 16,777,213 (Envoy's default 65537). More entries, finer weights; a lookup costs the same. */
  tableSize?: number;
  engine?: EngineName;
}

const kMaxTable = 16_777_213;

/** Whether n is prime (trial division: table sizes are checked once). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

let out = new Int32Array(1024);
const outFor = (n: number) => (out.length >= n ? out : (out = new Int32Array(Math.max(n, out.length * 2))));

/**
 * The Maglev table: each node takes entries in proportion to its weight, a key goes to
 * table[xxHash64(key) % tableSize] (one Wasm lookup, no search), and a membership change moves
 * little more than the share it must. The table does not depend on the order nodes were added
 * in: they are placed in their ids' byte order, as Envoy sorts its hosts.
 *
 * ```ts
 * const maglev = new Maglev({ tableSize: 65537 });
 * maglev.add('10.0.0.1:8000', { weight: 2 }).add('10.0.0.2:8000');
 * maglev.get('session-42'); // the same endpoint Envoy's maglev picks for this hash key
 * ```
 */
export class Maglev {
  readonly options: Readonly<Required<MaglevOptions>>;
  #table: MaglevTable;
  readonly #nodes = new NodeSlots();
  #version = 0;

  constructor(options: MaglevOptions = {}) {
    const o = checkOptions<MaglevOptions>('Maglev', options, {
      tableSize: (v) => (typeof v === 'number' && isPrime(v) && v >= 7 && v <= kMaxTable ? null : `a prime from 7 to ${kMaxTable}`),
      engine: (v) => (v === 'wasm' || v === 'ts' ? null : 'one of "wasm", "ts"'),
    });
    this.options = Object.freeze({ tableSize: o.tableSize ?? 65537, engine: o.engine ?? 'wasm' });
    this.#table = this.options.engine === 'ts' ? new TsMaglevTable() : new WasmMaglevTable();
    // An empty table is all -1; it is built with the first nodes.
    this.#table.build([], this.options.tableSize, 0);
  }

  /** Counts membership changes. */
  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#nodes.size;
  }

  nodes(): string[] {
    return this.#nodes.nodes();
  }

  has(id: string): boolean {
    return this.#nodes.has(id);
  }

  weightOf(id: string): number | undefined {
    return this.#nodes.weightOf(id);
  }

  /** The id at a slot (what the slot lookups return), or undefined. */
  nodeAt(slot: number): string | undefined {
    return this.#nodes.nodeAt(slot);
  }

  slotOf(id: string): number | undefined {
    return this.#nodes.slotOf(id);
  }

  /** Adds a node (its id is its Envoy hash key: the host's address, hostname or metadata hash_key). */
  add(id: string, options: { weight?: number } = {}): this {
    return this.addMany([[id, options]]);
  }

  /** Adds nodes and rebuilds once. All or nothing: a bad entry adds none. */
  addMany(entries: Iterable<string | readonly [string, { weight?: number }?]>): this {
    const list = [...entries].map((e) => (typeof e === 'string' ? ([e, {}] as const) : e));
    const seen = new Set<string>();
    for (const [id, o] of list) {
      if (typeof id !== 'string' || id === '' || encoder.encode(id).length > 1024) throw new WasmeshError('INVALID_ID', `node id must be a non-empty string of at most 1024 UTF-8 bytes, got ${show(id)}`);
      if (this.#nodes.has(id) || seen.has(id)) throw new WasmeshError('DUPLICATE_NODE', `node ${show(id)} is already present`);
      const w = o?.weight ?? 1;
      if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) throw new WasmeshError('INVALID_WEIGHT', `weight of ${show(id)} must be a finite number > 0, got ${show(w)}`);
      seen.add(id);
    }
    for (const [id, o] of list) this.#nodes.claim(id, o?.weight ?? 1);
    this.#build();
    return this;
  }

  /** Removes a node; false when absent. */
  remove(id: string): boolean {
    if (!this.#nodes.has(id)) return false;
    this.#nodes.release(id);
    this.#build();
    return true;
  }

  /** Changes a node's weight (a rebuild). */
  setWeight(id: string, weight: number): this {
    if (!this.#nodes.has(id)) throw new WasmeshError('UNKNOWN_NODE', `no node ${show(id)}`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) throw new WasmeshError('INVALID_WEIGHT', `weight of ${show(id)} must be a finite number > 0, got ${show(weight)}`);
    this.#nodes.setWeight(id, weight);
    this.#build();
    return this;
  }

  /** The node of a key, or undefined when the table is empty. */
  get(key: string): string | undefined {
    checkKey(key);
    return this.#nodes.nodeAt(this.#table.lookupKey(key));
  }

  getBatch(keys: readonly string[]): (string | undefined)[] {
    checkKeyArray(keys);
    const slots = outFor(keys.length);
    this.#table.lookupKeys(keys, slots);
    return Array.from(slots.subarray(0, keys.length), (s) => this.#nodes.nodeAt(s));
  }

  /** Slots of keys (map with nodeAt; -1 when empty), into `into` when given. */
  getSlots(keys: readonly string[], into?: Int32Array): Int32Array {
    checkKeyArray(keys);
    const o = into ?? new Int32Array(keys.length);
    if (o.length < keys.length) throw new WasmeshError('INVALID_ARGUMENT', `out holds ${o.length} slots, ${keys.length} keys given`);
    this.#table.lookupKeys(keys, o);
    return o;
  }

  /** Slots of pre-hashed keys (hashKey values, as Envoy's hash policies compute them). */
  getSlotsHashed(hashes: BigUint64Array, into?: Int32Array): Int32Array {
    if (!(hashes instanceof BigUint64Array)) throw new WasmeshError('INVALID_ARGUMENT', `hashes must be a BigUint64Array, got ${show(hashes)}`);
    const o = into ?? new Int32Array(hashes.length);
    if (o.length < hashes.length) throw new WasmeshError('INVALID_ARGUMENT', `out holds ${o.length} slots, ${hashes.length} hashes given`);
    this.#table.lookupHashed(hashes, o);
    return o;
  }

  /** The table index of a key (xxHash64(key) % tableSize): where a lookup reads, and a bounded walk starts. */
  indexOf(key: string): number {
    checkKey(key);
    return this.#table.indexOf(key);
  }

  /** xxHash64 of a key: where Envoy's header, cookie and source-IP hash policies put it. */
  hashKey(key: string): bigint {
    checkKey(key);
    return xxh64(encoder.encode(key));
  }

  /** The table: the id at each entry, by index. */
  table(): (string | undefined)[] {
    return Array.from(this.#table.slots(), (s) => this.#nodes.nodeAt(s));
  }

  /** The slot at each entry (a copy): compare two versions with movedEntries(). */
  slots(): Int32Array {
    return this.#table.slots();
  }

  /** Each node's share of the table's entries. */
  shares(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const s of this.#table.slots()) {
      const id = this.#nodes.nodeAt(s);
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return new Map([...counts].map(([id, c]) => [id, c / this.options.tableSize]));
  }

  dispose(): void {
    this.#table.dispose();
    this.#table = disposedTable('Maglev');
  }

  // Nodes in their ids' byte order, weights normalized over their sum, as Envoy builds.
  #build(): void {
    const nodes: MaglevNode[] = this.#nodes.entries().map(([id, weight]) => ({ slot: this.#nodes.slotOf(id)!, bytes: encoder.encode(id), weight }));
    nodes.sort((a, b) => compareBytes(a.bytes, b.bytes));
    let sum = 0;
    for (const n of nodes) sum += n.weight;
    let max = 0;
    for (const n of nodes) {
      n.weight /= sum;
      max = Math.max(max, n.weight);
    }
    this.#table.build(nodes, this.options.tableSize, max);
    this.#version++;
  }
}

/** Byte order (memcmp, then length), as std::string_view compares. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The share of entries whose node changed between two tables of the same size (by id). */
export function movedEntries(before: (string | undefined)[], after: (string | undefined)[]): number {
  let moved = 0;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) moved++;
  return before.length ? moved / before.length : 0;
}
