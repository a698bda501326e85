// Hash functions over bytes: the TypeScript twin of assembly/hash.ts, function for function
// (u32 math as Math.imul(...) >>> 0). See that file for why each exists and where it comes from.

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;
// Math.imul through a module constant: the same call once compiled, fewer bytes of bytecode
// (which V8's inlining budget counts) than a read of Math's property at each use.
const imul = Math.imul;

/** Ring hash modes; the numbering is shared with assembly/hash.ts. */
export const MODE_XXH32 = 0;
export const MODE_KETAMA = 1;
export const MODE_SHA1 = 2;
export type HashMode = typeof MODE_XXH32 | typeof MODE_KETAMA | typeof MODE_SHA1;

/** The mode of each hash name (HashRingOptions.hash), as the core and the twin number them. */
export const kHashModes = Object.freeze({ xxh32: MODE_XXH32, ketama: MODE_KETAMA, sha1: MODE_SHA1 } as const);

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function read32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);
}

/** xxh32's final mix, unsigned. */
function avalanche(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** xxh32 of b[ptr, ptr + len), unsigned. */
export function xxh32(b: Uint8Array, ptr: number, len: number, seed: number): number {
  let p = ptr;
  const end = ptr + len;
  let h: number;
  if (len >= 16) {
    const limit = end - 16;
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    do {
      v1 = round(v1, read32(b, p));
      v2 = round(v2, read32(b, p + 4));
      v3 = round(v3, read32(b, p + 8));
      v4 = round(v4, read32(b, p + 12));
      p += 16;
    } while (p <= limit);
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (p + 4 <= end) {
    h = Math.imul(rotl((h + Math.imul(read32(b, p), P3)) | 0, 17), P4);
    p += 4;
  }
  while (p < end) {
    h = Math.imul(rotl((h + Math.imul(b[p]!, P5)) | 0, 11), P1);
    p++;
  }
  return avalanche(h);
}

/**
 * xxh32 (seed 0) of an ASCII string's UTF-8 bytes, read from its characters; -1 when a character
 * is past ASCII (its UTF-8 is not its code unit: hash the encoded bytes instead). For one key this
 * is the whole hash, with no copy to bytes first (the copy cost as much as the hash and lookup).
 * Every character is or-ed into `seen` as read: packed into a lane, a character past 0xFF would
 * spill into its neighbour's byte (or past bit 31) and hide.
 */
export function xxh32Ascii(s: string): number {
  return s.length < 16 ? xxh32AsciiShort(s) : xxh32AsciiLong(s);
}

/**
 * xxh32Ascii of a string shorter than 16 characters (longer ones: xxh32Ascii). A get calls this
 * one itself, and it calls nothing but rotl: V8 inlines a caller's calls up to a budget of
 * bytecode (weighing a callee by its optimized code when it has some), and a get spread over
 * more and bigger functions ran out of it and called the hash instead of inlining it.
 */
export function xxh32AsciiShort(s: string): number {
  return xxh32AsciiTail(s, 0, (P5 + s.length) | 0, 0);
}

function xxh32AsciiLong(s: string): number {
  const len = s.length, limit = len - 16;
  let p = 0, seen = 0;
  let c0: number, c1: number, c2: number, c3: number;
  let v1 = (P1 + P2) | 0, v2 = P2 | 0, v3 = 0, v4 = -P1 | 0;
  do {
    c0 = s.charCodeAt(p), c1 = s.charCodeAt(p + 1), c2 = s.charCodeAt(p + 2), c3 = s.charCodeAt(p + 3);
    seen |= c0 | c1 | c2 | c3;
    v1 = round(v1, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
    c0 = s.charCodeAt(p + 4), c1 = s.charCodeAt(p + 5), c2 = s.charCodeAt(p + 6), c3 = s.charCodeAt(p + 7);
    seen |= c0 | c1 | c2 | c3;
    v2 = round(v2, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
    c0 = s.charCodeAt(p + 8), c1 = s.charCodeAt(p + 9), c2 = s.charCodeAt(p + 10), c3 = s.charCodeAt(p + 11);
    seen |= c0 | c1 | c2 | c3;
    v3 = round(v3, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
    c0 = s.charCodeAt(p + 12), c1 = s.charCodeAt(p + 13), c2 = s.charCodeAt(p + 14), c3 = s.charCodeAt(p + 15);
    seen |= c0 | c1 | c2 | c3;
    v4 = round(v4, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
    p += 16;
  } while (p <= limit);
  const h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18) + len) | 0;
  return xxh32AsciiTail(s, p, h, seen);
}

/**
 * xxh32's last (len & 15) bytes and final mix, from character p on, over the state h; -1 if a
 * character read (here or before: `seen`) is past ASCII. Calls nothing but rotl (see
 * xxh32AsciiShort): the final mix repeats avalanche's three lines. A get calling avalanche read
 * 1.34x-1.40x of consistent-hash's at 1,600 points in three probes; with these lines, 1.57x in
 * two of three (1.27x in the other).
 */
function xxh32AsciiTail(s: string, p: number, h: number, seen: number): number {
  const len = s.length;
  for (; p + 4 <= len; p += 4) {
    const c0 = s.charCodeAt(p), c1 = s.charCodeAt(p + 1), c2 = s.charCodeAt(p + 2), c3 = s.charCodeAt(p + 3);
    seen |= c0 | c1 | c2 | c3;
    h = imul(rotl((h + imul(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24), P3)) | 0, 17), P4);
  }
  for (; p < len; p++) {
    const c = s.charCodeAt(p);
    seen |= c;
    h = imul(rotl((h + imul(c, P5)) | 0, 11), P1);
  }
  if (seen > 0x7f) return -1;
  h = imul(h ^ (h >>> 15), P2);
  h = imul(h ^ (h >>> 13), P3);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---- MD5 (RFC 1321) -------------------------------------------------------------------------

const MD5_K = new Int32Array([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);
const MD5_S = new Uint8Array([
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
]);

/** The last digest: md5 writes 16 bytes here, sha1 20. */
export const DIGEST = new Uint8Array(20);
const digestView = new DataView(DIGEST.buffer);
const TAIL = new Uint8Array(128);
const tailView = new DataView(TAIL.buffer);
const state = new Int32Array(5);

function md5Block(b: Uint8Array, p: number): void {
  let a = state[0]!, bb = state[1]!, c = state[2]!, d = state[3]!;
  for (let i = 0; i < 64; i++) {
    let f: number;
    let g: number;
    if (i < 16) {
      f = (bb & c) | (~bb & d);
      g = i;
    } else if (i < 32) {
      f = (d & bb) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = bb ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (bb | ~d);
      g = (7 * i) & 15;
    }
    f = (f + a + MD5_K[i]! + read32(b, p + (g << 2))) | 0;
    a = d;
    d = c;
    c = bb;
    bb = (bb + rotl(f, MD5_S[i]!)) | 0;
  }
  state[0] = state[0]! + a;
  state[1] = state[1]! + bb;
  state[2] = state[2]! + c;
  state[3] = state[3]! + d;
}

/** Pads the message tail into TAIL; returns the number of blocks there (1 or 2). */
function pad(b: Uint8Array, ptr: number, len: number, bigEndian: boolean): number {
  const rest = len & 63;
  TAIL.set(b.subarray(ptr + len - rest, ptr + len));
  TAIL[rest] = 0x80;
  const blocks = rest < 56 ? 1 : 2;
  const end = blocks << 6;
  TAIL.fill(0, rest + 1, end - 8);
  tailView.setBigUint64(end - 8, BigInt(len) << 3n, !bigEndian);
  return blocks;
}

/** md5 of b[ptr, ptr + len) into DIGEST (16 bytes). */
export function md5(b: Uint8Array, ptr: number, len: number): Uint8Array {
  state[0] = 0x67452301;
  state[1] = 0xefcdab89;
  state[2] = 0x98badcfe;
  state[3] = 0x10325476;
  const full = len & ~63;
  for (let off = 0; off < full; off += 64) md5Block(b, ptr + off);
  const blocks = pad(b, ptr, len, false);
  md5Block(TAIL, 0);
  if (blocks === 2) md5Block(TAIL, 64);
  for (let i = 0; i < 4; i++) digestView.setInt32(i << 2, state[i]!, true);
  return DIGEST;
}

// ---- SHA-1 (FIPS 180-4) ---------------------------------------------------------------------

const W = new Int32Array(80);

function sha1Block(b: Uint8Array, p: number): void {
  for (let t = 0; t < 16; t++) {
    const q = p + (t << 2);
    W[t] = (b[q]! << 24) | (b[q + 1]! << 16) | (b[q + 2]! << 8) | b[q + 3]!;
  }
  for (let t = 16; t < 80; t++) W[t] = rotl(W[t - 3]! ^ W[t - 8]! ^ W[t - 14]! ^ W[t - 16]!, 1);
  let a = state[0]!, bb = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!;
  for (let t = 0; t < 80; t++) {
    let f: number;
    let k: number;
    if (t < 20) {
      f = (bb & c) | (~bb & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = bb ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (bb & c) | (bb & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = bb ^ c ^ d;
      k = 0xca62c1d6;
    }
    const tmp = (rotl(a, 5) + f + e + k + W[t]!) | 0;
    e = d;
    d = c;
    c = rotl(bb, 30);
    bb = a;
    a = tmp;
  }
  state[0] = state[0]! + a;
  state[1] = state[1]! + bb;
  state[2] = state[2]! + c;
  state[3] = state[3]! + d;
  state[4] = state[4]! + e;
}

/** sha1 of b[ptr, ptr + len) into DIGEST (20 bytes). */
export function sha1(b: Uint8Array, ptr: number, len: number): Uint8Array {
  state[0] = 0x67452301;
  state[1] = 0xefcdab89;
  state[2] = 0x98badcfe;
  state[3] = 0x10325476;
  state[4] = 0xc3d2e1f0;
  const full = len & ~63;
  for (let off = 0; off < full; off += 64) sha1Block(b, ptr + off);
  const blocks = pad(b, ptr, len, true);
  sha1Block(TAIL, 0);
  if (blocks === 2) sha1Block(TAIL, 64);
  for (let i = 0; i < 5; i++) digestView.setInt32(i << 2, state[i]!, false);
  return DIGEST;
}

/** A key's position on the ring in the given mode. */
export function keyHash(mode: HashMode, b: Uint8Array, ptr: number, len: number): number {
  if (mode === MODE_XXH32) return xxh32(b, ptr, len, 0);
  // hashring reads the first four md5 bytes little-endian; the textbook ring the top 32 bits.
  if (mode === MODE_KETAMA) {
    md5(b, ptr, len);
    return digestView.getUint32(0, true);
  }
  sha1(b, ptr, len);
  return digestView.getUint32(0, false);
}
