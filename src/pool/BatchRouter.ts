// Batch routing on worker threads: the same answers as ring.getSlots / getSlotsHashed, spread
// over a piscina pool.
//
// A ring is published to the workers as a snapshot in a SharedArrayBuffer (positions, slots),
// once per ring version; each worker loads it into its own Wasm instance once and keeps it while
// tasks name it. Keys and results live in shared memory too, so a task message is a few numbers.
// A batch is pinned to the snapshot taken when it starts: changes to the ring while it runs do
// not touch it.
import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { piscina } from '../lazy.js';
import { HashRing } from '../core/HashRing.js';
import { kHashModes } from '../core/hash.js';
import { checkKeyArray, encodeKeys, unitsOf } from '../core/keys.js';
import { checkOptions, integerIn } from '../core/options.js';
import { messageOf, show, WasmeshError } from '../core/WasmeshError.js';
import type { Mesh } from '../mesh/Mesh.js';
import type { SharedTable, Task } from './tasks.js';

/** Options of a BatchRouter. */
export interface BatchRouterOptions {
  /** Worker threads, 1 to 256. Default: the machine's available parallelism. */
  threads?: number;
  /**
   * Keys per task, at least 1,024. Default 262,144: piscina's round trip costs about 0.1 ms,
   * which this many pre-hashed keys (about 1 ms of lookups) keep under 10%
   * (bench/pool.bench.ts measures both).
   */
  chunkSize?: number;
  /** Batches smaller than this run on the calling thread, with no worker round trip. Default: chunkSize. */
  inlineBelow?: number;
  /** The worker module (a wrapper of src/pool/worker for instrumentation). Default: the built-in worker. */
  worker?: URL;
}

/** A ring published to the workers at one version, with the ids its slots had then. */
interface Published {
  readonly version: number;
  readonly table: SharedTable;
  readonly ids: readonly (string | undefined)[];
}

const kDefaultChunk = 262_144;
const kStringChunk = 8192;
// Spare key buffers kept between batches: two a batch (bytes, offsets), for two at once.
const kSpareBuffers = 4;
let nextTableId = 1;


/**
 * Shared buffers kept from one batch for the next: a fresh SharedArrayBuffer is zero-filled
 * memory whose every page faults in on first write, which cost the encoding thread as much as a
 * third of a string batch (the kernel's time, showing up as encodeInto's). A batch takes
 * buffers and gives them back when its workers are done; batches under way at once take
 * different ones.
 */
class SpareBuffers {
  readonly #free: SharedArrayBuffer[] = [];

  /** A buffer of at least `bytes`: the smallest spare one that fits, else a new one. */
  take(bytes: number): SharedArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const size = this.#free[i]!.byteLength;
      if (size >= bytes && (best < 0 || size < this.#free[best]!.byteLength)) best = i;
    }
    // A multiple of 8, so that a spare buffer fits any typed array the next batch lays over it.
    if (best < 0) return new SharedArrayBuffer(Math.ceil(bytes / 8) * 8);
    return this.#free.splice(best, 1)[0]!;
  }

  clear(): void {
    this.#free.length = 0;
  }

  /** Keeps the largest kSpareBuffers of these and the spare ones. */
  give(buffers: SharedArrayBuffer[]): void {
    this.#free.push(...buffers);
    this.#free.sort((a, b) => b.byteLength - a.byteLength);
    this.#free.length = Math.min(this.#free.length, kSpareBuffers);
  }
}

// Workers run the compiled worker next to this file; under tsx (tests, benchmarks) its bootstrap.
function defaultWorker(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './worker.dev.mjs' : './worker.js', import.meta.url);
}

/** Routes large batches of keys on worker threads; see README "Batch routing". */
export class BatchRouter {
  /** Worker threads in the pool. */
  readonly threads: number;
  /** Keys per task. */
  readonly chunkSize: number;
  /** Batches below this size run inline. */
  readonly inlineBelow: number;
  readonly #pool: Piscina;
  readonly #published = new WeakMap<HashRing, Published>();
  #closed = false;
  /** Batches under way, so close() can let them finish (piscina's close aborts queued tasks). */
  readonly #running = new Set<Promise<unknown>>();
  #abort = abortable();
  /** Shared buffers of finished batches' keys, for the next batch. */
  readonly #spare = new SpareBuffers();

  constructor(options: BatchRouterOptions = {}) {
    checkOptions<BatchRouterOptions>('BatchRouter', options, {
      threads: integerIn(1, 256),
      chunkSize: integerIn(1024, 1 << 26),
      inlineBelow: integerIn(0, 2 ** 32),
      worker: (v) => (v instanceof URL ? null : 'a URL of a worker module'),
    });
    this.threads = options.threads ?? Math.max(1, availableParallelism());
    this.chunkSize = options.chunkSize ?? kDefaultChunk;
    this.inlineBelow = options.inlineBelow ?? this.chunkSize;
    this.#pool = new (piscina().Piscina)({
      filename: (options.worker ?? defaultWorker()).href,
      minThreads: this.threads,
      maxThreads: this.threads,
      // A worker holds loaded tables: keep it rather than pay the load again after a pause.
      idleTimeout: Infinity,
    });
    // A worker that fails outside a task (at start-up) is reported only as an 'error' event, and
    // the queued tasks would wait forever for a worker that never starts: abort them with it.
    this.#pool.on('error', (error: unknown) => {
      const abort = this.#abort;
      this.#abort = abortable();
      abort.abort(error);
    });
  }

  /**
   * Slots of the keys (string keys, or u32 hashes from ring.hashKey), equal to
   * ring.getSlots(keys) / ring.getSlotsHashed(keys) as of this call. Map slots to ids with
   * ring.nodeAt while the ring is unchanged, or use routeIds. A Uint32Array over a
   * SharedArrayBuffer is read in place; any other is copied once into shared memory. `out`, an
   * Int32Array over a SharedArrayBuffer of at least keys.length, receives the slots and is
   * returned (reusing one saves allocating and faulting in fresh pages on every batch). String
   * keys are encoded into shared buffers that the router keeps for its next batches (the last
   * four, released by close()).
   */
  async route(ring: HashRing, keys: readonly string[] | Uint32Array, out?: Int32Array): Promise<Int32Array> {
    return (await this.#track(this.#route(ring, keys, out))).slots;
  }

  /** The owners of the keys (undefined on an empty ring), equal to ring.getBatch(keys) as of this call. */
  async routeIds(ring: HashRing, keys: readonly string[] | Uint32Array): Promise<(string | undefined)[]> {
    const { slots, ids } = await this.#track(this.#route(ring, keys));
    const nodeAt = ids ? (s: number) => ids[s] : (s: number) => ring.nodeAt(s);
    return Array.from(slots, (s) => (s < 0 ? undefined : nodeAt(s)));
  }

  /** The owners of the keys in a ring-hash service: keys.map(k => mesh.owner(service, k)). */
  routeMesh(mesh: Mesh, service: string, keys: readonly string[] | Uint32Array): Promise<(string | undefined)[]> {
    return this.routeIds(mesh.ring(service), keys);
  }

  /**
   * Slots of keys given as text, one per line ('\n' or '\r\n'; a last line without a newline
   * counts), as in a file of keys: the workers find, hash and look up the lines, so the calling
   * thread never decodes them. A Uint8Array over a SharedArrayBuffer is read in place. `out`
   * (shared, at least one entry per line) receives the slots; the result is its first lines.
   */
  routeLines(ring: HashRing, text: Uint8Array, out?: Int32Array): Promise<Int32Array> {
    return this.#track(this.#routeLines(ring, text, out));
  }

  /** Finishes the batches already started, then ends the workers. Routing afterwards throws CLOSED. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#running);
    this.#spare.clear();
    await this.#pool.destroy();
  }

  #track<T>(batch: Promise<T>): Promise<T> {
    this.#running.add(batch);
    const done = () => this.#running.delete(batch);
    batch.then(done, done);
    return batch;
  }

  async #routeLines(ring: HashRing, text: Uint8Array, out?: Int32Array): Promise<Int32Array> {
    this.#checkOpen();
    checkRing(ring);
    if (!(text instanceof Uint8Array)) throw new WasmeshError('INVALID_KEY', `text must be a Uint8Array, got ${show(text)}`);
    const published = this.#publish(ring);
    const shared = inShared(text);
    const buffer = shared.buffer as SharedArrayBuffer;
    // Chunks end after a newline, so every task holds whole lines; a first pass counts them so
    // that each chunk's slots go straight to their place in the result.
    const chunkBytes = Math.max(1 << 16, this.chunkSize * 16);
    const bounds = [0];
    while (bounds.at(-1)! < shared.length) {
      const next = bounds.at(-1)! + chunkBytes;
      const nl = next >= shared.length ? -1 : shared.indexOf(10, next);
      bounds.push(nl < 0 ? shared.length : nl + 1);
    }
    const chunks = bounds.slice(1).map((end, i) => ({ start: bounds[i]!, end }));
    const counts = await Promise.all(chunks.map(({ start, end }) => this.#run({ kind: 'count', text: buffer, offset: shared.byteOffset, start, end }, `bytes [${start}, ${end})`)));
    const lines = counts.reduce((sum, c) => sum + c, 0);
    const slots = checkOut(out, lines) ?? new Int32Array(new SharedArrayBuffer(lines * 4));
    let at = 0;
    await Promise.all(
      chunks.map(({ start, end }, i) => {
        const task: Task = { kind: 'lines', table: published.table, text: buffer, offset: shared.byteOffset, start, end, count: counts[i]!, at, out: slots.buffer as SharedArrayBuffer, outAt: slots.byteOffset };
        at += counts[i]!;
        return this.#run(task, `bytes [${start}, ${end})`);
      }),
    );
    return slots.subarray(0, lines);
  }

  async #route(ring: HashRing, keys: readonly string[] | Uint32Array, target?: Int32Array): Promise<{ slots: Int32Array; ids?: readonly (string | undefined)[] }> {
    this.#checkOpen();
    checkRing(ring);
    const hashed = keys instanceof Uint32Array;
    if (!hashed) checkKeyArray(keys);
    const n = keys.length;
    checkOut(target, n);
    // Inline: nothing can change the ring before the caller maps the slots, so no ids are pinned.
    if (n < this.inlineBelow || n === 0) return { slots: hashed ? ring.getSlotsHashed(keys, target) : ring.getSlots(keys as readonly string[], target) };
    const published = this.#publish(ring);
    const slots = target ?? new Int32Array(new SharedArrayBuffer(n * 4));
    const out = slots.buffer as SharedArrayBuffer;
    const outAt = slots.byteOffset;
    const runs: Promise<number>[] = [];
    const taken: SharedArrayBuffer[] = [];
    try {
      if (hashed) {
        const shared = inShared(keys);
        for (let start = 0; start < n; start += this.chunkSize) {
          const end = Math.min(n, start + this.chunkSize);
          const task: Task = { kind: 'hashed', table: published.table, hashes: shared.buffer as SharedArrayBuffer, offset: shared.byteOffset, start, end, out, outAt };
          runs.push(this.#run(task, `keys [${start}, ${end})`));
        }
      } else {
        // Strings live in this thread's heap, so this thread encodes them, a window at a time:
        // the workers hash and look up one task while the next is encoded.
        const list = keys as readonly string[];
        // A window is joined into one string to encode it, and a joined string past the young
        // generation costs this thread more in collection than the encoding itself (measured:
        // 26% of its time at 262,144 keys). A task gathers windows up to chunkSize keys: a
        // worker round trip (about 0.25 ms here) costs more than looking up 8,192 keys.
        const taskKeys = Math.max(kStringChunk, this.chunkSize);
        // Two shared buffers for the whole call, not two a task, and kept for the next call
        // (SpareBuffers: a fresh SharedArrayBuffer costs more than encoding into it). The keys'
        // bytes are sized for ASCII; a window that needs more gets its own buffer and task.
        const pool = new Uint8Array(this.#spare.take(Math.max(1, unitsOf(list))));
        const allOffsets = new Uint32Array(this.#spare.take((n + Math.ceil(n / kStringChunk)) * 4));
        taken.push(pool.buffer as SharedArrayBuffer, allOffsets.buffer as SharedArrayBuffer);
        // This thread is busy encoding, so it leaves workers one core fewer than the machine has:
        // at most that many tasks in flight (on two cores, one), waiting for the oldest before
        // sending more. A second worker on two cores only took the encoder's core (measured: two
        // workers 0.84x of one); the wait also lets this thread hand out the next task on time.
        const lanes = Math.max(1, Math.min(this.threads, availableParallelism() - 1));
        const inFlight: Promise<number>[] = [];
        const post = async (bytes: Uint8Array, bytesAt: number, offsetsAt: number, count: number, at: number) => {
          while (inFlight.length >= lanes) await inFlight.shift();
          const run = this.#run<number>({ kind: 'keys', table: published.table, bytes: bytes.buffer as SharedArrayBuffer, bytesAt, offsets: allOffsets.buffer as SharedArrayBuffer, offsetsAt: offsetsAt * 4, count, at, out, outAt }, `keys [${at}, ${at + count})`);
          runs.push(run);
          inFlight.push(run);
        };
        let used = 0, offAt = 0;
        // The task being filled: its first key, where its bytes and offsets begin, its keys.
        let taskAt = 0, taskBytesAt = 0, taskOffAt = 0, taskCount = 0;
        const flush = async () => {
          if (taskCount > 0) await post(pool, taskBytesAt, taskOffAt, taskCount, taskAt);
          taskCount = 0;
        };
        for (let start = 0; start < n; start += kStringChunk) {
          const end = Math.min(n, start + kStringChunk);
          const count = end - start;
          let own = undefined as Uint8Array | undefined;
          // Offsets relative to the task's first byte, as the worker reads them.
          const base = taskCount === 0 ? 0 : used - taskBytesAt;
          const offsets = encodeKeys(list, (need) => (used + need <= pool.length ? pool.subarray(used, used + need) : (own = new Uint8Array(new SharedArrayBuffer(need)))), start, end, base);
          if (own) {
            // Copied before any wait: encodeKeys reuses its offsets, and another batch may encode
            // meanwhile. This window is a task of its own: its offsets from 0.
            for (let i = 0; i <= count; i++) allOffsets[offAt + i] = offsets[i]! - base;
            await flush();
            await post(own, 0, offAt, count, start);
            offAt += count + 1;
            continue;
          }
          if (taskCount === 0) {
            taskAt = start;
            taskBytesAt = used;
            taskOffAt = offAt;
            allOffsets[offAt++] = 0;
          }
          allOffsets.set(offsets.subarray(1, count + 1), offAt);
          offAt += count;
          used += offsets[count]! - base;
          taskCount += count;
          if (taskCount >= taskKeys) await flush();
        }
        await flush();
      }
    } catch (error) {
      // A bad key found midway: let the chunks already sent finish before reporting it.
      await Promise.allSettled(runs);
      this.#spare.give(taken);
      throw error;
    }
    try {
      await Promise.all(runs);
    } finally {
      // Workers are done with them (a failed task is retried before its promise settles).
      await Promise.allSettled(runs);
      this.#spare.give(taken);
    }
    return { slots, ids: published.ids };
  }

  /** The ring's current table in shared memory: published once per version. */
  #publish(ring: HashRing): Published {
    const known = this.#published.get(ring);
    if (known && known.version === ring.version) return known;
    const snap = ring.snapshot();
    const points = snap.pos.length;
    const table = new SharedArrayBuffer(points * 8);
    new Uint32Array(table, 0, points).set(snap.pos);
    new Uint32Array(table, points * 4, points).set(snap.slot);
    const published: Published = {
      version: snap.version,
      table: { id: nextTableId++, mode: kHashModes[snap.hash as Exclude<typeof snap.hash, 'envoy'>], table, points, slots: snap.slots },
      ids: Array.from({ length: snap.slots }, (_, s) => ring.nodeAt(s)),
    };
    this.#published.set(ring, published);
    return published;
  }

  /**
   * Runs a task; a worker that crashed is replaced by piscina and one that threw drops its
   * tables, so the one retry runs on a fresh worker or a fresh state. A second failure rejects.
   */
  async #run<T = number>(task: Task, what: string): Promise<T> {
    try {
      return (await this.#pool.run(task, { signal: this.#abort.signal })) as T;
    } catch (first) {
      try {
        return (await this.#pool.run(task, { signal: this.#abort.signal })) as T;
      } catch (second) {
        throw new WasmeshError('WORKER_FAILED', `BatchRouter: a worker failed twice on ${what} (${failureOf(first)}; then ${failureOf(second)})`, { cause: second });
      }
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new WasmeshError('CLOSED', 'BatchRouter is closed: create a new one to route more batches');
  }
}

/** The caller's result array, if given: an Int32Array over shared memory with room for n. */
function checkOut(out: Int32Array | undefined, n: number): Int32Array | undefined {
  if (out === undefined || (out instanceof Int32Array && out.buffer instanceof SharedArrayBuffer && out.length >= n)) return out;
  const got = out instanceof Int32Array ? `length ${out.length}${out.buffer instanceof SharedArrayBuffer ? '' : ', not shared'}` : show(out);
  throw new WasmeshError('INVALID_ARGUMENT', `out must be an Int32Array over a SharedArrayBuffer of length >= ${n}, got ${got}`);
}

/** Every task of the pool listens on one signal: no listener limit for it. */
function abortable(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

function checkRing(ring: unknown): asserts ring is HashRing {
  if (!(ring instanceof HashRing)) throw new WasmeshError('INVALID_ARGUMENT', `ring must be a HashRing, got ${show(ring)}`);
}

/** The view itself when it is over shared memory, else a copy there. */
function inShared<T extends Uint32Array | Uint8Array>(view: T): T {
  if (view.buffer instanceof SharedArrayBuffer) return view;
  const copy = new (view.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(view.byteLength));
  copy.set(view as never);
  return copy;
}

/** A task's failure; an abort by the pool's 'error' event says the worker never started. */
function failureOf(error: unknown): string {
  if (error instanceof Error && error.name === 'AbortError' && error.cause instanceof Error) return `a worker did not start: ${error.cause.message}`;
  return messageOf(error);
}
