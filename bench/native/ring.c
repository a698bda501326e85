/*
 * The ring lookup of wasmesh's core (assembly/ringLookup.ts, assembly/hash.ts), in C, as the
 * native baseline of bench/ring.bench.ts: the same table (read from a file the bench writes from
 * ring.snapshot()), the same bucket index, xxh32 over the same UTF-8 key bytes.
 *
 *   ring <table> <keys> <hashes> <rounds>
 *     table:  u32 count, then count positions (ascending), then count slots (little-endian)
 *     keys:   UTF-8 keys, one per line
 *     hashes: u32 hashes, for the pre-hashed lookups
 * Prints one JSON line: nanoseconds a key for each round of both kinds, and a checksum of the
 * slots each kind found (the bench compares them with the core's: an independent check too).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define P1 2654435761u
#define P2 2246822519u
#define P3 3266489917u
#define P4 668265263u
#define P5 374761393u
#define SCAN_LIMIT 16
#define MIN_BITS 4
#define MAX_BITS 20

static inline uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
static inline uint32_t read32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static uint32_t xxh32(const uint8_t *p, uint32_t len, uint32_t seed) {
  const uint8_t *end = p + len;
  uint32_t h;
  if (len >= 16) {
    const uint8_t *limit = end - 16;
    uint32_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    do {
      v1 = rotl(v1 + read32(p) * P2, 13) * P1;
      v2 = rotl(v2 + read32(p + 4) * P2, 13) * P1;
      v3 = rotl(v3 + read32(p + 8) * P2, 13) * P1;
      v4 = rotl(v4 + read32(p + 12) * P2, 13) * P1;
      p += 16;
    } while (p <= limit);
    h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
  } else {
    h = seed + P5;
  }
  h += len;
  while (p + 4 <= end) { h = rotl(h + read32(p) * P3, 17) * P4; p += 4; }
  while (p < end) { h = rotl(h + (*p) * P5, 11) * P1; p++; }
  h ^= h >> 15; h *= P2; h ^= h >> 13; h *= P3; h ^= h >> 16;
  return h;
}

static uint32_t *pos, *slot, *idx, shift;

static uint32_t lower_bound(uint32_t lo, uint32_t hi, uint32_t h) {
  uint32_t n = hi - lo;
  while (n > 0) {
    uint32_t half = n >> 1;
    if (pos[lo + half] < h) { lo += half + 1; n -= half + 1; } else n = half;
  }
  return lo;
}

static inline uint32_t find(uint32_t h) {
  uint32_t b = h >> shift, lo = idx[b], hi = idx[b + 1];
  if (hi - lo > SCAN_LIMIT) return lower_bound(lo, hi, h);
  lo += pos[lo] < h;
  lo += pos[lo] < h;
  while (pos[lo] < h) lo++;
  return lo;
}

static void *slurp(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(1); }
  fseek(f, 0, SEEK_END);
  *size = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = malloc(*size + 1);
  if (fread(buf, 1, *size, f) != *size) { perror(path); exit(1); }
  fclose(f);
  return buf;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: ring <table> <keys> <hashes> <rounds>\n"); return 2; }
  size_t size;
  uint32_t *table = slurp(argv[1], &size);
  uint32_t n = table[0];
  pos = malloc((n + 1) * 4);
  slot = malloc((n + 1) * 4);
  memcpy(pos, table + 1, n * 4);
  memcpy(slot, table + 1 + n, n * 4);
  pos[n] = 0xffffffffu;
  slot[n] = slot[0];
  uint32_t bits = n ? 32 - __builtin_clz(n) : 0;
  bits = bits < MIN_BITS ? MIN_BITS : bits > MAX_BITS ? MAX_BITS : bits;
  shift = 32 - bits;
  uint32_t buckets = 1u << bits;
  idx = calloc(buckets + 1, 4);
  for (uint32_t j = 0; j < n; j++) idx[(pos[j] >> shift) + 1]++;
  for (uint32_t b = 1; b <= buckets; b++) idx[b] += idx[b - 1];

  size_t keyBytes;
  uint8_t *text = slurp(argv[2], &keyBytes);
  uint32_t keys = 0;
  for (size_t i = 0; i < keyBytes; i++) keys += text[i] == '\n';
  uint32_t *start = malloc((keys + 1) * 4);
  uint32_t k = 0;
  start[0] = 0;
  for (size_t i = 0; i < keyBytes; i++) if (text[i] == '\n') start[++k] = (uint32_t)i + 1;

  size_t hashBytes;
  uint32_t *hashes = slurp(argv[3], &hashBytes);
  uint32_t nh = (uint32_t)(hashBytes / 4);
  uint32_t *out = malloc((keys > nh ? keys : nh) * 4);
  int rounds = atoi(argv[4]);

  printf("{\"keys\":[");
  uint32_t sumKeys = 0, sumHashed = 0;
  for (int r = 0; r < rounds; r++) {
    double t0 = now_ns();
    for (uint32_t i = 0; i < keys; i++) out[i] = slot[find(xxh32(text + start[i], start[i + 1] - start[i] - 1, 0))];
    double t1 = now_ns();
    printf("%s%.3f", r ? "," : "", (t1 - t0) / keys);
    if (r == 0) for (uint32_t i = 0; i < keys; i++) sumKeys += out[i] * (i + 1);
  }
  printf("],\"hashed\":[");
  for (int r = 0; r < rounds; r++) {
    double t0 = now_ns();
    for (uint32_t i = 0; i < nh; i++) out[i] = slot[find(hashes[i])];
    double t1 = now_ns();
    printf("%s%.3f", r ? "," : "", (t1 - t0) / nh);
    if (r == 0) for (uint32_t i = 0; i < nh; i++) sumHashed += out[i] * (i + 1);
  }
  printf("],\"checksumKeys\":%u,\"checksumHashed\":%u}\n", sumKeys, sumHashed);
  return 0;
}
