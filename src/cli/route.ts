// `wasmesh route`: a file of keys through a ring on worker threads, as key<TAB>node lines.
//
// The keys file is read into shared memory and handed to BatchRouter.routeLines as it is: the
// workers split, hash and look up the lines, and this thread only copies bytes to the output.
import cliProgress from 'cli-progress';
import { closeSync, createWriteStream, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { HashRing, type HashName } from '../core/HashRing.js';
import { WasmeshError } from '../core/WasmeshError.js';
import { BatchRouter } from '../pool/BatchRouter.js';

export interface RouteCommandOptions {
  ring: string;
  keys: string;
  threads: number;
  vnodes: number;
  hash: HashName;
  out?: string;
}

/** Inputs above this size show a progress bar (on stderr, so the output stays clean). */
const PROGRESS_FROM = 8 << 20;
/** Bytes of keys routed per step: the unit of progress and of output buffering. */
const STEP = 16 << 20;

/** Nodes file: one node per line, "id" or "id weight"; blank lines and # comments skipped. */
export function readNodes(file: string): [string, { weight: number }][] {
  const nodes: [string, { weight: number }][] = [];
  readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
    const text = line.replace(/#.*/, '').trim();
    if (!text) return;
    const [id, weight, extra] = text.split(/\s+/);
    const w = weight === undefined ? 1 : Number(weight);
    if (extra !== undefined || !(w > 0)) throw new WasmeshError('INVALID_ARGUMENT', `${file}:${i + 1}: expected "id" or "id weight" with weight > 0, got ${JSON.stringify(line)}`);
    nodes.push([id!, { weight: w }]);
  });
  if (nodes.length === 0) throw new WasmeshError('INVALID_ARGUMENT', `${file} lists no nodes`);
  return nodes;
}

/** The whole file in shared memory, so the workers read it where it lies. */
function readShared(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const text = new Uint8Array(new SharedArrayBuffer(fstatSync(fd).size));
    for (let at = 0; at < text.length; ) {
      const n = readSync(fd, text, at, text.length - at, null);
      if (n === 0) break;
      at += n;
    }
    return text;
  } finally {
    closeSync(fd);
  }
}

export async function routeCommand(o: RouteCommandOptions): Promise<void> {
  const ring = new HashRing({ vnodes: o.vnodes, hash: o.hash }).addMany(readNodes(o.ring));
  const text = readShared(o.keys);
  const sink = o.out ? createWriteStream(o.out) : process.stdout;
  // "\t<id>\n" per slot, encoded once.
  const enc = new TextEncoder();
  const tails = Array.from({ length: ring.snapshot().slots }, (_, s) => enc.encode(`\t${ring.nodeAt(s) ?? ''}\n`));
  const bar = text.length >= PROGRESS_FROM ? new cliProgress.SingleBar({ format: ' routing |{bar}| {percentage}% | {value}/{total} MB', stream: process.stderr, noTTYOutput: true, notTTYSchedule: 2000 }, cliProgress.Presets.shades_classic) : undefined;
  const megabytes = Math.ceil(text.length / 2 ** 20);
  bar?.start(megabytes, 0);
  const router = new BatchRouter({ threads: o.threads });
  let lines = 0;
  const started = performance.now();
  try {
    for (let start = 0; start < text.length; ) {
      const nl = start + STEP >= text.length ? -1 : text.indexOf(10, start + STEP);
      const end = nl < 0 ? text.length : nl + 1;
      const part = text.subarray(start, end);
      const slots = await router.routeLines(ring, part);
      // Waits for the sink to drain, so a slow reader of stdout bounds the memory held.
      if (!sink.write(joinLines(part, slots, tails))) await once(sink, 'drain');
      lines += slots.length;
      start = end;
      // Whole megabytes done, and the last (partial) one when the file is: the bar ends at 100%.
      bar?.update(start >= text.length ? megabytes : Math.floor(start / 2 ** 20));
    }
  } finally {
    bar?.stop();
    await router.close();
    if (sink !== process.stdout) await finished(sink.end());
  }
  const seconds = (performance.now() - started) / 1000;
  console.error(`routed ${lines} keys over ${ring.size} nodes (${ring.points} points) on ${o.threads} thread(s) in ${seconds.toFixed(2)} s${o.out ? ` -> ${o.out}` : ''}`);
}

/** key<TAB>node lines: each key's bytes (without its line ending) and its node's tail. */
function joinLines(text: Uint8Array, slots: Int32Array, tails: Uint8Array[]): Uint8Array {
  let size = text.length;
  for (let i = 0; i < slots.length; i++) size += tails[slots[i]!]!.length;
  const out = new Uint8Array(size);
  let at = 0;
  let start = 0;
  for (let i = 0; i < slots.length; i++) {
    let end = text.indexOf(10, start);
    const next = end < 0 ? text.length : end + 1;
    if (end < 0) end = text.length;
    if (end > start && text[end - 1] === 13) end--;
    out.set(text.subarray(start, end), at);
    at += end - start;
    const tail = tails[slots[i]!]!;
    out.set(tail, at);
    at += tail.length;
    start = next;
  }
  return out.subarray(0, at);
}
