// The TypeScript twin of assembly/maglev.ts: the same construction on BigInt xxHash64.
import { encoder, unitsOf } from '../keys.js';
import { xxh64 } from '../prefixHash.js';
import type { MaglevNode, MaglevTable } from './MaglevTable.js';

export class TsMaglevTable implements MaglevTable {
  #table = new Int32Array(0);
  #m = 0n;

  build(nodes: readonly MaglevNode[], m: number, maxWeight: number): void {
    const table = new Int32Array(m).fill(-1);
    this.#table = table;
    this.#m = BigInt(m);
    if (nodes.length === 0) return;
    const M = BigInt(m);
    const state = nodes.map((n) => ({ c: Number(xxh64(n.bytes) % M), skip: Number(xxh64(n.bytes, 1n) % (M - 1n)) + 1, target: 0 }));
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (let i = 0; i < nodes.length && filled < m; i++) {
        const s = state[i]!;
        if (iteration * nodes[i]!.weight < s.target) continue;
        s.target += maxWeight;
        let c = s.c;
        while (table[c] !== -1) {
          c += s.skip;
          if (c >= m) c -= m;
        }
        table[c] = nodes[i]!.slot;
        c += s.skip;
        if (c >= m) c -= m;
        s.c = c;
        filled++;
      }
    }
  }

  indexOf(key: string): number {
    return Number(xxh64(encoder.encode(key)) % this.#m);
  }

  lookupKey(key: string): number {
    return this.#table.length ? this.#table[Number(xxh64(encoder.encode(key)) % this.#m)]! : -1;
  }

  lookupKeys(keys: readonly string[], out: Int32Array): void {
    // Every key checked before the first answer: a bad one leaves `out` as it was.
    unitsOf(keys);
    for (let i = 0; i < keys.length; i++) {
      out[i] = this.lookupKey(keys[i]!);
    }
  }

  lookupHashed(hashes: BigUint64Array, out: Int32Array): void {
    for (let i = 0; i < hashes.length; i++) out[i] = this.#table.length ? this.#table[Number(hashes[i]! % this.#m)]! : -1;
  }

  slots(): Int32Array {
    return this.#table.slice();
  }

  dispose(): void {}
}
