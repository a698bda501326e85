// The prefix index: which endpoint holds which KV blocks, by the blocks' chain hashes
// (assembly/prefix.ts), so that a router can ask, for every endpoint at once, how long a prefix
// of this prompt it already has cached. The TypeScript twin is src/core/prefix/TsPrefixTable.ts.
//
// Each endpoint (a slot) holds a tree of runs, as a radix tree holds a cache (SGLang's): a run is
// a sequence of blocks recorded together, its parent the run its first block follows. Recording a
// chain touches the runs on its path (deepest first, so that an ancestor is never older than its
// descendants), splits a run where the chain leaves it or ends inside it, and adds the blocks it
// lacks as a new leaf run. Runs form one LRU list per slot; over capacity, blocks go from the end
// of the least recently touched run (always a leaf); runs untouched for the TTL go whole. This is
// exactly per-block LRU with each chain's blocks touched last to first (a prompt's first block the
// most recent), at the cost of a few runs per record instead of a touch per block.
//
// What a slot holds of any chain stays a prefix of it (removing a block removes what follows it),
// so match() finds each slot's longest held prefix by exponential and binary search: O(log n)
// probes per slot.
//
// Layout (field offsets in bytes; `Pix`):
//    0 slots    u32  slots allocated in the per-slot arrays
//    4 cap      ptr  u32[slots] most blocks the slot holds (0: the slot is unused)
//    8 count    ptr  u32[slots] blocks it holds
//   12 head     ptr  u32[slots] most recently touched run + 1 (0: none)
//   16 tail     ptr  u32[slots] least recently touched run + 1
//   20 nodes    ptr  Node[nodeCap]; 24 nodeCap; 28 nodeUsed; 32 nodeFree (free nodes chained through prev)
//   36 runs     ptr  Run[runCap];   40 runCap;  44 runUsed;  48 runFree (chained through parent)
//   52 table    ptr  u64[mask + 1]: by (hash, slot), open addressing, linear probing; an entry is
//                     node + 1 (low word) and the key's 32-bit mix (high word): probes compare the
//                     mix before reading a node, and a deletion's shifts need no node at all
//   56 mask     u32
//   60 ttl      u32  ms a run stays without a touch; 0: forever
// Node (16 bytes): hash u64, run u32 + 1, prev u32 + 1 (the block before it in its run).
// Run (48 bytes): slot, parent + 1, children, tail + 1 (its last node), count, stamp (ms, wrapping),
//   lruPrev + 1 (newer), lruNext + 1 (older), firstChild + 1, nextSibling + 1, prevSibling + 1.
//
// Memory: 16 bytes a node and 8 to 16 of table (load <= 1/2), 48 bytes a run (a run holds one
// prompt's blocks past its shared prefix: tens of blocks).
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
  nodeUsed: u32;
  nodeFree: u32;
  runs: usize;
  runCap: u32;
  runUsed: u32;
  runFree: u32;
  table: usize;
  mask: u32;
  ttl: u32;
}

const NODE: u32 = 16;
const RUN: u32 = 48;
// Run fields.
const R_SLOT: u32 = 0, R_PARENT: u32 = 4, R_CHILDREN: u32 = 8, R_TAIL: u32 = 12, R_COUNT: u32 = 16, R_STAMP: u32 = 20;
const R_NEWER: u32 = 24, R_OLDER: u32 = 28, R_FIRST: u32 = 32, R_NEXT: u32 = 36, R_PREV: u32 = 40;

// @ts-ignore: decorator
@inline function nodeAt(ix: Pix, n: u32): usize {
  return ix.nodes + <usize>(n - 1) * NODE;
}
// @ts-ignore: decorator
@inline function runAt(ix: Pix, r: u32): usize {
  return ix.runs + <usize>(r - 1) * RUN;
}
// @ts-ignore: decorator
@inline function rget(ix: Pix, r: u32, field: u32): u32 {
  return load<u32>(runAt(ix, r) + field);
}
// @ts-ignore: decorator
@inline function rset(ix: Pix, r: u32, field: u32, v: u32): void {
  store<u32>(runAt(ix, r) + field, v);
}
// @ts-ignore: decorator
@inline function nhash(ix: Pix, n: u32): u64 {
  return load<u64>(nodeAt(ix, n));
}
// @ts-ignore: decorator
@inline function nrun(ix: Pix, n: u32): u32 {
  return load<u32>(nodeAt(ix, n), 8);
}
// @ts-ignore: decorator
@inline function nprev(ix: Pix, n: u32): u32 {
  return load<u32>(nodeAt(ix, n), 12);
}
// @ts-ignore: decorator
@inline function at(arr: usize, i: u32): usize {
  return arr + (<usize>i << 2);
}
// @ts-ignore: decorator
@inline function sget(arr: usize, slot: u32): u32 {
  return load<u32>(at(arr, slot));
}
// @ts-ignore: decorator
@inline function sset(arr: usize, slot: u32, v: u32): void {
  store<u32>(at(arr, slot), v);
}
// The 32-bit mix of a key; its low bits are the key's home bucket.
// @ts-ignore: decorator
@inline function mix(hash: u64, slot: u32): u32 {
  return <u32>(((hash + <u64>slot * 0x9e3779b97f4a7c15) * 0xff51afd7ed558ccd) >> 32);
}
// @ts-ignore: decorator
@inline function entry(ix: Pix, b: u32): usize {
  return ix.table + (<usize>b << 3);
}

/** A new, empty index; `ttl` ms (0: blocks never expire). */
export function pixNew(ttl: u32): usize {
  const ix = changetype<Pix>(heap.alloc(offsetof<Pix>()));
  memory.fill(changetype<usize>(ix), 0, offsetof<Pix>());
  ix.mask = 15;
  ix.table = zeroed(16 << 3);
  ix.ttl = ttl;
  growSlots(ix, 16);
  growRuns(ix, 64);
  return changetype<usize>(ix);
}

export function pixFree(p: usize): void {
  const ix = changetype<Pix>(p);
  heap.free(ix.cap);
  heap.free(ix.count);
  heap.free(ix.head);
  heap.free(ix.tail);
  if (ix.nodes) heap.free(ix.nodes);
  heap.free(ix.runs);
  heap.free(ix.table);
  heap.free(p);
}

function zeroed(bytes: usize): usize {
  const p = heap.alloc(bytes);
  memory.fill(p, 0, bytes);
  return p;
}

function grown(old: usize, fromBytes: usize, toBytes: usize): usize {
  const p = zeroed(toBytes);
  if (old) {
    memory.copy(p, old, fromBytes);
    heap.free(old);
  }
  return p;
}

function growSlots(ix: Pix, to: u32): void {
  const from = <usize>ix.slots << 2;
  ix.cap = grown(ix.cap, from, <usize>to << 2);
  ix.count = grown(ix.count, from, <usize>to << 2);
  ix.head = grown(ix.head, from, <usize>to << 2);
  ix.tail = grown(ix.tail, from, <usize>to << 2);
  ix.slots = to;
}

function growRuns(ix: Pix, to: u32): void {
  ix.runs = grown(ix.runs, <usize>ix.runUsed * RUN, <usize>to * RUN);
  ix.runCap = to;
}

// ---- the (hash, slot) -> node table ----

// The node of (hash, slot) + 1, or 0.
function find(ix: Pix, hash: u64, slot: u32): u32 {
  const m = mix(hash, slot);
  let b = m & ix.mask;
  let e = load<u64>(entry(ix, b));
  while (e != 0) {
    const n = <u32>e;
    if (<u32>(e >> 32) == m && nhash(ix, n) == hash && rget(ix, nrun(ix, n), R_SLOT) == slot) return n;
    b = (b + 1) & ix.mask;
    e = load<u64>(entry(ix, b));
  }
  return 0;
}

function tableInsert(ix: Pix, n: u32, slot: u32): void {
  const m = mix(nhash(ix, n), slot);
  let b = m & ix.mask;
  while (load<u64>(entry(ix, b)) != 0) b = (b + 1) & ix.mask;
  store<u64>(entry(ix, b), (<u64>m << 32) | <u64>n);
}

// Backward-shift deletion keeps every probe chain unbroken without tombstones.
function tableDelete(ix: Pix, n: u32, slot: u32): void {
  let i = mix(nhash(ix, n), slot) & ix.mask;
  while (<u32>load<u64>(entry(ix, i)) != n) i = (i + 1) & ix.mask;
  let j = i;
  for (;;) {
    j = (j + 1) & ix.mask;
    const e = load<u64>(entry(ix, j));
    if (e == 0) break;
    const k = <u32>(e >> 32) & ix.mask;
    // The entry may move to i when its home is not cyclically within (i, j].
    if (i <= j ? k <= i || k > j : k <= i && k > j) {
      store<u64>(entry(ix, i), e);
      i = j;
    }
  }
  store<u64>(entry(ix, i), 0);
}

// The node pool and the table grow to hold `total` nodes; node numbers do not change.
function reserve(ix: Pix, total: u32): void {
  if (total > ix.nodeCap) {
    // Exactly: capacities change on config changes, not per request.
    ix.nodes = grown(ix.nodes, <usize>ix.nodeUsed * NODE, <usize>total * NODE);
    ix.nodeCap = total;
  }
  if (<u64>ix.nodeCap * 2 > <u64>ix.mask + 1) {
    let size: u32 = 16;
    while (size < ix.nodeCap * 2) size <<= 1;
    heap.free(ix.table);
    ix.table = zeroed(<usize>size << 3);
    ix.mask = size - 1;
    // Every live node is the tail of its run or before it: walk each run of each slot.
    for (let s: u32 = 0; s < ix.slots; s++) {
      for (let r = sget(ix.head, s); r != 0; r = rget(ix, r, R_OLDER)) {
        for (let n = rget(ix, r, R_TAIL); n != 0; n = nprev(ix, n)) tableInsert(ix, n, s);
      }
    }
  }
}

// ---- runs: the LRU list and the tree ----

function lruUnlink(ix: Pix, r: u32): void {
  const slot = rget(ix, r, R_SLOT);
  const newer = rget(ix, r, R_NEWER), older = rget(ix, r, R_OLDER);
  if (newer) rset(ix, newer, R_OLDER, older);
  else sset(ix.head, slot, older);
  if (older) rset(ix, older, R_NEWER, newer);
  else sset(ix.tail, slot, newer);
}

function lruPushHead(ix: Pix, r: u32): void {
  const slot = rget(ix, r, R_SLOT);
  const head = sget(ix.head, slot);
  rset(ix, r, R_NEWER, 0);
  rset(ix, r, R_OLDER, head);
  if (head) rset(ix, head, R_NEWER, r);
  else sset(ix.tail, slot, r);
  sset(ix.head, slot, r);
}

// Puts `r` just older than `after` in the LRU list.
function lruInsertAfter(ix: Pix, after: u32, r: u32): void {
  const older = rget(ix, after, R_OLDER);
  rset(ix, r, R_NEWER, after);
  rset(ix, r, R_OLDER, older);
  rset(ix, after, R_OLDER, r);
  if (older) rset(ix, older, R_NEWER, r);
  else sset(ix.tail, rget(ix, r, R_SLOT), r);
}

function childLink(ix: Pix, parent: u32, r: u32): void {
  rset(ix, r, R_PARENT, parent);
  rset(ix, r, R_PREV, 0);
  if (parent == 0) {
    rset(ix, r, R_NEXT, 0);
    return;
  }
  const first = rget(ix, parent, R_FIRST);
  rset(ix, r, R_NEXT, first);
  if (first) rset(ix, first, R_PREV, r);
  rset(ix, parent, R_FIRST, r);
  rset(ix, parent, R_CHILDREN, rget(ix, parent, R_CHILDREN) + 1);
}

function childUnlink(ix: Pix, r: u32): void {
  const parent = rget(ix, r, R_PARENT);
  if (parent == 0) return;
  const prev = rget(ix, r, R_PREV), next = rget(ix, r, R_NEXT);
  if (prev) rset(ix, prev, R_NEXT, next);
  else rset(ix, parent, R_FIRST, next);
  if (next) rset(ix, next, R_PREV, prev);
  rset(ix, parent, R_CHILDREN, rget(ix, parent, R_CHILDREN) - 1);
}

function newRun(ix: Pix, slot: u32, parent: u32, stamp: u32): u32 {
  let r = ix.runFree;
  if (r) ix.runFree = rget(ix, r, R_PARENT);
  else {
    if (ix.runUsed == ix.runCap) growRuns(ix, ix.runCap * 2);
    r = ++ix.runUsed;
  }
  memory.fill(runAt(ix, r), 0, RUN);
  rset(ix, r, R_SLOT, slot);
  rset(ix, r, R_STAMP, stamp);
  childLink(ix, parent, r);
  return r;
}

// Frees an empty run with no children.
function dropRun(ix: Pix, r: u32): void {
  childUnlink(ix, r);
  lruUnlink(ix, r);
  rset(ix, r, R_PARENT, ix.runFree);
  ix.runFree = r;
}

// Removes the last block of a run.
function popTail(ix: Pix, r: u32): void {
  const n = rget(ix, r, R_TAIL);
  const slot = rget(ix, r, R_SLOT);
  tableDelete(ix, n, slot);
  rset(ix, r, R_TAIL, nprev(ix, n));
  rset(ix, r, R_COUNT, rget(ix, r, R_COUNT) - 1);
  store<u32>(nodeAt(ix, n), ix.nodeFree, 12);
  ix.nodeFree = n;
  sset(ix.count, slot, sget(ix.count, slot) - 1);
}

// Empties a run and frees it; a run that still has children hands them to its parent.
function clearRun(ix: Pix, r: u32): void {
  while (rget(ix, r, R_COUNT)) popTail(ix, r);
  const parent = rget(ix, r, R_PARENT);
  for (let c = rget(ix, r, R_FIRST); c != 0; ) {
    const next = rget(ix, c, R_NEXT);
    rset(ix, r, R_CHILDREN, rget(ix, r, R_CHILDREN) - 1);
    childLink(ix, parent, c);
    c = next;
  }
  rset(ix, r, R_FIRST, 0);
  dropRun(ix, r);
}

// The least recent block of the slot goes: the last of its least recent run (a leaf).
function evictOne(ix: Pix, slot: u32): void {
  const r = sget(ix.tail, slot);
  popTail(ix, r);
  if (rget(ix, r, R_COUNT) == 0) clearRun(ix, r);
}

// Splits run r after node x: r keeps its blocks up to x; a new run, r's only child and just older
// than r, takes the rest and r's children.
function splitAfter(ix: Pix, r: u32, x: u32): void {
  const slot = rget(ix, r, R_SLOT);
  const t = newRun(ix, slot, 0, rget(ix, r, R_STAMP));
  let moved: u32 = 0;
  let n = rget(ix, r, R_TAIL);
  while (n != x) {
    store<u32>(nodeAt(ix, n), t, 8);
    moved++;
    n = nprev(ix, n);
  }
  rset(ix, t, R_TAIL, rget(ix, r, R_TAIL));
  rset(ix, t, R_COUNT, moved);
  rset(ix, r, R_TAIL, x);
  rset(ix, r, R_COUNT, rget(ix, r, R_COUNT) - moved);
  // r's children follow its old tail: they go to t.
  for (let c = rget(ix, r, R_FIRST); c != 0; ) {
    const next = rget(ix, c, R_NEXT);
    childLink(ix, t, c);
    c = next;
  }
  rset(ix, r, R_FIRST, 0);
  rset(ix, r, R_CHILDREN, 0);
  childLink(ix, r, t);
  lruInsertAfter(ix, r, t);
}

// Touches the runs from r up to the root, deepest first: an ancestor ends newer than its descendants.
function touchPath(ix: Pix, r: u32, now: u32): void {
  while (r != 0) {
    lruUnlink(ix, r);
    lruPushHead(ix, r);
    rset(ix, r, R_STAMP, now);
    r = rget(ix, r, R_PARENT);
  }
}

// Drops the slot's runs untouched for longer than the TTL, oldest first.
function expire(ix: Pix, slot: u32, now: u32): void {
  if (ix.ttl == 0) return;
  for (;;) {
    const r = sget(ix.tail, slot);
    if (r == 0 || now - rget(ix, r, R_STAMP) <= ix.ttl) return;
    clearRun(ix, r);
  }
}

function totalCapacity(ix: Pix): u32 {
  let sum: u32 = 0;
  for (let s: u32 = 0; s < ix.slots; s++) sum += sget(ix.cap, s);
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
  while (sget(ix.count, slot) > cap) evictOne(ix, slot);
  sset(ix.cap, slot, cap);
  reserve(ix, totalCapacity(ix));
}

/** Blocks a slot holds (after expiring those past the TTL at `now`). */
export function pixCount(p: usize, slot: u32, now: u32): u32 {
  const ix = changetype<Pix>(p);
  if (slot >= ix.slots) return 0;
  expire(ix, slot, now);
  return sget(ix.count, slot);
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
 * The slot holds the first `n` blocks of a chain (u64 hashes at `hashes`), touched at `now`.
 * Beyond the slot's capacity only the first `cap` blocks are kept.
 */
export function pixRecord(p: usize, slot: u32, hashes: usize, n: u32, now: u32): void {
  const ix = changetype<Pix>(p);
  if (slot >= ix.slots) return;
  const cap = sget(ix.cap, slot);
  if (cap == 0) return;
  expire(ix, slot, now);
  if (n > cap) n = cap;
  const k = sget(ix.count, slot) ? held(ix, slot, hashes, n) : 0;
  let leaf: u32 = 0;
  if (k > 0) {
    const x = find(ix, load<u64>(hashes + (<usize>(k - 1) << 3)), slot);
    leaf = nrun(ix, x);
    if (rget(ix, leaf, R_TAIL) != x) splitAfter(ix, leaf, x);
  }
  // The path first (so eviction cannot take it), then room, then the new run under it.
  touchPath(ix, leaf, now);
  if (k == n) return;
  while (sget(ix.count, slot) + (n - k) > cap) evictOne(ix, slot);
  const r = newRun(ix, slot, leaf, now);
  let prev: u32 = 0;
  for (let i = k; i < n; i++) {
    let m = ix.nodeFree;
    if (m) ix.nodeFree = nprev(ix, m);
    else m = ++ix.nodeUsed;
    const q = nodeAt(ix, m);
    store<u64>(q, load<u64>(hashes + (<usize>i << 3)));
    store<u32>(q, r, 8);
    store<u32>(q, prev, 12);
    tableInsert(ix, m, slot);
    prev = m;
  }
  rset(ix, r, R_TAIL, prev);
  rset(ix, r, R_COUNT, n - k);
  sset(ix.count, slot, sget(ix.count, slot) + (n - k));
  lruPushHead(ix, r);
  touchPath(ix, leaf, now);
}

/**
 * The slot no longer holds these blocks (an engine's eviction events), nor what follows any of
 * them in the chains it holds (they can no longer be reached). Absent ones are ignored.
 */
export function pixRemove(p: usize, slot: u32, hashes: usize, n: u32): void {
  const ix = changetype<Pix>(p);
  if (slot >= ix.slots) return;
  for (let i: u32 = 0; i < n; i++) {
    const x = find(ix, load<u64>(hashes + (<usize>i << 3)), slot);
    if (x == 0) continue;
    const r = nrun(ix, x);
    if (rget(ix, r, R_TAIL) != x) splitAfter(ix, r, x);
    // The subtree below r goes, leaves first.
    let c = rget(ix, r, R_FIRST);
    while (c != 0) {
      while (rget(ix, c, R_FIRST) != 0) c = rget(ix, c, R_FIRST);
      const parent = rget(ix, c, R_PARENT);
      clearRun(ix, c);
      c = parent == r ? rget(ix, r, R_FIRST) : parent;
    }
    popTail(ix, r);
    if (rget(ix, r, R_COUNT) == 0) clearRun(ix, r);
  }
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
    if (s < ix.slots && sget(ix.cap, s) != 0 && n != 0) {
      expire(ix, s, now);
      if (sget(ix.count, s) != 0) k = held(ix, s, hashes, n);
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

/** Bytes the index holds in the core's memory: nodes, runs, table and per-slot arrays. */
export function pixBytes(p: usize): u32 {
  const ix = changetype<Pix>(p);
  return offsetof<Pix>() + ix.nodeCap * NODE + ix.runCap * RUN + ((ix.mask + 1) << 3) + ix.slots * 16;
}
