/**
 * The engine behind a HashRing: a sorted table of points and the lookups over it. Two
 * implementations share these names and argument order: WasmRingTable (assembly/ring.ts) and
 * TsRingTable, its pure-TypeScript twin. The facade validates; a table trusts its input.
 */
export interface RingTable {
  /** Points in the table. */
  readonly count: number;
  /**
   * Adds the points of `n` nodes: specs holds (slot, id offset, id length, count) per node
   * (assembly/layout.ts), ids their UTF-8 bytes, in tie order. Returns the points added.
   */
  insert(specs: Uint32Array, n: number, ids: Uint8Array): number;
  /** Removes the points of `slot`; returns how many. */
  remove(slot: number): number;
  clear(): void;
  /** The key's position on the ring in the table's hash mode. */
  hashKey(key: string): number;
  /** Slot of the key, or -1 when the table is empty. */
  lookupKey(key: string): number;
  /** Slots of the keys into out[0..n) (-1 when empty); throws INVALID_KEY for a non-string. */
  lookupKeys(keys: readonly string[], out: Int32Array): void;
  /** Slots of pre-hashed keys into out[0..hashes.length). */
  lookupHashed(hashes: Uint32Array, out: Int32Array): void;
  /** Up to n distinct slots clockwise from `hash` into out; returns how many. */
  walk(hash: number, n: number, out: Int32Array): number;
  /** walk from the hash of `key`. */
  walkKey(key: string, n: number, out: Int32Array): number;
  /** Per-slot arrays for the bounded walk, in this engine's memory. */
  loadArrays(): LoadArrays;
  /**
   * BoundedLoad's pick from a key: the bounded walk (ringWalkBounded) with `c`, then (none found) within the limits
   * alone. out[0] = the slot or -1, out[1] = the key's owner slot; returns out[0]. One engine call.
   */
  pickBounded(key: string, arrays: LoadArrays, c: number, total: number, totalCapacity: number, cost: number, out: Int32Array): number;
  /** Copies of the positions and their slots, in ring order. */
  points(): { pos: Uint32Array; slot: Uint32Array };
  /** Frees what the table holds outside the JavaScript heap. */
  dispose(): void;
}

/** Resolves a position tie between a new node's point and an existing one: true if new first. */
export type TieBefore = (newSlot: number, oldSlot: number) => boolean;

/** Words per node in an insert spec (assembly/layout.ts). */
export const SPEC_WORDS = 4;

/**
 * A bucket holding more points than this is searched by halves, not scanned (adversarial
 * clustering); every lookup over a ring table uses it (assembly/ringLookup.ts, SCAN_LIMIT).
 */
export const SCAN_LIMIT = 16;

/** A node's part of an insert: its slot, id bytes and point count (digests for ketama). */
export interface NodePoints {
  slot: number;
  bytes: Uint8Array;
  count: number;
}

/** Packs nodes into the insert layout of assembly/layout.ts. */
export function packSpecs(nodes: readonly NodePoints[]): { specs: Uint32Array; ids: Uint8Array } {
  const specs = new Uint32Array(nodes.length * SPEC_WORDS);
  const ids = new Uint8Array(nodes.reduce((sum, n) => sum + n.bytes.length, 0));
  let at = 0;
  nodes.forEach((n, k) => {
    specs.set([n.slot, at, n.bytes.length, n.count], k * SPEC_WORDS);
    ids.set(n.bytes, at);
    at += n.bytes.length;
  });
  return { specs, ids };
}

/**
 * Per-slot load, capacity, limit and eligibility, where the engine's bounded walk can read
 * them. The getters return current views (memory growth replaces them); slots start at load 0,
 * capacity 0, limit Infinity, eligible 1.
 */
export interface LoadArrays {
  reserve(slots: number): void;
  readonly load: Float64Array;
  readonly capacity: Float64Array;
  readonly limit: Float64Array;
  readonly eligible: Uint8Array;
  dispose(): void;
}

/** LoadArrays in plain typed arrays (the TS engine). */
export class HeapLoadArrays implements LoadArrays {
  load = new Float64Array(0);
  capacity = new Float64Array(0);
  limit = new Float64Array(0);
  eligible = new Uint8Array(0);

  reserve(slots: number): void {
    if (slots <= this.load.length) return;
    const n = Math.max(slots, this.load.length * 2, 16);
    const load = new Float64Array(n), capacity = new Float64Array(n), limit = new Float64Array(n).fill(Infinity), eligible = new Uint8Array(n).fill(1);
    load.set(this.load);
    capacity.set(this.capacity);
    limit.set(this.limit);
    eligible.set(this.eligible);
    Object.assign(this, { load, capacity, limit, eligible });
  }

  dispose(): void {}
}
