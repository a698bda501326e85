// Prompt prefixes as chains of block hashes, for prefix-cache-aware routing: a prompt is cut into
// blocks (of characters, or of token ids) and block i is known by h[i] = xxh64(block[i], seed =
// h[i-1]), so two prompts share h[0..k] exactly when they share their first k blocks. 64 bits
// make accidental equality negligible over a fleet's caches (vLLM and llm-d chain block hashes
// the same way). The TypeScript twin is src/core/prefixHash.ts, function for function.
//
// xxh64 follows the spec (Yann Collet, xxhash_spec.md, "XXH64 algorithm description").

const Q1: u64 = 0x9e3779b185ebca87;
const Q2: u64 = 0xc2b2ae3d27d4eb4f;
const Q3: u64 = 0x165667b19e3779f9;
const Q4: u64 = 0x85ebca77c2b2ae63;
const Q5: u64 = 0x27d4eb2f165667c5;

// @ts-ignore: decorator
@inline function round64(acc: u64, lane: u64): u64 {
  return rotl<u64>(acc + lane * Q2, 31) * Q1;
}

// @ts-ignore: decorator
@inline function merge64(acc: u64, v: u64): u64 {
  return (acc ^ round64(0, v)) * Q1 + Q4;
}

/** xxh64 of `len` bytes at `ptr`. */
export function xxh64(ptr: usize, len: u32, seed: u64): u64 {
  let p = ptr;
  const end = ptr + <usize>len;
  let h: u64;
  if (len >= 32) {
    const limit = end - 32;
    let v1 = seed + Q1 + Q2;
    let v2 = seed + Q2;
    let v3 = seed;
    let v4 = seed - Q1;
    do {
      v1 = round64(v1, load<u64>(p));
      v2 = round64(v2, load<u64>(p, 8));
      v3 = round64(v3, load<u64>(p, 16));
      v4 = round64(v4, load<u64>(p, 24));
      p += 32;
    } while (p <= limit);
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
    h = merge64(h, v1);
    h = merge64(h, v2);
    h = merge64(h, v3);
    h = merge64(h, v4);
  } else {
    h = seed + Q5;
  }
  h += <u64>len;
  while (p + 8 <= end) {
    h = rotl<u64>(h ^ round64(0, load<u64>(p)), 27) * Q1 + Q4;
    p += 8;
  }
  if (p + 4 <= end) {
    h = rotl<u64>(h ^ (<u64>load<u32>(p) * Q1), 23) * Q2 + Q3;
    p += 4;
  }
  while (p < end) {
    h = rotl<u64>(h ^ (<u64>load<u8>(p) * Q5), 11) * Q1;
    p++;
  }
  h ^= h >> 33;
  h *= Q2;
  h ^= h >> 29;
  h *= Q3;
  h ^= h >> 32;
  return h;
}

/**
 * Chain hashes of a UTF-8 text's full blocks of `blockChars` characters (UTF-16 code units, as
 * JavaScript counts them: a 4-byte sequence is two; a block never splits a character, so one
 * that would cross the boundary closes its block). Writes at most `max` u64s at `out`; returns
 * how many. The last, partial block is not hashed: only full blocks can be cached.
 */
export function prefixChainText(ptr: usize, len: u32, blockChars: u32, seed: u64, out: usize, max: u32): u32 {
  let h = seed;
  let n: u32 = 0;
  let start = ptr;
  let units: u32 = 0;
  const end = ptr + <usize>len;
  for (let p = ptr; p < end && n < max; p++) {
    // Fast path at a block's start: blockChars bytes of ASCII are exactly one block (prompts are
    // mostly ASCII); 16 bytes are checked at once for a byte >= 0x80.
    if (p == start && p + <usize>blockChars <= end && asciiRun(p, blockChars)) {
      h = blockChars == 64 ? xxh64of64(p, h) : xxh64(p, blockChars, h);
      store<u64>(out + (<usize>n << 3), h);
      n++;
      start = p + <usize>blockChars;
      p = start - 1;
      continue;
    }
    const b = <u32>load<u8>(p);
    // A lead byte (not 10xxxxxx) starts a character: one code unit, two for a 4-byte sequence.
    if ((b & 0xc0) != 0x80) units += b >= 0xf0 ? 2 : 1;
    if (units >= blockChars) {
      // The block ends after this character's last byte.
      let q = p + 1;
      while (q < end && (<u32>load<u8>(q) & 0xc0) == 0x80) q++;
      h = xxh64(start, <u32>(q - start), h);
      store<u64>(out + (<usize>n << 3), h);
      n++;
      start = q;
      p = q - 1;
      units = 0;
    }
  }
  return n;
}

// xxh64 of exactly 64 bytes (the default block), unrolled: two stripes and no tail, the same
// result as xxh64(p, 64, seed). A block's hash seeds the next, so the chain runs at the latency
// of one hash; the loop and length tests of the general function were a third of it.
// @ts-ignore: decorator
@inline function xxh64of64(p: usize, seed: u64): u64 {
  let v1 = round64(seed + Q1 + Q2, load<u64>(p));
  let v2 = round64(seed + Q2, load<u64>(p, 8));
  let v3 = round64(seed, load<u64>(p, 16));
  let v4 = round64(seed - Q1, load<u64>(p, 24));
  v1 = round64(v1, load<u64>(p, 32));
  v2 = round64(v2, load<u64>(p, 40));
  v3 = round64(v3, load<u64>(p, 48));
  v4 = round64(v4, load<u64>(p, 56));
  let h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
  h = merge64(merge64(merge64(merge64(h, v1), v2), v3), v4) + 64;
  h ^= h >> 33;
  h *= Q2;
  h ^= h >> 29;
  h *= Q3;
  return h ^ (h >> 32);
}

// Whether `len` bytes at `p` are all ASCII.
function asciiRun(p: usize, len: u32): bool {
  const end = p + <usize>len;
  let acc = i8x16.splat(0);
  while (p + 16 <= end) {
    acc = v128.or(acc, v128.load(p));
    p += 16;
  }
  let tail: u32 = 0;
  while (p < end) tail |= <u32>load<u8>(p++);
  return i8x16.bitmask(acc) == 0 && tail < 0x80;
}

/** Chain hashes of full blocks of `blockTokens` token ids (u32, little-endian) at `ptr`. */
export function prefixChainTokens(ptr: usize, count: u32, blockTokens: u32, seed: u64, out: usize, max: u32): u32 {
  let h = seed;
  const blocks = min<u32>(count / blockTokens, max);
  const bytes = blockTokens << 2;
  for (let i: u32 = 0; i < blocks; i++) {
    h = bytes == 64 ? xxh64of64(ptr + <usize>(i * bytes), h) : xxh64(ptr + <usize>(i * bytes), bytes, h);
    store<u64>(out + (<usize>i << 3), h);
  }
  return blocks;
}
