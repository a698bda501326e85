// The TypeScript twin of assembly/envoyRing.ts, on BigInt xxHash64.
import { encoder, unitsOf } from '../keys.js';
import { xxh64 } from '../prefixHash.js';
import type { EnvoyNode, EnvoyRingTable } from './EnvoyRingTable.js';

export class TsEnvoyRing implements EnvoyRingTable {
  #pos = new BigUint64Array(0);
  #slot = new Int32Array(0);

  get count(): number {
    return this.#pos.length;
  }

  build(nodes: readonly EnvoyNode[], scale: number): void {
    const points: [bigint, number][] = [];
    let current = 0, target = 0;
    for (const node of nodes) {
      target += scale * node.weight;
      for (let i = 0; current < target; i++, current++) {
        const key = new Uint8Array(node.bytes.length + 21);
        key.set(node.bytes);
        key[node.bytes.length] = 0x5f;
        const digits = encoder.encodeInto(String(i), key.subarray(node.bytes.length + 1)).written;
        points.push([xxh64(key.subarray(0, node.bytes.length + 1 + digits)), node.slot]);
      }
    }
    // Stable, as the core's radix sort: equal positions keep generation order.
    points.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#pos = BigUint64Array.from(points, (p) => p[0]);
    this.#slot = Int32Array.from(points, (p) => p[1]);
  }

  indexOfHash(hash: bigint): number {
    const n = this.#pos.length;
    if (n === 0) return -1;
    let lo = 0, hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#pos[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === n ? 0 : lo;
  }

  indexOfKey(key: string): number {
    return this.indexOfHash(xxh64(encoder.encode(key)));
  }

  lookupKeys(keys: readonly string[], out: Int32Array): void {
    // Every key checked before the first answer: a bad one leaves `out` as it was.
    unitsOf(keys);
    for (let i = 0; i < keys.length; i++) {
      const at = this.indexOfKey(keys[i]!);
      out[i] = at < 0 ? -1 : this.#slot[at]!;
    }
  }

  lookupHashed(hashes: BigUint64Array, out: Int32Array): void {
    for (let i = 0; i < hashes.length; i++) {
      const at = this.indexOfHash(hashes[i]!);
      out[i] = at < 0 ? -1 : this.#slot[at]!;
    }
  }

  points(): { pos: BigUint64Array; slot: Int32Array } {
    return { pos: this.#pos.slice(), slot: this.#slot.slice() };
  }

  dispose(): void {}
}
