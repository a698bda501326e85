// The messages between BatchRouter and its workers. Everything large is a SharedArrayBuffer, so
// posting a task copies a few numbers, never keys, tables or results.

/** A ring table at one version, published once and read by every worker (HashRing.snapshot). */
export interface SharedTable {
  /** Unique per published snapshot: a worker loads each id once. */
  readonly id: number;
  /** MODE_XXH32 | MODE_KETAMA | MODE_SHA1 (src/core/hash.ts). */
  readonly mode: number;
  /** u32 positions [0, points), then u32 slots [points, 2 * points). */
  readonly table: SharedArrayBuffer;
  readonly points: number;
  readonly slots: number;
}

/** Pre-hashed keys: hashes[start, end) of a shared u32 array → out[start, end). */
export interface HashedTask {
  readonly kind: 'hashed';
  readonly table: SharedTable;
  readonly hashes: SharedArrayBuffer;
  /** Byte offset of hashes[0] in its buffer. */
  readonly offset: number;
  readonly start: number;
  readonly end: number;
  /** Shared i32 results from byte offset outAt, indexed like the keys. */
  readonly out: SharedArrayBuffer;
  readonly outAt: number;
}

/** String keys, UTF-8 back to back with u32 offsets[count + 1] → out[at, at + count). */
export interface KeysTask {
  readonly kind: 'keys';
  readonly table: SharedTable;
  /** The keys' bytes start at bytesAt; offsets[0..count] (relative to bytesAt) at byte offsetsAt. */
  readonly bytes: SharedArrayBuffer;
  readonly bytesAt: number;
  readonly offsets: SharedArrayBuffer;
  readonly offsetsAt: number;
  readonly count: number;
  readonly at: number;
  readonly out: SharedArrayBuffer;
  readonly outAt: number;
}

/** Counts the lines of text[start, end) (the first pass of routeLines). */
export interface CountTask {
  readonly kind: 'count';
  readonly text: SharedArrayBuffer;
  readonly offset: number;
  readonly start: number;
  readonly end: number;
}

/** Keys one per line in text[start, end) (whole lines, `count` of them) → out from line `at`. */
export interface LinesTask {
  readonly kind: 'lines';
  readonly table: SharedTable;
  readonly text: SharedArrayBuffer;
  readonly offset: number;
  readonly start: number;
  readonly end: number;
  readonly count: number;
  readonly at: number;
  readonly out: SharedArrayBuffer;
  readonly outAt: number;
}

export type Task = HashedTask | KeysTask | CountTask | LinesTask;
