// Benchmarks measure the built package (dist/, what users import and `npx wasmesh` runs), not the
// sources through a loader: rebuilt first when a source file is newer than the build.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';

export const root = new URL('..', import.meta.url).pathname;

const newest = (dir: string): number =>
  Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(`${dir}/${e.name}`) : statSync(`${dir}/${e.name}`).mtimeMs)));

/** Builds dist/ when src/ or assembly/ changed since; returns dist's entry URL. */
export function ensureBuilt(): string {
  let built = 0;
  try {
    built = statSync(`${root}dist/index.js`).mtimeMs;
  } catch {
    // Not built yet.
  }
  if (Math.max(newest(`${root}src`), newest(`${root}assembly`)) > built) {
    process.stderr.write('  dist/ is older than src/: npm run build\n');
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return new URL('../dist/index.js', import.meta.url).href;
}
