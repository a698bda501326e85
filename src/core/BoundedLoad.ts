// BoundedLoad: consistent hashing with bounded loads, as a decorator over any HashRing.
import type { HashRing } from './HashRing.js';
import type { LoadArrays } from './ring/RingTable.js';
import { checkCost, checkOptions } from './options.js';
import { show, WasmeshError } from './WasmeshError.js';
import { disposedTable } from './disposed.js';

/** Options of `new BoundedLoad(ring, options)`; every field optional. */
export interface BoundedLoadOptions {
  /**
   * How far above its fair share a node may go: a node takes a request only while its
   * in-flight cost is below ceil(c * (total + cost) * capacity / totalCapacity).
   * A number from 1 to 100; default 1.25 (Envoy's and the paper's usual choice).
   */
  c?: number;
}

/**
 * Keys go to their ring owner unless it is at its bound; then to the next node clockwise that
 * has room (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with Bounded Loads", 2018),
 * bounds in proportion to capacity: a node has room while its in-flight cost is below
 * ceil(c * (total + cost) * capacity / totalCapacity), which for unit costs is the paper's rule.
 * With c >= 1 some node always has room; with limits (setLimit), a key whose bound-fitting
 * nodes are all at their limit goes to the first node clockwise within its limit, and pick
 * refuses only when every node is at its limit.
 * The walk runs in the ring's engine (Wasm: one call); this class keeps the per-node in-flight
 * cost, capacity (default: the ring weight) and limit (default: none).
 *
 * ```ts
 * const bounded = new BoundedLoad(ring, { c: 1.25 });
 * const id = bounded.acquire('session-42');   // pick and count one request
 * bounded.release(id!);                       // when it finishes
 * ```
 */
export class BoundedLoad {
  readonly ring: HashRing;
  readonly c: number;
  #arrays: LoadArrays;
  // NOTE: per-slot state is valid for the ring version it was synced at; ids by slot tell which
  // slots changed hands. Take a slot (which may sync and move the arrays) before a view.
  #version = -1;
  // The last pick: [chosen slot, owner slot] (the engine writes both; no allocation per pick).
  readonly #picked = new Int32Array([-1, -1]);
  #idAt: (string | undefined)[] = [];
  #capacity = new Map<string, number>();
  #total = 0;
  #totalCapacity = 0;

  constructor(ring: HashRing, options: BoundedLoadOptions = {}) {
    const o = checkOptions<BoundedLoadOptions>('BoundedLoad', options, {
      c: (v) => (typeof v === 'number' && v >= 1 && v <= 100 ? null : 'a number from 1 to 100'),
    });
    this.ring = ring;
    this.c = o.c ?? 1.25;
    this.#arrays = ring.loadArrays();
    this.#sync();
  }

  /** In-flight cost over all nodes. */
  get total(): number {
    this.#sync();
    return this.#total;
  }

  /** A node's in-flight cost. */
  load(id: string): number {
    const slot = this.#slot(id, 'load');
    return this.#arrays.load[slot]!;
  }

  /** A node's capacity (its ring weight unless set). */
  capacity(id: string): number {
    const slot = this.#slot(id, 'capacity');
    return this.#arrays.capacity[slot]!;
  }

  /** The in-flight cost below which the node takes a request of `cost`. */
  bound(id: string, cost = 1): number {
    const slot = this.#slot(id, 'bound');
    return Math.ceil(((this.c * (this.#total + cost)) / this.#totalCapacity) * this.#arrays.capacity[slot]!);
  }

  /** Sets a node's capacity (capacity units, > 0), e.g. from measured throughput. */
  setCapacity(id: string, capacity: number): this {
    const slot = this.#slot(id, 'setCapacity');
    if (typeof capacity !== 'number' || !Number.isFinite(capacity) || capacity <= 0) {
      throw new WasmeshError('INVALID_WEIGHT', `node ${show(id)} capacity must be a finite number > 0, got ${show(capacity)}`);
    }
    this.#totalCapacity += capacity - this.#arrays.capacity[slot]!;
    this.#arrays.capacity[slot] = capacity;
    this.#capacity.set(id, capacity);
    return this;
  }

  /** An absolute limit on the node's in-flight cost (admission control); Infinity for none. */
  setLimit(id: string, limit: number): this {
    const slot = this.#slot(id, 'setLimit');
    if (typeof limit !== 'number' || Number.isNaN(limit) || limit <= 0) {
      throw new WasmeshError('INVALID_ARGUMENT', `node ${show(id)} limit must be a number > 0 (Infinity for none), got ${show(limit)}`);
    }
    this.#arrays.limit[slot] = limit;
    return this;
  }

  /** Takes a node out of the walk (health, requirements) or back; its load is kept. */
  setEligible(id: string, eligible: boolean): this {
    const slot = this.#slot(id, 'setEligible');
    this.#arrays.eligible[slot] = eligible ? 1 : 0;
    return this;
  }

  /** The node a request of `cost` for `key` should go to, or undefined if none may take it. */
  pick(key: string, cost = 1): string | undefined {
    const slot = this.#pickSlot(key, cost);
    return slot < 0 ? undefined : this.ring.nodeAt(slot);
  }

  /**
   * acquire() for routers that keep their own tables by slot: the slot it counted the cost on
   * (-1: none had room, nothing counted); `ownerSlot` then holds the key's owner. Allocates
   * nothing and hashes the key once. ring.nodeAt(slot) names the node.
   */
  acquireSlot(key: string, cost = 1): number {
    const slot = this.#pickSlot(key, cost);
    if (slot >= 0) {
      this.#arrays.load[slot]! += cost;
      this.#total += cost;
    }
    return slot;
  }

  /** The key's owner slot (its first node clockwise) at the last pick or acquireSlot; -1 on an empty ring. */
  get ownerSlot(): number {
    return this.#picked[1]!;
  }

  /** release() by slot (acquireSlot's): the node in that slot now. */
  releaseSlot(slot: number, cost = 1): this {
    checkCost(cost);
    this.#sync();
    const id = this.ring.nodeAt(slot);
    if (id === undefined) throw new WasmeshError('UNKNOWN_NODE', `releaseSlot: no node in slot ${show(slot)}`);
    return this.#releaseAt(slot, id, cost);
  }

  // Bounds spread load; limits protect endpoints. When the bounds and the limits together leave
  // no node (a node with bound room is at its limit), the first node clockwise within its limit
  // takes it: a request is refused only when every node is at its limit. One engine call.
  #pickSlot(key: string, cost: number): number {
    this.#sync();
    checkCost(cost);
    return this.ring.pickBounded(key, this.#arrays, this.c, this.#total, this.#totalCapacity, cost, this.#picked);
  }

  /** pick, then count the cost on the node; undefined (nothing counted) if none has room. */
  acquire(key: string, cost = 1): string | undefined {
    const id = this.pick(key, cost);
    if (id !== undefined) this.add(id, cost);
    return id;
  }

  /** Counts cost on a node directly (a request routed some other way). */
  add(id: string, cost = 1): this {
    checkCost(cost);
    const slot = this.#slot(id, 'add');
    this.#arrays.load[slot]! += cost;
    this.#total += cost;
    return this;
  }

  /** A request of `cost` on the node finished. */
  release(id: string, cost = 1): this {
    checkCost(cost);
    return this.#releaseAt(this.#slot(id, 'release'), id, cost);
  }

  #releaseAt(slot: number, id: string, cost: number): this {
    const load = this.#arrays.load;
    // NOTE: fractional costs added and released in another order leave rounding dust; a
    // release within a millionth of the load is whole, and never leaves a negative load.
    const slack = 1e-6 * Math.max(1, cost);
    if (load[slot]! < cost - slack) throw new WasmeshError('INVALID_ARGUMENT', `release of ${cost} on node ${show(id)} exceeds its in-flight cost ${load[slot]}`);
    const released = Math.min(cost, load[slot]!);
    load[slot]! -= released;
    this.#total = Math.max(0, this.#total - released);
    return this;
  }

  /** Frees the engine memory of the load arrays. */
  dispose(): void {
    this.#arrays.dispose();
    this.#arrays = disposedTable('BoundedLoad');
  }

  #slot(id: string, op: string): number {
    this.#sync();
    const slot = this.ring.slotOf(id);
    if (slot === undefined) throw new WasmeshError('UNKNOWN_NODE', `${op}: no node ${show(id)} on the ring`);
    return slot;
  }

  // The check alone here, the work in #resync: with it in this one, #sync was past V8's limit on
  // the bytecode of a function it inlines, and every pick and release paid a call for the check.
  #sync(): void {
    if (this.#version !== this.ring.version) this.#resync();
  }

  // After a membership change: slots that changed hands start empty; capacity defaults to the
  // ring weight; the departed nodes' in-flight cost leaves the total.
  #resync(): void {
    const ids = this.ring.nodes();
    let slots = 0;
    for (const id of ids) slots = Math.max(slots, this.ring.slotOf(id)! + 1);
    this.#arrays.reserve(Math.max(slots, this.#idAt.length, 1));
    const { load, capacity, limit, eligible } = this.#arrays;
    for (let s = 0; s < Math.max(slots, this.#idAt.length); s++) {
      const now = this.ring.nodeAt(s);
      if (now === this.#idAt[s]) continue;
      this.#total -= load[s]!;
      load[s] = 0;
      limit[s] = Infinity;
      eligible[s] = 1;
      capacity[s] = now === undefined ? 0 : this.#capacity.get(now) ?? this.ring.weightOf(now)!;
      this.#idAt[s] = now;
    }
    for (const id of [...this.#capacity.keys()]) if (!this.ring.has(id)) this.#capacity.delete(id);
    this.#totalCapacity = 0;
    for (let s = 0; s < this.#idAt.length; s++) this.#totalCapacity += capacity[s]!;
    this.#version = this.ring.version;
  }
}
