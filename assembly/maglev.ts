// Maglev (Eisenbud et al., NSDI 2016, pseudocode listing 1) exactly as Envoy builds its weighted
// table (source/extensions/load_balancing_policies/maglev/maglev_lb.cc): node i's preference list
// is offset + skip * j (mod M), offset = xxHash64(id) % M, skip = xxHash64(id, seed 1) % (M - 1)
// + 1; nodes take turns in id order, node i's turn coming in iteration t when t * weight_i >=
// its running target (which grows by the largest weight at each of its turns), and each takes
// the first free entry of its list. A key goes to table[xxHash64(key) % M]. The TypeScript twin
// is src/core/maglev/TsMaglevTable.ts.
//
// Build input, per node (in id byte order): spec u32 x 3 (slot, id offset, id length) and its
// normalized weight f64. The table is i32[M] of slots.
import { xxh64 } from './prefix';

/**
 * Fills `table` (i32[m]) for n nodes. `state` is scratch of 24 bytes a node (current entry u32,
 * skip u32, target f64, unused); `taken` of m bytes marks the entries taken (a probe reads a byte
 * of 64 KB instead of an entry of 256: the build is mostly probes of taken entries as the table
 * fills, about m ln m of them). -1 everywhere when n == 0.
 */
export function maglevBuild(specs: usize, ids: usize, weights: usize, n: u32, m: u32, maxWeight: f64, table: usize, state: usize, taken: usize): void {
  // Every entry is written below when there is a node.
  if (n == 0) {
    memory.fill(table, 0xff, <usize>m << 2);
    return;
  }
  memory.fill(taken, 0, <usize>m);
  for (let i: u32 = 0; i < n; i++) {
    const spec = specs + <usize>i * 12;
    const id = ids + <usize>load<u32>(spec, 4);
    const len = load<u32>(spec, 8);
    const s = state + <usize>i * 24;
    store<u32>(s, <u32>(xxh64(id, len, 0) % <u64>m));
    store<u32>(s, <u32>(xxh64(id, len, 1) % <u64>(m - 1)) + 1, 4);
    store<f64>(s, 0, 8);
  }
  let filled: u32 = 0;
  for (let iteration: u32 = 1; filled < m; iteration++) {
    for (let i: u32 = 0; i < n && filled < m; i++) {
      const s = state + <usize>i * 24;
      const weight = load<f64>(weights + (<usize>i << 3));
      const target = load<f64>(s, 8);
      if (<f64>iteration * weight < target) continue;
      store<f64>(s, target + maxWeight, 8);
      let c = load<u32>(s);
      const skip = load<u32>(s, 4);
      // Envoy's entry.next_ advances on every probe; c is offset + skip * next (mod m), kept incrementally.
      while (load<u8>(taken + <usize>c) != 0) {
        c += skip;
        if (c >= m) c -= m;
      }
      store<u8>(taken + <usize>c, 1);
      store<i32>(table + (<usize>c << 2), load<i32>(specs + <usize>i * 12));
      c += skip;
      if (c >= m) c -= m;
      store<u32>(s, c);
      filled++;
    }
  }
}

/** Slots of n keys (UTF-8 bytes back to back, u32 offsets[n + 1]) into out (i32 each). */
export function maglevLookupKeys(table: usize, m: u32, bytes: usize, offsets: usize, n: u32, out: usize): void {
  let start = load<u32>(offsets);
  for (let i: usize = 0; i < <usize>n; i++) {
    const end = load<u32>(offsets + ((i + 1) << 2));
    const h = xxh64(bytes + <usize>start, end - start, 0);
    store<i32>(out + (i << 2), load<i32>(table + (<usize>(h % <u64>m) << 2)));
    start = end;
  }
}

/** Slots of n pre-hashed keys (u64 each, xxHash64 of the key as Envoy computes it) into out. */
export function maglevLookupHashed(table: usize, m: u32, hashes: usize, n: u32, out: usize): void {
  for (let i: usize = 0; i < <usize>n; i++) {
    store<i32>(out + (i << 2), load<i32>(table + (<usize>(load<u64>(hashes + (i << 3)) % <u64>m) << 2)));
  }
}

/** Slot of one key. */
export function maglevLookupKey(table: usize, m: u32, ptr: usize, len: u32): i32 {
  return load<i32>(table + (<usize>(xxh64(ptr, len, 0) % <u64>m) << 2));
}

/** The table index of one key: xxHash64(key) % m. */
export function maglevIndex(m: u32, ptr: usize, len: u32): u32 {
  return <u32>(xxh64(ptr, len, 0) % <u64>m);
}
