// The prefix index: which endpoint holds which KV blocks, by the blocks' chain hashes
// (assembly/prefix.ts), so that a router can ask, for every endpoint at once, how long a prefix
// of this prompt it already has cached. The TypeScript twin is src/core/prefixIndexTs.ts.
//
// Each endpoint (a slot) keeps an LRU list of the blocks it holds, at most `cap` of them, each
// stamped with when it was last touched. A prompt's blocks are touched last to first, so a prompt's
// first block is always the most recent of its chain: eviction (LRU) and expiry (TTL) take a
// chain from its tail, and what an endpoint holds of any chain stays a prefix of it. That is what
// lets match() find the longest held prefix by exponential and binary search in O(log n) probes
// per endpoint rather than one probe per block (engines keep their caches prefix-closed too:
// SGLang evicts radix-tree leaves, vLLM frees a sequence's blocks tail first).
//
// Layout (field offsets in bytes; `Pix`):
//    0 slots     u32  slots allocated in the per-slot arrays
//    4 cap       ptr  u32[slots] most blocks the slot holds (0: the slot is unused)
//    8 count     ptr  u32[slots] blocks it holds
//   12 head      ptr  u32[slots] most recently touched node + 1 (0: none)
//   16 tail      ptr  u32[slots] least recently touched node + 1
//   20 nodes     ptr  Node[nodeCap]
//   24 nodeCap   u32
//   28 used      u32  nodes ever handed out (the pool's high-water mark)
//   32 free      u32  first free node + 1 (free nodes are chained through `next`)
//   36 table     ptr  u32[mask + 1]: node + 1 by (hash, slot), open addressing, linear probing
//   40 mask      u32
//   44 ttl       u32  ms a block stays without a touch; 0: forever
// Node (24 bytes): hash u64, prev u32, next u32 (node + 1), slot u32, stamp u32 (ms, wrapping).
//
// Memory: 24 bytes a node plus 4 to 8 of table (load <= 1/2): at most 32 bytes a held block, 16 MB
// for 16 endpoints x 31,250 blocks.

import { prefixChainText, prefixChainTokens } from './prefix';

// @ts-ignore: decorator
@unmanaged class Pix {
  slots: u32;
  cap: usize;
  count: usize;
  head: usize;
  tail: usize;
  nodes: usize;
  nodeCap: u32;
  used: u32;
  free: u32;
  table: usize;
  mask: u32;
  ttl: u32;
}

const NODE: u32 = 24;

// @ts-ignore: decorator
@inline function node(ix: Pix, n: u32): usize {
  return ix.nodes + <usize>(n - 1) * NODE;
}
// @ts-ignore: decorator
@inline function at(arr: usize, i: u32): usize {
  return arr + (<usize>i << 2);
}
// @ts-ignore: decorator
@inline function home(ix: Pix, hash: u64, slot: u32): u32 {
  const k = (hash + <u64>slot * 0x9e3779b97f4a7c15) * 0xff51afd7ed558ccd;
  return <u32>(k >> 32) & ix.mask;
}

/** A new, empty index; `ttl` ms (0: blocks never expire). */
export function pixNew(ttl: u32): usize {
  const ix = changetype<Pix>(heap.alloc(offsetof<Pix>()));
  ix.slots = 0;
  ix.cap = 0;
  ix.count = 0;
  ix.head = 0;
  ix.tail = 0;
  ix.nodes = 0;
  ix.nodeCap = 0;
  ix.used = 0;
  ix.free = 0;
  ix.mask = 15;
  ix.table = heap.alloc(16 << 2);
  memory.fill(ix.table, 0, 16 << 2);
  ix.ttl = ttl;
  growSlots(ix, 16);
  return changetype<usize>(ix);
}

export function pixFree(p: usize): void {
  const ix = changetype<Pix>(p);
  heap.free(ix.cap);
  heap.free(ix.count);
  heap.free(ix.head);
  heap.free(ix.tail);
  if (ix.nodes) heap.free(ix.nodes);
  heap.free(ix.table);
  heap.free(p);
}

function growArray(old: usize, from: u32, to: u32): usize {
  const arr = heap.alloc(<usize>to << 2);
  memory.fill(arr, 0, <usize>to << 2);
  if (old) {
    memory.copy(arr, old, <usize>from << 2);
    heap.free(old);
  }
  return arr;
}

function growSlots(ix: Pix, to: u32): void {
  ix.cap = growArray(ix.cap, ix.slots, to);
  ix.count = growArray(ix.count, ix.slots, to);
  ix.head = growArray(ix.head, ix.slots, to);
  ix.tail = growArray(ix.tail, ix.slots, to);
  ix.slots = to;
}

// The node of (hash, slot) + 1, or 0.
function find(ix: Pix, hash: u64, slot: u32): u32 {
  let b = home(ix, hash, slot);
  let n = load<u32>(at(ix.table, b));
  while (n != 0) {
    const p = node(ix, n);
    if (load<u64>(p) == hash && load<u32>(p, 16) == slot) return n;
    b = (b + 1) & ix.mask;
    n = load<u32>(at(ix.table, b));
  }
  return 0;
}

function tableInsert(ix: Pix, n: u32): void {
  const p = node(ix, n);
  let b = home(ix, load<u64>(p), load<u32>(p, 16));
  while (load<u32>(at(ix.table, b)) != 0) b = (b + 1) & ix.mask;
  store<u32>(at(ix.table, b), n);
}

// Backward-shift deletion keeps every probe chain unbroken without tombstones.
function tableDelete(ix: Pix, n: u32): void {
  const p = node(ix, n);
  let i = home(ix, load<u64>(p), load<u32>(p, 16));
  while (load<u32>(at(ix.table, i)) != n) i = (i + 1) & ix.mask;
  let j = i;
  for (;;) {
    j = (j + 1) & ix.mask;
    const m = load<u32>(at(ix.table, j));
    if (m == 0) break;
    const q = node(ix, m);
    const k = home(ix, load<u64>(q), load<u32>(q, 16));
    // m may move to i when its home is not cyclically within (i, j].
    if (i <= j ? k <= i || k > j : k <= i && k > j) {
      store<u32>(at(ix.table, i), m);
      i = j;
    }
  }
  store<u32>(at(ix.table, i), 0);
}

// The pool and the table grow to hold `total` nodes; node numbers do not change.
function reserve(ix: Pix, total: u32): void {
  if (total > ix.nodeCap) {
    // Exactly: capacities change on config changes, not per request.
    const cap = total;
    const nodes = heap.alloc(<usize>cap * NODE);
    if (ix.nodes) {
      memory.copy(nodes, ix.nodes, <usize>ix.used * NODE);
      heap.free(ix.nodes);
    }
    ix.nodes = nodes;
    ix.nodeCap = cap;
  }
  if (<u64>ix.nodeCap * 2 > <u64>ix.mask + 1) {
    let size: u32 = 16;
    while (size < ix.nodeCap * 2) size <<= 1;
    heap.free(ix.table);
    ix.table = heap.alloc(<usize>size << 2);
    memory.fill(ix.table, 0, <usize>size << 2);
    ix.mask = size - 1;
    for (let s: u32 = 0; s < ix.slots; s++) {
      let n = load<u32>(at(ix.head, s));
      while (n) {
        tableInsert(ix, n);
        n = load<u32>(node(ix, n), 12);
      }
    }
  }
}

function unlink(ix: Pix, slot: u32, n: u32): void {
  const p = node(ix, n);
  const prev = load<u32>(p, 8);
  const next = load<u32>(p, 12);
  if (prev) store<u32>(node(ix, prev), next, 12);
  else store<u32>(at(ix.head, slot), next);
  if (next) store<u32>(node(ix, next), prev, 8);
  else store<u32>(at(ix.tail, slot), prev);
}

function pushFront(ix: Pix, slot: u32, n: u32): void {
  const p = node(ix, n);
  const head = load<u32>(at(ix.head, slot));
  store<u32>(p, 0, 8);
  store<u32>(p, head, 12);
  if (head) store<u32>(node(ix, head), n, 8);
  else store<u32>(at(ix.tail, slot), n);
  store<u32>(at(ix.head, slot), n);
}

function drop(ix: Pix, slot: u32, n: u32): void {
  tableDelete(ix, n);
  unlink(ix, slot, n);
  store<u32>(node(ix, n), ix.free, 12);
  ix.free = n;
  store<u32>(at(ix.count, slot), load<u32>(at(ix.count, slot)) - 1);
}

// Drops the slot's blocks untouched for longer than the TTL, oldest first.
function expire(ix: Pix, slot: u32, now: u32): void {
  if (ix.ttl == 0) return;
  for (;;) {
    const t = load<u32>(at(ix.tail, slot));
    if (t == 0 || now - load<u32>(node(ix, t), 20) <= ix.ttl) return;
    drop(ix, slot, t);
  }
}

function total(ix: Pix): u32 {
  let sum: u32 = 0;
  for (let s: u32 = 0; s < ix.slots; s++) sum += load<u32>(at(ix.cap, s));
  return sum;
}

/** Sets how many blocks a slot holds (0 frees it), evicting its least recent ones beyond that. */
export function pixSetCapacity(p: usize, slot: u32, cap: u32): void {
  const ix = changetype<Pix>(p);
  if (slot >= ix.slots) {
    let to = ix.slots;
    while (to <= slot) to <<= 1;
    growSlots(ix, to);
  }
  while (load<u32>(at(ix.count, slot)) > cap) drop(ix, slot, load<u32>(at(ix.tail, slot)));
  store<u32>(at(ix.cap, slot), cap);
  reserve(ix, total(ix));
}

/** Blocks a slot holds (after expiring those past the TTL at `now`). */
export function pixCount(p: usize, slot: u32, now: u32): u32 {
  const ix = changetype<Pix>(p);
  if (slot >= ix.slots) return 0;
  expire(ix, slot, now);
  return load<u32>(at(ix.count, slot));
}

/**
 * The slot holds the first `n` blocks of a chain (u64 hashes at `hashes`), touched at `now`: last
 * to first, so the chain's head is the most recent. Beyond the slot's capacity only the first
 * `cap` blocks are kept.
 */
export function pixRecord(p: usize, slot: u32, hashes: usize, n: u32, now: u32): void {
  const ix = changetype<Pix>(p);
  if (slot >= ix.slots) return;
  const cap = load<u32>(at(ix.cap, slot));
  if (cap == 0) return;
  expire(ix, slot, now);
  for (let i = <i32>min<u32>(n, cap) - 1; i >= 0; i--) {
    const hash = load<u64>(hashes + (<usize>i << 3));
    let m = find(ix, hash, slot);
    if (m) unlink(ix, slot, m);
    else {
      if (load<u32>(at(ix.count, slot)) >= cap) drop(ix, slot, load<u32>(at(ix.tail, slot)));
      if (ix.free) {
        m = ix.free;
        ix.free = load<u32>(node(ix, m), 12);
      } else m = ++ix.used;
      const q = node(ix, m);
      store<u64>(q, hash);
      store<u32>(q, slot, 16);
      tableInsert(ix, m);
      store<u32>(at(ix.count, slot), load<u32>(at(ix.count, slot)) + 1);
    }
    store<u32>(node(ix, m), now, 20);
    pushFront(ix, slot, m);
  }
}

/** The slot no longer holds these blocks (an engine's eviction event); absent ones are ignored. */
export function pixRemove(p: usize, slot: u32, hashes: usize, n: u32): void {
  const ix = changetype<Pix>(p);
  if (slot >= ix.slots) return;
  for (let i: u32 = 0; i < n; i++) {
    const m = find(ix, load<u64>(hashes + (<usize>i << 3)), slot);
    if (m) drop(ix, slot, m);
  }
}

// The length of the longest prefix of the chain the slot holds: probes blocks 0, 1, 3, 7, ...
// until one is missing, then bisects between the last held and the first missing.
function held(ix: Pix, slot: u32, hashes: usize, n: u32): u32 {
  let lo: u32 = 0;
  let hi = n;
  let probe: u32 = 0;
  let step: u32 = 1;
  while (probe < n) {
    if (find(ix, load<u64>(hashes + (<usize>probe << 3)), slot) == 0) {
      hi = probe;
      break;
    }
    lo = probe + 1;
    probe += step;
    step <<= 1;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (find(ix, load<u64>(hashes + (<usize>mid << 3)), slot)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * For every slot below `slots`, how many leading blocks of the chain it holds, as u32 at `out`
 * (0 for unused slots). Returns the most any slot holds.
 */
export function pixMatch(p: usize, hashes: usize, n: u32, now: u32, out: usize, slots: u32): u32 {
  const ix = changetype<Pix>(p);
  let best: u32 = 0;
  for (let s: u32 = 0; s < slots; s++) {
    let k: u32 = 0;
    if (s < ix.slots && load<u32>(at(ix.cap, s)) != 0 && n != 0) {
      expire(ix, s, now);
      if (load<u32>(at(ix.count, s)) != 0) k = held(ix, s, hashes, n);
    }
    store<u32>(at(out, s), k);
    if (k > best) best = k;
  }
  return best;
}

/**
 * A route's one call into the core: hashes a UTF-8 prompt's blocks to `hashes` (at most `max`)
 * and matches them (pixMatch). Returns the number of blocks; the best match is at out[slots].
 */
export function pixMatchText(p: usize, ptr: usize, len: u32, blockChars: u32, seed: u64, hashes: usize, max: u32, now: u32, out: usize, slots: u32): u32 {
  const n = prefixChainText(ptr, len, blockChars, seed, hashes, max);
  store<u32>(at(out, slots), pixMatch(p, hashes, n, now, out, slots));
  return n;
}

/** pixMatchText for token ids (u32 each). */
export function pixMatchTokens(p: usize, ptr: usize, count: u32, blockTokens: u32, seed: u64, hashes: usize, max: u32, now: u32, out: usize, slots: u32): u32 {
  const n = prefixChainTokens(ptr, count, blockTokens, seed, hashes, max);
  store<u32>(at(out, slots), pixMatch(p, hashes, n, now, out, slots));
  return n;
}

/** Bytes the index holds in the core's memory: nodes, table and per-slot arrays. */
export function pixBytes(p: usize): u32 {
  const ix = changetype<Pix>(p);
  return offsetof<Pix>() + ix.nodeCap * NODE + ((ix.mask + 1) << 2) + ix.slots * 16;
}
