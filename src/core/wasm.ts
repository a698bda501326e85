// Loads the Wasm core once per realm and keeps views of its memory current.
//
// Raw instantiation, not @assemblyscript/loader nor asc's generated bindings: our interface is
// numbers only (assembly/layout.ts), so their string and array marshalling would be dead weight.
// The bytes are embedded (wasm.bytes.ts). Node compiles them synchronously on first use (it allows
// any size), so the Node entries have no top-level await and load under require() too. A browser
// may refuse synchronous compilation on its main thread (Chrome long did over 4 KB): the browser
// entry awaits ready() at its top level, and code for environments without top-level await calls
// `await ready()` once before the first constructor.
import { WASM_BASE64 } from './wasm.bytes.js';
import { WasmeshError } from './WasmeshError.js';

/** The exports of assembly/index.ts. Pointers and lengths are byte offsets into `memory`. */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  alloc(size: number): number;
  free(ptr: number): void;
  xxh32(ptr: number, len: number, seed: number): number;
  ringNew(mode: number): number;
  ringFree(ring: number): void;
  ringCount(ring: number): number;
  ringPositions(ring: number): number;
  ringSlots(ring: number): number;
  ringClear(ring: number): void;
  ringInsert(ring: number, specs: number, n: number, ids: number): number;
  ringRemove(ring: number, slot: number): number;
  ringLookupHashed(ring: number, hashes: number, n: number, out: number): void;
  ringLookupHashedBinary(ring: number, hashes: number, n: number, out: number): void;
  ringLookupKeys(ring: number, bytes: number, offsets: number, n: number, out: number): void;
  ringLookupKey(ring: number, ptr: number, len: number): number;
  ringHashKey(ring: number, ptr: number, len: number): number;
  ringWalk(ring: number, hash: number, n: number, out: number): number;
  ringWalkKey(ring: number, ptr: number, len: number, n: number, out: number): number;
  ringLoad(ring: number, pos: number, slot: number, n: number, slots: number): void;
  countLines(bytes: number, len: number): number;
  ringLookupLines(ring: number, bytes: number, len: number, out: number): number;
  ringPickBounded(ring: number, ptr: number, len: number, loads: number, capacities: number, limits: number, eligible: number, c: number, total: number, totalCapacity: number, cost: number, out: number): number;
  ringPickBoundedHash(ring: number, h: number, loads: number, capacities: number, limits: number, eligible: number, c: number, total: number, totalCapacity: number, cost: number, out: number): number;
  wrrNew(cycleMax: number, simdFrom: number): number;
  wrrFree(table: number): void;
  wrrCount(table: number): number;
  wrrWeights(table: number): number;
  wrrEffective(table: number): number;
  wrrCurrent(table: number): number;
  wrrMask(table: number): number;
  wrrSync(table: number): void;
  wrrSet(table: number, i: number, weight: number): void;
  wrrRemove(table: number, i: number): void;
  wrrFail(table: number, i: number, maxFails: number): void;
  wrrSetEligible(table: number, i: number, eligible: number): void;
  wrrRescale(table: number, factor: number): void;
  wrrPick(table: number): number;
  wrrPickBatch(table: number, out: number, n: number): void;
  /** An i64: read it with BigInt.asUintN(64, ...). */
  xxh64(ptr: number, len: number, seed: bigint): bigint;
  prefixChainText(ptr: number, len: number, blockChars: number, seed: bigint, out: number, max: number): number;
  prefixChainTokens(ptr: number, count: number, blockTokens: number, seed: bigint, out: number, max: number): number;
  maglevBuild(specs: number, ids: number, weights: number, n: number, m: number, maxWeight: number, table: number, state: number, bits: number): void;
  maglevLookupKeys(table: number, m: number, bytes: number, offsets: number, n: number, out: number): void;
  maglevLookupHashed(table: number, m: number, hashes: number, n: number, out: number): void;
  maglevLookupKey(table: number, m: number, ptr: number, len: number): number;
  maglevIndex(m: number, ptr: number, len: number): number;
  envoyRingBuild(specs: number, ids: number, weights: number, n: number, scale: number, pos: number, slot: number, key: number, tpos: number, tslot: number, counts: number): number;
  envoyRingIndex(pos: number, count: number, index: number, bits: number, h: bigint): number;
  envoyRingIndexBuild(pos: number, count: number, index: number, bits: number): void;
  envoyRingLookupKeys(pos: number, slot: number, count: number, index: number, bits: number, bytes: number, offsets: number, n: number, out: number): void;
  envoyRingLookupHashed(pos: number, slot: number, count: number, index: number, bits: number, hashes: number, n: number, out: number): void;
  envoyRingKeyIndex(pos: number, count: number, index: number, bits: number, ptr: number, len: number): number;
  pixNew(ttlMs: number): number;
  pixBytes(table: number): number;
  pixFree(table: number): void;
  pixSetCapacity(table: number, slot: number, blocks: number): void;
  pixCount(table: number, slot: number, now: number): number;
  pixRecord(table: number, slot: number, hashes: number, n: number, now: number): void;
  pixRemove(table: number, slot: number, hashes: number, n: number): void;
  pixMatch(table: number, hashes: number, n: number, now: number, out: number, slots: number): number;
  pixMatchText(table: number, ptr: number, len: number, blockChars: number, seed: bigint, hashes: number, max: number, now: number, out: number, slots: number): number;
  pixMatchTokens(table: number, ptr: number, count: number, blockTokens: number, seed: bigint, hashes: number, max: number, now: number, out: number, slots: number): number;
}

/** Per-ring tie resolvers, called by the core's merge when two nodes' points share a position. */
export const tieResolvers = new Map<number, (newSlot: number, oldSlot: number) => boolean>();

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function imports(): WebAssembly.Imports {
  return {
    env: {
      abort(_msg: number, _file: number, line: number, column: number): never {
        throw new WasmeshError('CAPACITY', `wasmesh core aborted at ${line}:${column} (out of memory?)`);
      },
      tieBefore(ring: number, newSlot: number, oldSlot: number): number {
        return tieResolvers.get(ring)!(newSlot, oldSlot) ? 1 : 0;
      },
    },
  };
}

let loaded: { core?: CoreExports; error?: unknown } | undefined;
let loading: Promise<void> | undefined;

/**
 * Compiles the Wasm core ahead of use, asynchronously (as browsers require on their main thread).
 * Node and the browser entry need no call; a bundle without top-level await awaits it once before
 * the first constructor. Resolves even when WebAssembly is unavailable (constructors then say so).
 */
export function ready(): Promise<void> {
  if (loaded) return Promise.resolve();
  return (loading ??= (async () => {
    try {
      const module = await WebAssembly.compile(decodeBase64(WASM_BASE64));
      const instance = await WebAssembly.instantiate(module, imports());
      loaded ??= { core: instance.exports as unknown as CoreExports };
    } catch (error) {
      loaded ??= { error };
    }
  })());
}

// Synchronous compilation on first use: Node allows it at any size; a browser's main thread may
// refuse it (then ready() must come first, and the error says so).
function loadNow(): { core?: CoreExports; error?: unknown } {
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(WASM_BASE64)), imports());
    return { core: instance.exports as unknown as CoreExports };
  } catch (error) {
    return { error: loading ? error : new Error(`${String(error)}; call \`await ready()\` (from wasmesh) once before the first constructor where top-level await is unavailable`) };
  }
}

/** The Wasm core, or a WasmeshError saying why WebAssembly is unavailable here. */
export function wasmCore(): CoreExports {
  if (loaded?.core) return loaded.core;
  const l = loaded ?? loadNow();
  // A failure is kept only when ready() has had its say: before, ready() may still succeed.
  if (l.core || loading) loaded = l;
  if (l.core) return l.core;
  throw new WasmeshError('INVALID_OPTION', `engine "wasm" is unavailable here (${String(l.error)}); use engine: "ts"`);
}



let u8 = new Uint8Array(0);
let u32 = new Uint32Array(0);
let i32 = new Int32Array(0);

// A call that allocates may grow memory, which detaches the old buffer and empties every view
// of it: an empty view is the cheap sign to take new ones (reading memory.buffer on every call
// costs more than many a lookup).
function sync(): void {
  // The check alone here, the views taken in a function of its own: with them in this one, V8
  // did not inline it into a ring-hash route's lookup.
  if (u8.length === 0) views();
}

function views(): void {
  const b = wasmCore().memory.buffer;
  u8 = new Uint8Array(b);
  u32 = new Uint32Array(b);
  i32 = new Int32Array(b);
}

/** Byte view of the core's memory, current as of this call. */
export function heapU8(): Uint8Array {
  sync();
  return u8;
}

/** u32 view of the core's memory, current as of this call (index = byte offset >>> 2). */
export function heapU32(): Uint32Array {
  sync();
  return u32;
}

/** i32 view of the core's memory, current as of this call (index = byte offset >>> 2). */
export function heapI32(): Int32Array {
  sync();
  return i32;
}

let scratchPtr = 0;
let scratchSize = 0;

/**
 * A region of at least `bytes` bytes, 8-aligned, reused by every call on this thread (the core
 * is synchronous, so no two calls use it at once). Take views after this call.
 */
export function scratch(bytes: number): number {
  if (bytes > scratchSize) {
    const core = wasmCore();
    const size = Math.max(bytes, scratchSize * 2, 1 << 16);
    const ptr = core.alloc(size);
    if (scratchPtr) core.free(scratchPtr);
    scratchPtr = ptr;
    scratchSize = size;
  }
  return scratchPtr;
}
