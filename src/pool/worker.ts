// A BatchRouter worker: its own instance of the Wasm core, the ring tables it has been sent
// (loaded once per published snapshot), and one boundary crossing per task.
import { heapI32, heapU32, heapU8, scratch, wasmCore } from '../core/wasm.js';
import type { CountTask, SharedTable, Task } from './tasks.js';

const core = wasmCore();

/** Tables by snapshot id, oldest first; a few are kept for batches still running on old versions. */
const tables = new Map<number, number>();
const KEEP = 4;

function ringOf(t: SharedTable): number {
  const known = tables.get(t.id);
  if (known !== undefined) return known;
  const ring = core.ringNew(t.mode);
  try {
    const bytes = t.points * 8;
    const ptr = scratch(bytes);
    heapU32().set(new Uint32Array(t.table, 0, t.points * 2), ptr >>> 2);
    core.ringLoad(ring, ptr, ptr + t.points * 4, t.points, t.slots);
  } catch (error) {
    core.ringFree(ring);
    throw error;
  }
  tables.set(t.id, ring);
  if (tables.size > KEEP) {
    const [oldest, old] = tables.entries().next().value!;
    core.ringFree(old);
    tables.delete(oldest);
  }
  return ring;
}

/** Forgets every table: after a failure nothing half-built is reused. */
function reset(): void {
  for (const ring of tables.values()) core.ringFree(ring);
  tables.clear();
}

function countLines(task: CountTask): number {
  const len = task.end - task.start;
  const ptr = scratch(len);
  heapU8().set(new Uint8Array(task.text, task.offset + task.start, len), ptr);
  return core.countLines(ptr, len);
}

function run(task: Task): number {
  if (task.kind === 'count') return countLines(task);
  const ring = ringOf(task.table);
  switch (task.kind) {
    case 'hashed': {
      const n = task.end - task.start;
      const ptr = scratch(n * 8);
      heapU32().set(new Uint32Array(task.hashes, task.offset + task.start * 4, n), ptr >>> 2);
      core.ringLookupHashed(ring, ptr, n, ptr + n * 4);
      new Int32Array(task.out, task.outAt + task.start * 4, n).set(heapI32().subarray((ptr >>> 2) + n, (ptr >>> 2) + 2 * n));
      return n;
    }
    case 'keys': {
      const n = task.count;
      const offsets = new Uint32Array(task.offsets, task.offsetsAt, n + 1);
      const size = offsets[n]!;
      // Layout: offsets u32[n + 1], out i32[n], key bytes.
      const fixed = (2 * n + 1) * 4;
      const ptr = scratch(fixed + size);
      heapU32().set(offsets, ptr >>> 2);
      heapU8().set(new Uint8Array(task.bytes, task.bytesAt, size), ptr + fixed);
      const outPtr = ptr + (n + 1) * 4;
      core.ringLookupKeys(ring, ptr + fixed, ptr, n, outPtr);
      new Int32Array(task.out, task.outAt + task.at * 4, n).set(heapI32().subarray(outPtr >>> 2, (outPtr >>> 2) + n));
      return n;
    }
    case 'lines': {
      const len = task.end - task.start;
      // Layout: the text, padded to 4 bytes, then i32 slots.
      const outOffset = (len + 3) & ~3;
      const ptr = scratch(outOffset + task.count * 4);
      heapU8().set(new Uint8Array(task.text, task.offset + task.start, len), ptr);
      const n = core.ringLookupLines(ring, ptr, len, ptr + outOffset);
      if (n !== task.count) throw new Error(`text [${task.start}, ${task.end}) has ${n} lines, counted ${task.count}`);
      new Int32Array(task.out, task.outAt + task.at * 4, n).set(heapI32().subarray((ptr + outOffset) >>> 2, ((ptr + outOffset) >>> 2) + n));
      return n;
    }
  }
}

export default function route(task: Task): number {
  try {
    return run(task);
  } catch (error) {
    reset();
    throw error;
  }
}
