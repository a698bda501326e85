// The engine behind a Maglev: its table of slots, built and read. WasmMaglevTable runs
// assembly/maglev.ts; TsMaglevTable is its twin, with the same table for the same nodes.

/** A node as the build takes it: its slot, its id's UTF-8 bytes, its normalized weight. */
export interface MaglevNode {
  slot: number;
  bytes: Uint8Array;
  weight: number;
}

export interface MaglevTable {
  /** Builds the table of size m from nodes in id byte order; maxWeight is the largest weight. */
  build(nodes: readonly MaglevNode[], m: number, maxWeight: number): void;
  /** The table index of a key: xxHash64(key) % m. */
  indexOf(key: string): number;
  /** Slot of a key (-1 when the table is empty). */
  lookupKey(key: string): number;
  /** Slots of keys into out[0..n); throws INVALID_KEY for a non-string. */
  lookupKeys(keys: readonly string[], out: Int32Array): void;
  /** Slots of pre-hashed keys (xxHash64 values) into out. */
  lookupHashed(hashes: BigUint64Array, out: Int32Array): void;
  /** A copy of the table: the slot at each index. */
  slots(): Int32Array;
  dispose(): void;
}
