// A BatchRouter worker that fails on purpose, for the fault tests. WASMESH_FAULT (read when the
// worker starts) says how: "crash-once:<file>" ends the first worker thread to create <file>
// mid-task, "throw-once:<file>" throws there instead, "crash-always" ends every worker it runs in.
import { openSync, closeSync } from 'node:fs';
import route from '../../src/pool/worker.dev.mjs';

const [mode, file] = (process.env.WASMESH_FAULT ?? '').split(/:(.*)/s);

function first() {
  try {
    closeSync(openSync(file, 'wx'));
    return true;
  } catch {
    return false;
  }
}

export default function faulty(task) {
  if (mode === 'crash-always' || (mode === 'crash-once' && first())) process.exit(3);
  if (mode === 'throw-once' && first()) throw new Error('injected failure');
  return route(task);
}
