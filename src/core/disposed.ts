// What a disposed object's engine becomes: a table whose every use throws CLOSED. A Wasm table's
// memory is freed on dispose(), so reading it after would read whatever reuses that memory; the
// swap costs the live path nothing (no flag to test on every call) and dispose() stays idempotent.
import { WasmeshError } from './WasmeshError.js';

export function disposedTable<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get(_, prop) {
      if (prop === 'dispose') return () => {};
      throw new WasmeshError('CLOSED', `this ${what} was disposed: its memory is freed; build a new ${what}`);
    },
  });
}
