// Dependencies the main entry names but a program may never use, loaded on first use by a
// synchronous require of their CommonJS builds: `import 'wasmesh'` for a ring or a Mesh does not
// pay for undici, piscina, prom-client, zod or yaml until something needs them (together they
// were most of the package's cold import). Types come from `import type`, which costs nothing.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The module `id`, required on the first call and kept. */
export function lazy<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}

export const zod = lazy<typeof import('zod')>('zod');
export const yaml = lazy<typeof import('yaml')>('yaml');
export const promClient = lazy<typeof import('prom-client')>('prom-client');
export const undici = lazy<typeof import('undici')>('undici');
export const piscina = lazy<typeof import('piscina')>('piscina');
export const sonicBoom = lazy<typeof import('sonic-boom')>('sonic-boom');
export const promText = lazy<typeof import('parse-prometheus-text-format')>('parse-prometheus-text-format');
