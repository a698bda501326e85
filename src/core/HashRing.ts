// HashRing: the public facade of the consistent-hash ring (a stable contract; README, "Ring
// construction"). It validates, keeps the ids, and forwards to a RingTable engine: Wasm or twin.
import { kHashModes, MODE_KETAMA, type HashMode } from './hash.js';
import { checkKey, checkKeyArray, encoder, unitsOf } from './keys.js';
import { checkRingPoints, ketamaDigests, MAX_NODE_POINTS, pointCount } from './ring/points.js';
import { HeapLoadArrays, packSpecs, type LoadArrays, type NodePoints, type RingTable } from './ring/RingTable.js';
import type { EnvoyRingTable } from './ring/EnvoyRingTable.js';
import { TsEnvoyRing } from './ring/TsEnvoyRing.js';
import { WasmEnvoyRing } from './ring/WasmEnvoyRing.js';
import { xxh64 } from './prefixHash.js';
import { NodeSlots } from './nodeSlots.js';
import { TsRingTable } from './ring/TsRingTable.js';
import { WasmRingTable } from './ring/WasmRingTable.js';
import { checkOptions, integerIn, type EngineName } from './options.js';
import { show, WasmeshError } from './WasmeshError.js';
import { disposedTable } from './disposed.js';

/** How node ids and keys are placed on the ring. */
export type HashName = 'xxh32' | 'ketama' | 'sha1' | 'envoy';

/** Options of `new HashRing(options)`; every field is optional. */
export interface HashRingOptions {
  /**
   * Points per unit of weight, an integer from 1 to 10000. Default 160; in the 'ketama' mode
   * default 40, and it means hashring's "vnode count": md5 digests per node, 4 points each.
   */
  vnodes?: number;
  /**
   * 'xxh32' (default): point i of a node at xxh32(id + '_' + i), the contract construction.
   * 'ketama': the npm hashring package's mapping, for migration (every change rebuilds, as there).
   * 'sha1': the textbook ring, sha1(id + ':' + i), top 32 bits.
   * 'envoy': Envoy's ring_hash exactly (and gRPC's, A42): 64-bit points at xxHash64(id + '_' + i),
   * as many as minRingSize / maxRingSize give; every change rebuilds, nodes in the order added.
   */
  hash?: HashName;
  /** 'envoy': Envoy's minimum_ring_size, an integer from 1 to 8388608. Default 1024. */
  minRingSize?: number;
  /** 'envoy': Envoy's maximum_ring_size, an integer from 1 to 8388608. Default 8388608. */
  maxRingSize?: number;
  /** 'wasm' (default) or 'ts', the pure-TypeScript twin; both give identical results. */
  engine?: EngineName;
}

/** HashRingOptions with every field filled in. */
export interface FilledHashRingOptions {
  readonly vnodes: number;
  readonly hash: HashName;
  readonly engine: EngineName;
  /** 'envoy' rings only. */
  readonly minRingSize?: number;
  readonly maxRingSize?: number;
}

export const kDefaultHashRingOptions: FilledHashRingOptions = Object.freeze({ vnodes: 160, hash: 'xxh32', engine: 'wasm' });
const kDefaultMinRing = 1024;
const kMaxEnvoyRing = 8_388_608;
const kKetamaVnodes = 40;

/** Options of `ring.add(id, options)`. */
/** A copy of a ring's table at one version (HashRing.snapshot). */
export interface RingSnapshot {
  /** The ring's version when taken. */
  readonly version: number;
  /** How keys are hashed onto the ring. */
  readonly hash: HashName;
  /** Point positions, ascending. */
  readonly pos: Uint32Array;
  /** The slot owning each point (map with nodeAt). */
  readonly slot: Uint32Array;
  /** One past the highest slot ever used. */
  readonly slots: number;
}

export interface NodeOptions {
  /** Relative capacity, a finite number > 0 (fractions allowed: capacity units). Default 1. */
  weight?: number;
}

const MAX_ID_BYTES = 1024;

let slotsOut = new Int32Array(1024);
function outBuffer(n: number): Int32Array {
  if (slotsOut.length < n) slotsOut = new Int32Array(Math.max(n, slotsOut.length * 2));
  return slotsOut;
}

/**
 * A consistent-hash ring with virtual nodes. Adding or removing a node moves only the keys it
 * owns; lookups are a bucket-indexed search in Wasm. README, "Ring construction", gives the
 * exact mapping, which is stable across releases.
 *
 * ```ts
 * const ring = new HashRing({ vnodes: 160 });
 * ring.add('10.0.0.1:8000', { weight: 2 }).add('10.0.0.2:8000');
 * ring.get('session-42'); // → '10.0.0.1:8000' or '10.0.0.2:8000', the same on every run
 * ```
 */
export class HashRing {
  /** The options in force, filled and frozen. */
  readonly options: FilledHashRingOptions;
  #table: RingTable;
  readonly #mode: HashMode;
  readonly #nodes = new NodeSlots();
  #version = 0;
  // 'envoy': the 64-bit ring, and its slots by point (walks read them).
  #envoy: EnvoyRingTable | undefined;
  #envoySlots: Int32Array = new Int32Array(0);
  #envoySeen = new Uint32Array(0);
  #envoyEpoch = 0;

  constructor(options: HashRingOptions = {}) {
    const o = checkOptions<HashRingOptions>('HashRing', options, {
      vnodes: integerIn(1, 10000),
      hash: (v) => (typeof v === 'string' && (v in kHashModes || v === 'envoy') ? null : 'one of "xxh32", "ketama", "sha1", "envoy"'),
      engine: (v) => (v === 'wasm' || v === 'ts' ? null : 'one of "wasm", "ts"'),
      minRingSize: integerIn(1, kMaxEnvoyRing),
      maxRingSize: integerIn(1, kMaxEnvoyRing),
    });
    const hash = o.hash ?? kDefaultHashRingOptions.hash;
    if (hash !== 'envoy' && (o.minRingSize !== undefined || o.maxRingSize !== undefined)) {
      throw new WasmeshError('INVALID_OPTION', `HashRing options.${o.minRingSize !== undefined ? 'minRingSize' : 'maxRingSize'} applies to hash "envoy" only, got hash ${show(hash)}`);
    }
    this.options = Object.freeze({
      vnodes: o.vnodes ?? (hash === 'ketama' ? kKetamaVnodes : kDefaultHashRingOptions.vnodes),
      hash,
      engine: o.engine ?? kDefaultHashRingOptions.engine,
      ...(hash === 'envoy' ? { minRingSize: o.minRingSize ?? kDefaultMinRing, maxRingSize: o.maxRingSize ?? kMaxEnvoyRing } : {}),
    });
    if (hash === 'envoy' && this.options.minRingSize! > this.options.maxRingSize!) {
      throw new WasmeshError('INVALID_OPTION', `HashRing options.minRingSize (${this.options.minRingSize}) must not exceed maxRingSize (${this.options.maxRingSize})`);
    }
    this.#mode = hash === 'envoy' ? kHashModes.xxh32 : kHashModes[hash];
    if (hash === 'envoy') this.#envoy = this.options.engine === 'ts' ? new TsEnvoyRing() : new WasmEnvoyRing();
    const nodes = this.#nodes;
    // Ties between nodes order by id (UTF-16 code units, as JavaScript's <); ketama rebuilds
    // from empty in insertion order and never merges into existing points.
    const tieBefore = (newSlot: number, oldSlot: number) => nodes.nodeAt(newSlot)! < nodes.nodeAt(oldSlot)!;
    this.#table = this.options.engine === 'wasm' ? new WasmRingTable(this.#mode, tieBefore) : new TsRingTable(this.#mode, tieBefore);
  }

  /** Counts membership changes: decorators (BoundedLoad) resync their per-slot state on a change. */
  get version(): number {
    return this.#version;
  }

  /** Number of nodes. */
  get size(): number {
    return this.#nodes.size;
  }

  /** Number of points (virtual nodes) on the ring. */
  get points(): number {
    return this.#envoy ? this.#envoy.count : this.#table.count;
  }

  /** Node ids in the order they were added. */
  nodes(): string[] {
    return this.#nodes.nodes();
  }

  has(id: string): boolean {
    return this.#nodes.has(id);
  }

  /** The weight a node was added with, or undefined. */
  weightOf(id: string): number | undefined {
    return this.#nodes.weightOf(id);
  }

  /** The id of a slot returned by getSlots / getSlotsHashed, or undefined if none. */
  nodeAt(slot: number): string | undefined {
    return this.#nodes.nodeAt(slot);
  }

  /** The slot of a present node (stable while it stays), or undefined. */
  slotOf(id: string): number | undefined {
    return this.#nodes.slotOf(id);
  }

  /** Adds a node; throws DUPLICATE_NODE, INVALID_ID, INVALID_WEIGHT or CAPACITY. */
  add(id: string, options: NodeOptions = {}): this {
    return this.addMany([[id, options]]);
  }

  /**
   * Adds several nodes in one table change (one merge), all or none: if any entry is bad,
   * nothing is added. Entries are ids or [id, options].
   */
  addMany(entries: Iterable<string | readonly [string, NodeOptions?]>): this {
    const batch: { id: string; weight: number; bytes: Uint8Array }[] = [];
    const seen = new Set<string>();
    let i = 0;
    for (const entry of entries) {
      const [id, options] = typeof entry === 'string' ? [entry, undefined] : entry;
      const where = `node ${i++}`;
      const bytes = this.#checkId(id, where);
      if (this.#nodes.has(id) || seen.has(id)) throw new WasmeshError('DUPLICATE_NODE', `node ${show(id)} is already on the ring`);
      seen.add(id);
      batch.push({ id, weight: this.#checkWeight(id, options), bytes });
    }
    if (batch.length === 0) return this;
    if (this.#envoy) {
      for (const n of batch) this.#claimSlot(n.id, n.weight);
      this.#rebuildEnvoy();
      return this;
    }
    if (this.#mode === MODE_KETAMA) {
      this.#rebuildKetama(batch);
      return this;
    }
    const added = batch.reduce((sum, n) => sum + pointCount(this.options.vnodes, n.weight), 0);
    checkRingPoints(this.#table.count + added);
    // Points of one batch that share a position keep spec order, so specs go in id order.
    const ordered = [...batch].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const slots = ordered.map((n) => this.#claimSlot(n.id, n.weight));
    try {
      this.#insert(ordered.map((n, k) => ({ slot: slots[k]!, bytes: n.bytes, count: pointCount(this.options.vnodes, n.weight) })));
    } catch (error) {
      for (const n of ordered) this.#releaseSlot(n.id);
      throw error;
    }
    return this;
  }

  /** Removes a node; false if it was not on the ring. Only the keys it owned move. */
  remove(id: string): boolean {
    const slot = this.#nodes.slotOf(id);
    if (slot === undefined) return false;
    if (this.#envoy) {
      this.#releaseSlot(id);
      this.#rebuildEnvoy();
      return true;
    }
    if (this.#mode === MODE_KETAMA) {
      this.#rebuildKetama([], id);
      return true;
    }
    this.#table.remove(slot);
    this.#releaseSlot(id);
    return true;
  }

  /** The node that owns `key`, or undefined when the ring is empty. */
  get(key: string): string | undefined {
    checkKey(key);
    const slot = this.#envoy ? this.#envoySlotOf(key) : this.#table.lookupKey(key);
    return slot < 0 ? undefined : this.#nodes.nodeAt(slot);
  }

  #envoySlotOf(key: string): number {
    const at = this.#envoy!.indexOfKey(key);
    return at < 0 ? -1 : this.#envoySlots[at]!;
  }

  /** Up to n distinct nodes for `key`, clockwise from its owner (replicas, failover order). */
  getN(key: string, n: number): string[] {
    checkKey(key);
    if (!Number.isInteger(n) || n < 1) {
      throw new WasmeshError('INVALID_ARGUMENT', `getN n must be an integer >= 1, got ${show(n)}`);
    }
    const want = Math.min(n, this.size);
    const out = outBuffer(want);
    const found = this.#envoy ? this.#walkEnvoy(this.#envoy.indexOfKey(key), want, out) : this.#table.walkKey(key, want, out);
    const ids: string[] = new Array(found);
    for (let i = 0; i < found; i++) ids[i] = this.#nodes.nodeAt(out[i]!)!;
    return ids;
  }

  /** The owners of many keys: equal to keys.map(k => ring.get(k)), in one engine call. */
  getBatch(keys: readonly string[]): (string | undefined)[] {
    checkKeyArray(keys);
    if (this.points === 0) unitsOf(keys);
    const n = keys.length;
    const out = outBuffer(n);
    (this.#envoy ?? this.#table).lookupKeys(keys, out);
    const result: (string | undefined)[] = new Array(n);
    const nodes = this.#nodes;
    for (let i = 0; i < n; i++) result[i] = out[i]! < 0 ? undefined : nodes.nodeAt(out[i]!);
    return result;
  }

  /** Slots of many keys (-1 on an empty ring) into `out` or a new array; map with nodeAt. */
  getSlots(keys: readonly string[], out?: Int32Array): Int32Array {
    checkKeyArray(keys);
    if (this.points === 0) unitsOf(keys);
    const target = this.#checkOut(out, keys.length);
    (this.#envoy ?? this.#table).lookupKeys(keys, target);
    return target;
  }

  /**
   * Slots of keys already hashed with hashKey (or any u32 hash, for a custom key space); in the
   * 'envoy' mode, 64-bit hashes (hashKey64, or what Envoy's hash policies compute).
   */
  getSlotsHashed(hashes: Uint32Array | BigUint64Array, out?: Int32Array): Int32Array {
    const wanted = this.#envoy ? BigUint64Array : Uint32Array;
    if (!(hashes instanceof wanted)) {
      throw new WasmeshError('INVALID_KEY', `hashes must be a ${wanted.name}${this.#envoy ? ' (the envoy ring is 64-bit)' : ''}, got ${show(hashes)}`);
    }
    const target = this.#checkOut(out, hashes.length);
    if (this.#envoy) this.#envoy.lookupHashed(hashes as BigUint64Array, target);
    else this.#table.lookupHashed(hashes as Uint32Array, target);
    return target;
  }

  /** The key's position on the ring (u32), in the ring's hash mode; the 'envoy' ring's are 64-bit: hashKey64. */
  hashKey(key: string): number {
    checkKey(key);
    if (this.#envoy) throw new WasmeshError('INVALID_ARGUMENT', 'the envoy ring places keys at 64-bit positions: use hashKey64');
    return this.#table.hashKey(key);
  }

  /** The key's 64-bit position on an 'envoy' ring: xxHash64 of its UTF-8 bytes, as Envoy's header and cookie hash policies compute. */
  hashKey64(key: string): bigint {
    checkKey(key);
    return xxh64(encoder.encode(key));
  }

  /**
   * The exact share of the key space each node owns, from its arcs: a point owns the positions
   * after the previous point up to its own. Shares sum to 1 (0 for a node with no points).
   */
  shares(): Map<string, number> {
    if (this.#envoy) {
      const { pos, slot } = this.#envoy.points();
      const n = pos.length;
      return this.#arcShares(slot, (k) => Number(k === 0 ? pos[0]! + (1n << 64n) - pos[n - 1]! : pos[k]! - pos[k - 1]!), 2 ** 64);
    }
    const { pos, slot } = this.#table.points();
    const n = pos.length;
    return this.#arcShares(slot, (k) => (k === 0 ? pos[0]! + 2 ** 32 - pos[n - 1]! : pos[k]! - pos[k - 1]!), 2 ** 32);
  }

  // Each node's arcs (point k owning arcAt(k) positions) summed, over the key space's size.
  #arcShares(slot: ArrayLike<number>, arcAt: (k: number) => number, space: number): Map<string, number> {
    const arcs = new Map<string, number>();
    for (const id of this.#nodes.nodes()) arcs.set(id, 0);
    for (let k = 0; k < slot.length; k++) {
      const id = this.#nodes.nodeAt(slot[k]!)!;
      arcs.set(id, arcs.get(id)! + arcAt(k));
    }
    for (const [id, arc] of arcs) arcs.set(id, arc / space);
    return arcs;
  }

  /**
   * Per-slot load, capacity and eligibility arrays in this ring's engine, for pickBounded. Low
   * level: BoundedLoad is the decorator that keeps them.
   */
  loadArrays(): LoadArrays {
    return this.#envoy ? new HeapLoadArrays() : this.#table.loadArrays();
  }

  /**
   * BoundedLoad's pick: the first eligible node clockwise from the key whose load is below
   * ceil(c * (total + cost) / totalCapacity * capacity) and whose load + cost is within its limit;
   * when the bounds leave no node, the first within its limit alone. out[0] = the chosen slot or -1, out[1] = the key's owner slot (-1 on an empty
   * ring); returns out[0]. One engine call, the key hashed once. Low level; see BoundedLoad.
   */
  pickBounded(key: string, arrays: LoadArrays, c: number, total: number, totalCapacity: number, cost: number, out: Int32Array): number {
    checkKey(key);
    return this.#envoy ? this.#pickBoundedEnvoy(key, arrays, c, total, totalCapacity, cost, out) : this.#table.pickBounded(key, arrays, c, total, totalCapacity, cost, out);
  }

  #pickBoundedEnvoy(key: string, arrays: LoadArrays, c: number, total: number, totalCapacity: number, cost: number, out: Int32Array): number {
    const at = this.#envoy!.indexOfKey(key);
    out[1] = at < 0 ? -1 : this.#envoySlots[at]!;
    let slot = this.#walkBoundedEnvoy(at, arrays, c, total, totalCapacity, cost);
    if (slot < 0) slot = this.#walkBoundedEnvoy(at, arrays, Infinity, total, totalCapacity, cost);
    return (out[0] = slot);
  }

  /** Ring points as [position, node id] in ring order (for inspection and charts). */
  /**
   * The table as it is now: ascending point positions and the slot owning each, copied (a
   * later change does not touch them). BatchRouter publishes this to its workers.
   */
  snapshot(): RingSnapshot {
    if (this.#envoy) throw new WasmeshError('INVALID_ARGUMENT', 'an envoy ring has 64-bit points: it has no 32-bit snapshot (BatchRouter takes the other modes)');
    const { pos, slot } = this.#table.points();
    return { version: this.#version, hash: this.options.hash, pos, slot, slots: this.#nodes.slotCount };
  }

  pointList(): [number, string][];
  /** Ring points as [position, node id] in ring order; an 'envoy' ring's positions are 64-bit (bigint). */
  pointList(): [number | bigint, string][] {
    if (this.#envoy) {
      const { pos, slot } = this.#envoy.points();
      return Array.from(pos, (p, k) => [p, this.#nodes.nodeAt(slot[k]!)!]);
    }
    const { pos, slot } = this.#table.points();
    return Array.from(pos, (p, k) => [p, this.#nodes.nodeAt(slot[k]!)!]);
  }

  /** Frees the engine's memory now rather than at garbage collection; the ring is unusable after. */
  dispose(): void {
    this.#table.dispose();
    this.#envoy?.dispose();
    this.#table = disposedTable('HashRing');
    if (this.#envoy) this.#envoy = disposedTable<EnvoyRingTable>('HashRing');
  }

  // Envoy's Ring constructor: weights normalized over their sum, nodes in the order added,
  // scale = min(ceil(minWeight * minRingSize) / minWeight, maxRingSize).
  #rebuildEnvoy(): void {
    const entries = this.#nodes.entries();
    let sum = 0;
    for (const [, w] of entries) sum += w;
    let min = Infinity;
    const nodes = entries.map(([id, w]) => {
      const weight = w / sum;
      min = Math.min(min, weight);
      return { slot: this.#nodes.slotOf(id)!, bytes: encoder.encode(id), weight };
    });
    const scale = nodes.length ? Math.min(Math.ceil(min * this.options.minRingSize!) / min, this.options.maxRingSize!) : 0;
    this.#envoy!.build(nodes, scale);
    this.#envoySlots = this.#envoy!.points().slot;
    this.#envoySeen = new Uint32Array(this.#nodes.slotCount);
    this.#envoyEpoch = 0;
  }

  // Starts a walk over the envoy ring: slots marked with this walk's epoch have been seen (as the
  // Wasm walks do; a Set per walk was an allocation per pick).
  #envoyWalk(): number {
    if (++this.#envoyEpoch > 0xffffffff) {
      this.#envoySeen.fill(0);
      this.#envoyEpoch = 1;
    }
    return this.#envoyEpoch;
  }

  // Distinct slots clockwise from point `at`.
  #walkEnvoy(at: number, want: number, out: Int32Array): number {
    const slots = this.#envoySlots;
    if (at < 0) return 0;
    const seen = this.#envoySeen, epoch = this.#envoyWalk();
    let found = 0;
    for (let step = 0; step < slots.length && found < want; step++) {
      const s = slots[(at + step) % slots.length]!;
      if (seen[s] === epoch) continue;
      seen[s] = epoch;
      out[found++] = s;
    }
    return found;
  }

  // ringWalkBounded's rule on the 64-bit ring.
  #walkBoundedEnvoy(at: number, arrays: LoadArrays, c: number, total: number, totalCapacity: number, cost: number): number {
    const slots = this.#envoySlots;
    if (at < 0) return -1;
    const share = (c * (total + cost)) / totalCapacity;
    const { load, capacity, limit, eligible } = arrays;
    const seen = this.#envoySeen, epoch = this.#envoyWalk();
    for (let step = 0; step < slots.length; step++) {
      const s = slots[(at + step) % slots.length]!;
      if (seen[s] === epoch) continue;
      seen[s] = epoch;
      const used = load[s]!;
      if (eligible[s] && used < Math.ceil(share * capacity[s]!) && used + cost <= limit[s]!) return s;
    }
    return -1;
  }

  #checkId(id: unknown, where: string): Uint8Array {
    if (typeof id !== 'string' || id.length === 0 || !id.isWellFormed()) {
      throw new WasmeshError('INVALID_ID', `${where} id must be a non-empty well-formed string, got ${show(id)}`);
    }
    const bytes = encoder.encode(id);
    if (bytes.length > MAX_ID_BYTES) {
      throw new WasmeshError('INVALID_ID', `${where} id must be at most ${MAX_ID_BYTES} UTF-8 bytes, got ${bytes.length}`);
    }
    return bytes;
  }

  #checkWeight(id: string, options: NodeOptions | undefined): number {
    const o = checkOptions<NodeOptions>(`node ${show(id)}`, options ?? {}, {
      weight: (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : 'a finite number > 0'),
    }, 'INVALID_WEIGHT');
    const weight = o.weight ?? 1;
    if (this.#mode !== MODE_KETAMA && pointCount(this.options.vnodes, weight) > MAX_NODE_POINTS) {
      throw new WasmeshError(
        'INVALID_WEIGHT',
        `node ${show(id)} weight ${weight} x vnodes ${this.options.vnodes} exceeds ${MAX_NODE_POINTS} points per node`,
      );
    }
    return weight;
  }

  #checkOut(out: Int32Array | undefined, n: number): Int32Array {
    if (out === undefined) return new Int32Array(n);
    if (!(out instanceof Int32Array) || out.length < n) {
      throw new WasmeshError('INVALID_ARGUMENT', `out must be an Int32Array of length >= ${n}, got ${out instanceof Int32Array ? `length ${out.length}` : show(out)}`);
    }
    return out;
  }

  #claimSlot(id: string, weight: number): number {
    this.#version++;
    return this.#nodes.claim(id, weight);
  }

  #releaseSlot(id: string): void {
    this.#version++;
    this.#nodes.release(id);
  }

  #insert(nodes: NodePoints[]): void {
    const { specs, ids } = packSpecs(nodes);
    this.#table.insert(specs, nodes.length, ids);
  }

  // As hashring does on every membership change: every node's digest count depends on the total
  // weight, so the table is rebuilt from empty, nodes in insertion order (its tie order).
  #rebuildKetama(batch: { id: string; weight: number; bytes: Uint8Array }[], without?: string): void {
    const kept = this.#nodes.entries().filter(([id]) => id !== without);
    const before = kept.map(([id, weight]) => ({ id, weight, bytes: encoder.encode(id) }));
    const after = [...before, ...batch];
    checkRingPoints(ketamaDigests(this.options.vnodes, after.map((n) => n.weight)).reduce((sum, d) => sum + d * 4, 0));
    for (const n of batch) this.#claimSlot(n.id, n.weight);
    const fill = (nodes: typeof after) => {
      const digests = ketamaDigests(this.options.vnodes, nodes.map((n) => n.weight));
      this.#table.clear();
      this.#insert(nodes.map((n, k) => ({ slot: this.#nodes.slotOf(n.id)!, bytes: n.bytes, count: digests[k]! })));
    };
    try {
      fill(after);
    } catch (error) {
      for (const n of batch) this.#releaseSlot(n.id);
      fill(this.#nodes.entries().map(([id, weight]) => ({ id, weight, bytes: encoder.encode(id) })));
      throw error;
    }
    if (without !== undefined) this.#releaseSlot(without);
  }
}
