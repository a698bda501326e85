import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

// etcd3 is an optional peer dependency: without it the package and its CLI still load, and
// wasmesh/etcd says what to install when it is used.
test('without etcd3 installed, wasmesh/etcd imports, and using it is MISSING_DEPENDENCY naming the package', () => {
  const script = `
    const etcd = await import('./src/mesh/etcd.ts');
    await import('./src/index.ts');
    try { etcd.etcdClient('127.0.0.1:1'); console.log('no error'); } catch (e) { console.log(e.code + ': ' + e.message); }`;
  const r = spawnSync(process.execPath, ['--import', './test/support/no-etcd3.mjs', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), 'MISSING_DEPENDENCY: wasmesh/etcd needs the etcd3 package, an optional peer dependency: npm install etcd3');
  // The CLI as well: commands that do not touch etcd run.
  const cli = spawnSync(process.execPath, ['--import', './test/support/no-etcd3.mjs', '--import', 'tsx', 'src/cli.ts', 'wrr', '--weights', '2,1', '--picks', '3'], { encoding: 'utf8' });
  assert.is(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, 'a b a');
});

test.run();
