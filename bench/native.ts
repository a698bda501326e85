// The native baseline: bench/native/ring.c, compiled here with the system's gcc (-O2), run on the
// ring's own table and the same keys. Without gcc the caller prints a SKIP line.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HashRing } from '../src/index.js';

const GCC = '/usr/bin/gcc';

export interface NativeRun {
  /** ns a key, each round: xxh32 of the UTF-8 bytes, then the lookup. */
  keys: number[];
  /** ns a key, each round: the lookup of a pre-hashed key. */
  hashed: number[];
  checksumKeys: number;
  checksumHashed: number;
}

/** Why the native baseline cannot run here, or undefined when it can. */
export function nativeMissing(): string | undefined {
  return existsSync(GCC) ? undefined : `${GCC} not found (apt-get install gcc)`;
}

/** Runs the C lookup `rounds` times over the ring's table, `keys` (UTF-8, one a line) and `hashes`. */
export function nativeRing(ring: HashRing, keys: readonly string[], hashes: Uint32Array, rounds: number): NativeRun {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-native-'));
  try {
    const binary = join(dir, 'ring');
    execFileSync(GCC, ['-O2', '-o', binary, new URL('./native/ring.c', import.meta.url).pathname]);
    const { pos, slot } = ring.snapshot();
    const table = new Uint32Array(1 + pos.length * 2);
    table[0] = pos.length;
    table.set(pos, 1);
    table.set(slot, 1 + pos.length);
    writeFileSync(join(dir, 'table'), table);
    writeFileSync(join(dir, 'keys'), keys.join('\n') + '\n');
    writeFileSync(join(dir, 'hashes'), hashes);
    const out = execFileSync(binary, [join(dir, 'table'), join(dir, 'keys'), join(dir, 'hashes'), String(rounds)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    return JSON.parse(out) as NativeRun;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The checksum ring.c prints: sum of slot x (i + 1), mod 2^32. */
export function checksum(slots: Int32Array): number {
  let sum = 0;
  for (let i = 0; i < slots.length; i++) sum = (sum + Math.imul(slots[i]!, i + 1)) >>> 0;
  return sum;
}
