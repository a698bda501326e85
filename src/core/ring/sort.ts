// Stable LSD radix sort of (u32 key, u32 payload) pairs: the twin of assembly/sort.ts (see it
// for why radix and why stable).
const counts = new Uint32Array(256);

export function radixSort(keys: Uint32Array, vals: Uint32Array, tmpKeys: Uint32Array, tmpVals: Uint32Array, n: number): void {
  if (n < 48) {
    insertionSort(keys, vals, n);
    return;
  }
  let srcK = keys, srcV = vals, dstK = tmpKeys, dstV = tmpVals;
  for (let shift = 0; shift < 32; shift += 8) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(srcK[i]! >>> shift) & 0xff]!++;
    if (counts[(srcK[0]! >>> shift) & 0xff] === n) continue;
    let sum = 0;
    for (let b = 0; b < 256; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = srcK[i]!;
      const at = counts[(k >>> shift) & 0xff]!++;
      dstK[at] = k;
      dstV[at] = srcV[i]!;
    }
    [srcK, dstK] = [dstK, srcK];
    [srcV, dstV] = [dstV, srcV];
  }
  if (srcK !== keys) {
    keys.set(srcK.subarray(0, n));
    vals.set(srcV.subarray(0, n));
  }
}

function insertionSort(keys: Uint32Array, vals: Uint32Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const k = keys[i]!;
    const v = vals[i]!;
    let j = i;
    while (j > 0 && keys[j - 1]! > k) {
      keys[j] = keys[j - 1]!;
      vals[j] = vals[j - 1]!;
      j--;
    }
    keys[j] = k;
    vals[j] = v;
  }
}
