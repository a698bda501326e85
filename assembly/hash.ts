// Hash functions over bytes in linear memory. The TypeScript twin is src/core/hash.ts,
// function for function.
//
// xxh32 is the ring's default: fast, well distributed, and a published algorithm with known
// vectors (Yann Collet, https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md).
// md5 and sha1 exist only for the compatibility modes ('ketama' reproduces the npm hashring
// package, 'sha1' the textbook ring); they are written here because the core must not depend on
// node:crypto (browsers) and the batch paths must hash inside Wasm.

const P1: u32 = 2654435761;
const P2: u32 = 2246822519;
const P3: u32 = 3266489917;
const P4: u32 = 668265263;
const P5: u32 = 374761393;

// @ts-ignore: decorator
@inline function round(acc: u32, lane: u32): u32 {
  return rotl<u32>(acc + lane * P2, 13) * P1;
}

/** xxh32 of `len` bytes at `ptr` (spec section "XXH32 algorithm description"). */
export function xxh32(ptr: usize, len: u32, seed: u32): u32 {
  let p = ptr;
  const end = ptr + <usize>len;
  let h: u32;
  if (len >= 16) {
    const limit = end - 16;
    let v1 = seed + P1 + P2;
    let v2 = seed + P2;
    let v3 = seed;
    let v4 = seed - P1;
    do {
      v1 = round(v1, load<u32>(p));
      v2 = round(v2, load<u32>(p, 4));
      v3 = round(v3, load<u32>(p, 8));
      v4 = round(v4, load<u32>(p, 12));
      p += 16;
    } while (p <= limit);
    h = rotl<u32>(v1, 1) + rotl<u32>(v2, 7) + rotl<u32>(v3, 12) + rotl<u32>(v4, 18);
  } else {
    h = seed + P5;
  }
  h += len;
  while (p + 4 <= end) {
    h = rotl<u32>(h + load<u32>(p) * P3, 17) * P4;
    p += 4;
  }
  while (p < end) {
    h = rotl<u32>(h + <u32>load<u8>(p) * P5, 11) * P1;
    p++;
  }
  h ^= h >> 15;
  h *= P2;
  h ^= h >> 13;
  h *= P3;
  h ^= h >> 16;
  return h;
}

// ---- MD5 (RFC 1321) -------------------------------------------------------------------------

const MD5_K = memory.data<u32>([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);
const MD5_S = memory.data<u8>([
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
]);

/** The last digest: md5 writes 16 bytes here, sha1 20. */
export const DIGEST = memory.data(20);
// Padding scratch: the message tail, 0x80, zeros and the bit length take at most two blocks.
const TAIL = memory.data(128);

let a0: u32 = 0, b0: u32 = 0, c0: u32 = 0, d0: u32 = 0, e0: u32 = 0;

function md5Block(p: usize): void {
  let a = a0, b = b0, c = c0, d = d0;
  for (let i: u32 = 0; i < 64; i++) {
    let f: u32;
    let g: u32;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    f = f + a + load<u32>(MD5_K + (<usize>i << 2)) + load<u32>(p + (<usize>g << 2));
    a = d;
    d = c;
    c = b;
    b = b + rotl<u32>(f, <u32>load<u8>(MD5_S + <usize>i));
  }
  a0 += a;
  b0 += b;
  c0 += c;
  d0 += d;
}

/** Pads the message tail into TAIL; returns the number of blocks there (1 or 2). */
function pad(ptr: usize, len: u32, bigEndian: bool): u32 {
  const rest = len & 63;
  memory.copy(TAIL, ptr + <usize>(len - rest), rest);
  store<u8>(TAIL + rest, 0x80);
  const blocks: u32 = rest < 56 ? 1 : 2;
  const end = <usize>(blocks << 6);
  memory.fill(TAIL + rest + 1, 0, end - 8 - rest - 1);
  const bits = <u64>len << 3;
  store<u64>(TAIL + end - 8, bigEndian ? bswap<u64>(bits) : bits);
  return blocks;
}

/** md5 of `len` bytes at `ptr` into DIGEST (16 bytes). */
export function md5(ptr: usize, len: u32): usize {
  a0 = 0x67452301;
  b0 = 0xefcdab89;
  c0 = 0x98badcfe;
  d0 = 0x10325476;
  const full = <usize>(len & ~63);
  for (let off: usize = 0; off < full; off += 64) md5Block(ptr + off);
  const blocks = pad(ptr, len, false);
  md5Block(TAIL);
  if (blocks == 2) md5Block(TAIL + 64);
  store<u32>(DIGEST, a0);
  store<u32>(DIGEST, b0, 4);
  store<u32>(DIGEST, c0, 8);
  store<u32>(DIGEST, d0, 12);
  return DIGEST;
}

// ---- SHA-1 (FIPS 180-4) ---------------------------------------------------------------------

const W = memory.data(320);

function sha1Block(p: usize): void {
  for (let t: usize = 0; t < 16; t++) store<u32>(W + (t << 2), bswap<u32>(load<u32>(p + (t << 2))));
  for (let t: usize = 16; t < 80; t++) {
    const x = load<u32>(W + ((t - 3) << 2)) ^ load<u32>(W + ((t - 8) << 2)) ^
      load<u32>(W + ((t - 14) << 2)) ^ load<u32>(W + ((t - 16) << 2));
    store<u32>(W + (t << 2), rotl<u32>(x, 1));
  }
  let a = a0, b = b0, c = c0, d = d0, e = e0;
  for (let t: u32 = 0; t < 80; t++) {
    let f: u32;
    let k: u32;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const tmp = rotl<u32>(a, 5) + f + e + k + load<u32>(W + (<usize>t << 2));
    e = d;
    d = c;
    c = rotl<u32>(b, 30);
    b = a;
    a = tmp;
  }
  a0 += a;
  b0 += b;
  c0 += c;
  d0 += d;
  e0 += e;
}

/** sha1 of `len` bytes at `ptr` into DIGEST (20 bytes, big-endian words). */
export function sha1(ptr: usize, len: u32): usize {
  a0 = 0x67452301;
  b0 = 0xefcdab89;
  c0 = 0x98badcfe;
  d0 = 0x10325476;
  e0 = 0xc3d2e1f0;
  const full = <usize>(len & ~63);
  for (let off: usize = 0; off < full; off += 64) sha1Block(ptr + off);
  const blocks = pad(ptr, len, true);
  sha1Block(TAIL);
  if (blocks == 2) sha1Block(TAIL + 64);
  store<u32>(DIGEST, bswap<u32>(a0));
  store<u32>(DIGEST, bswap<u32>(b0), 4);
  store<u32>(DIGEST, bswap<u32>(c0), 8);
  store<u32>(DIGEST, bswap<u32>(d0), 12);
  store<u32>(DIGEST, bswap<u32>(e0), 16);
  return DIGEST;
}

/** Ring hash modes; the numbering is shared with src/core/ring/mode.ts. */
export const MODE_XXH32: u32 = 0;
export const MODE_KETAMA: u32 = 1;
export const MODE_SHA1: u32 = 2;

/** A key's position on the ring in the given mode. */
// @ts-ignore: decorator
@inline export function keyHash(mode: u32, ptr: usize, len: u32): u32 {
  if (mode == MODE_XXH32) return xxh32(ptr, len, 0);
  // hashring reads the first four md5 bytes little-endian; the textbook ring the top 32 bits.
  if (mode == MODE_KETAMA) return load<u32>(md5(ptr, len));
  return bswap<u32>(load<u32>(sha1(ptr, len)));
}
