// Memory layout of the Wasm core: everything JavaScript reads or writes is described here.
//
// JavaScript talks to the module in numbers only (pointers, lengths, counts, slots). Tables live
// in blocks from the module's allocator (`alloc`/`free`, TLSF); a call that allocates may grow
// memory, after which JavaScript must take fresh views of `memory.buffer` (src/core/wasm.ts
// does so before every read).
//
// Ring (one per HashRing, allocated by ringNew; field offsets in bytes):
//    0 mode      u32  MODE_XXH32 | MODE_KETAMA | MODE_SHA1 (assembly/hash.ts)
//    4 count     u32  points in the table
//    8 cap       u32  capacity of pos/slot, not counting the sentinel
//   12 pos       ptr  u32[cap + 1] point positions, ascending; pos[count] = 0xFFFFFFFF
//   16 slot      ptr  u32[cap + 1] owning node slot of each point; slot[count] = slot[0]
//   20 shift     u32  32 - bucket bits
//   24 index     ptr  u32[(1 << bits) + 1]: index[b] = first point with pos >= b << shift
//   28 indexCap  u32  entries allocated for index
//   32 seen      ptr  u32[seenCap] per-slot marks for getN's distinct walk
//   36 seenCap   u32
//   40 epoch     u32  current getN mark
//
// NOTE: the sentinels let the lookup scan run without a bounds test: a scan that starts at
// index[b] stops at the latest at pos[count], and slot[count] wraps the ring to its first point.
//
// Insert spec (ringInsert), u32 x 4 per node: slot, byte offset of the id in the ids buffer,
// id length in bytes, point count (for MODE_KETAMA: md5 digests, 4 points each).
//
// Batch keys (ringLookupKeys): UTF-8 bytes back to back, and u32 offsets[n + 1] into them.
// Batch output: i32 per key, the slot, or -1 when the ring is empty.

// @ts-ignore: decorator
@unmanaged export class Ring {
  mode: u32;
  count: u32;
  cap: u32;
  pos: usize;
  slot: usize;
  shift: u32;
  index: usize;
  indexCap: u32;
  seen: usize;
  seenCap: u32;
  epoch: u32;
}

export const SPEC_WORDS: u32 = 4;

// Wrr (one per SmoothWrr, allocated by wrrNew; assembly/wrr.ts). Peer arrays are indexed by
// insertion order, capacity a multiple of 4 (padding peers: all zero, mask 0):
//    0 n          u32  peers
//    4 cap        u32
//    8 weight     ptr  i32[cap]  integer weights (scaled by the facade)
//   12 effective  ptr  i32[cap]  nginx effective_weight
//   16 current    ptr  i64[cap]  nginx current_weight
//   20 mask       ptr  i32[cap]  -1 eligible, 0 not
//   24 total      i32  W: sum of the weights of eligible peers
//   28 mode       u32  0 stepping, 1 recording a cycle, 2 serving the cycle
//   32 steady     u32  1 when after the last step every eligible effective_weight == weight
//   36 pos        u32  position in the recording or the cycle buffer
//   40 cycle      ptr  i32[cycleCap] recorded picks
//   44 cycleCap   u32
//   48 snapshot   ptr  i64[cap] current weights where the recording began
//   52 counts     ptr  u32[cap] scratch for wrrSync
//   56 cycleMax   u32  longest cycle kept (0: never)
//   60 simdFrom   u32  peers from which the v128 step is used
//   64 ineligible u32  peers with mask 0
//   68 cycleLen   u32  picks in the cycle buffer: W, or W repeated to at least 256
//
// Batch picks (wrrPickBatch): i32 per pick, the peer index, or -1 when none is eligible.

// @ts-ignore: decorator
@unmanaged export class Wrr {
  n: u32;
  cap: u32;
  weight: usize;
  effective: usize;
  current: usize;
  mask: usize;
  total: i32;
  mode: u32;
  steady: u32;
  pos: u32;
  cycle: usize;
  cycleCap: u32;
  snapshot: usize;
  counts: usize;
  cycleMax: u32;
  simdFrom: u32;
  ineligible: u32;
  cycleLen: u32;
}

/** Address of element i of an i32 array. */
// @ts-ignore: decorator
@inline export function w32(base: usize, i: u32): usize {
  return base + (<usize>i << 2);
}
/** Address of element i of an i64 array. */
// @ts-ignore: decorator
@inline export function w64(base: usize, i: u32): usize {
  return base + (<usize>i << 3);
}
