// The engine of a HashRing in Envoy's mode (hash: 'envoy'): 64-bit positions, rebuilt whole on
// every change as Envoy rebuilds. WasmEnvoyRing runs assembly/envoyRing.ts; TsEnvoyRing is its
// twin, with the same points for the same nodes.

/** A node as the build takes it, in ring order: its slot, its id's UTF-8 bytes, its normalized weight. */
export interface EnvoyNode {
  slot: number;
  bytes: Uint8Array;
  weight: number;
}

export interface EnvoyRingTable {
  readonly count: number;
  /** Builds the ring: scale is Envoy's (points = ceil(scale)). */
  build(nodes: readonly EnvoyNode[], scale: number): void;
  /** The index of the first point at or after the key's xxHash64 (wrapping); -1 when empty. */
  indexOfKey(key: string): number;
  indexOfHash(hash: bigint): number;
  /** Slots of keys into out (-1 when empty); throws INVALID_KEY for a non-string. */
  lookupKeys(keys: readonly string[], out: Int32Array): void;
  lookupHashed(hashes: BigUint64Array, out: Int32Array): void;
  /** Copies: the positions ascending and the slot of each. */
  points(): { pos: BigUint64Array; slot: Int32Array };
  dispose(): void;
}
