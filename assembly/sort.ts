// Stable sort of (u32 key, u32 payload) pairs, used to order a batch of new ring points before
// it is merged into the table. Stability carries the tie order: points are generated in
// (node order, point index) order, so equal positions keep that order.
//
// LSD radix sort, 8 bits a pass, skipping passes where every key shares the byte: O(n) and
// stable, where a comparison sort would cost O(n log n) for the million-point rings.

const COUNTS = memory.data(256 * 4);

/** Sorts keys[0..n) with their payloads; tmpKeys/tmpVals are scratch of the same size. */
export function radixSort(keys: usize, vals: usize, tmpKeys: usize, tmpVals: usize, n: u32): void {
  if (n < 48) {
    insertionSort(keys, vals, n);
    return;
  }
  let srcK = keys, srcV = vals, dstK = tmpKeys, dstV = tmpVals;
  for (let shift: u32 = 0; shift < 32; shift += 8) {
    memory.fill(COUNTS, 0, 256 * 4);
    for (let i: u32 = 0; i < n; i++) {
      const b = <usize>((load<u32>(srcK + (<usize>i << 2)) >> shift) & 0xff);
      store<u32>(COUNTS + (b << 2), load<u32>(COUNTS + (b << 2)) + 1);
    }
    // One bucket holds everything: this byte orders nothing.
    const first = <usize>((load<u32>(srcK) >> shift) & 0xff);
    if (load<u32>(COUNTS + (first << 2)) == n) continue;
    let sum: u32 = 0;
    for (let b: usize = 0; b < 256; b++) {
      const c = load<u32>(COUNTS + (b << 2));
      store<u32>(COUNTS + (b << 2), sum);
      sum += c;
    }
    for (let i: u32 = 0; i < n; i++) {
      const k = load<u32>(srcK + (<usize>i << 2));
      const b = <usize>((k >> shift) & 0xff);
      const at = load<u32>(COUNTS + (b << 2));
      store<u32>(COUNTS + (b << 2), at + 1);
      store<u32>(dstK + (<usize>at << 2), k);
      store<u32>(dstV + (<usize>at << 2), load<u32>(srcV + (<usize>i << 2)));
    }
    const tk = srcK; srcK = dstK; dstK = tk;
    const tv = srcV; srcV = dstV; dstV = tv;
  }
  if (srcK != keys) {
    memory.copy(keys, srcK, <usize>n << 2);
    memory.copy(vals, srcV, <usize>n << 2);
  }
}

function insertionSort(keys: usize, vals: usize, n: u32): void {
  for (let i: u32 = 1; i < n; i++) {
    const k = load<u32>(keys + (<usize>i << 2));
    const v = load<u32>(vals + (<usize>i << 2));
    let j = i;
    while (j > 0 && load<u32>(keys + (<usize>(j - 1) << 2)) > k) {
      store<u32>(keys + (<usize>j << 2), load<u32>(keys + (<usize>(j - 1) << 2)));
      store<u32>(vals + (<usize>j << 2), load<u32>(vals + (<usize>(j - 1) << 2)));
      j--;
    }
    store<u32>(keys + (<usize>j << 2), k);
    store<u32>(vals + (<usize>j << 2), v);
  }
}
