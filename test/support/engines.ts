import type { EngineName } from '../../src/index.js';

/** Both engines; every behaviour test runs on each. */
export const ENGINES: readonly EngineName[] = ['wasm', 'ts'];

/** Deterministic key sets: `prefix0`, `prefix1`, ... */
export function keys(n: number, prefix = 'user:'): string[] {
  return Array.from({ length: n }, (_, i) => prefix + i);
}
