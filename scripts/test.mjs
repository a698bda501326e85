// Runs the uvu suites under tsx and ends with one plain summary line ("N passed, N failed"),
// so CI logs read the same as any other runner's. Exit code is uvu's.
import { spawn } from 'node:child_process';

const args = ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', '\\.test\\.ts$', '--no-color', ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });
let out = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  out += chunk;
});
child.on('close', (code) => {
  const num = (label) => Number(out.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? 0);
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped');
  // A suite whose component is missing (Chromium, etcd) outside CI prints "SKIP <why>" and
  // registers no tests: each such line counts as a skip here, so the summary never hides it.
  const skipLines = out.match(/^SKIP /gm)?.length ?? 0;
  console.log(`\ntests: ${passed} passed, ${total - passed - skipped} failed, ${skipped + skipLines} skipped`);
  process.exit(code ?? 1);
});
