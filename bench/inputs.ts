// Inputs shared by the benchmarks: seeded, so every run measures the same keys and nodes.

/** xorshift32: seeded, so every run looks up the same keys. */
export function randomU32(n: number, seed = 0x9e3779b9): Uint32Array {
  const out = new Uint32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x;
  }
  return out;
}

/** n node ids shaped like host:port. */
export const nodeIds = (n: number) => Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8000`);
