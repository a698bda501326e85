// `wasmesh bench`: the benchmark suite (bench/run.ts), which compares against npm peers that are
// development dependencies: it runs from a checkout of the repository (after `npm install`).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WasmeshError } from '../core/WasmeshError.js';

export async function benchCommand(o: { quick?: boolean }): Promise<void> {
  // src/cli/bench.ts and dist/cli/bench.js both sit two levels below the package root.
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const runner = `${root}/bench/run.ts`;
  if (!existsSync(runner) || !existsSync(`${root}/node_modules/tsx`) || !existsSync(`${root}/node_modules/benny`)) {
    throw new WasmeshError('UNAVAILABLE', `the benchmark suite runs from a checkout of wasmesh with its development dependencies (npm install there); ${runner} or tsx/benny not found`);
  }
  const code = await new Promise<number | null>((resolve) => {
    spawn(process.execPath, ['--import', 'tsx', runner, ...(o.quick ? ['--quick'] : [])], { cwd: root, stdio: 'inherit' }).on('exit', resolve);
  });
  if (code !== 0) process.exitCode = code ?? 1;
}
