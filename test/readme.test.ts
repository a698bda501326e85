import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ETCD, startEtcd, type EtcdServer } from './support/etcd.js';

// Every ```ts block of the README runs as written, importing the built package by its name.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = new URL('./artifacts/', import.meta.url);
// Plain output: no colours from the runner's environment.
const plain = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
mkdirSync(dir, { recursive: true });

test('the README has runnable examples', () => {
  assert.ok(blocks.length >= 2);
});

// Examples that talk to etcd run against a real one started here, on its own port.
const needsEtcd = (code: string) => code.includes("'127.0.0.1:2379'");
let etcd: EtcdServer | undefined;
test.before(async () => {
  if (blocks.some(needsEtcd) && existsSync(ETCD)) etcd = await startEtcd();
});
test.after(() => etcd?.destroy());

blocks.forEach((code, i) => {
  // Without etcd (outside CI) an etcd example is not registered: it is counted as a skip, not a pass.
  if (needsEtcd(code) && !existsSync(ETCD) && !process.env.CI) {
    console.log(`SKIP README example ${i + 1}: it needs etcd (apt-get install etcd-server); under CI it fails instead.`);
    return;
  }
  test(`README example ${i + 1} runs and prints what its comments say`, () => {
    if (needsEtcd(code) && !etcd) assert.unreachable('etcd is missing; .ci/run installs etcd-server');
    const file = new URL(`readme-${i + 1}.mts`, dir);
    writeFileSync(file, etcd ? code.replaceAll('127.0.0.1:2379', etcd.endpoint) : code);
    const out = execFileSync(process.execPath, ['--import', 'tsx', file.pathname], { encoding: 'utf8', env: plain, cwd: dir });
    assert.ok(out.length > 0);
    if (needsEtcd(code)) assert.is(out.trim(), 'gpu-2 true');
    // A comment that shows output ("// DUPLICATE_NODE node ...") must appear in what ran.
    for (const [, shown] of code.matchAll(/^\s*\/\/ ([A-Z_]+ .+)$/gm)) assert.ok(out.includes(shown!), `output shows: ${shown}`);
  });
});

test('the ketama example prints what the hashring package returns', async () => {
  const { default: HashRingPkg } = await import('hashring');
  const expected = new HashRingPkg({ 'a:11211': 2, 'b:11211': 1 }).get('user:1');
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL('readme-2.mts', dir).pathname], { encoding: 'utf8', env: plain });
  assert.is(out.trim(), expected);
});


test('the round-robin example prints the nginx sequence and the weight shares it claims', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL('readme-3.mts', dir).pathname], { encoding: 'utf8', env: plain }).trim().split('\n');
  assert.is(out[0], 'a a b a c a a');
  assert.is(out[1], 'a');
  assert.is(out[out.length - 1], '16');
});

test('the mesh example applies version 1, keeps the session, and predicts a share that moves', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL('readme-4.mts', dir).pathname], { encoding: 'utf8', env: plain }).trim().split('\n');
  assert.is(out[0], '1');
  assert.match(out[1]!, / ring owner$/);
  assert.ok(Number(out[2]) > 0 && Number(out[2]) < 1);
  assert.is(out[3], 'l4-1');
});

test('the health example ejects b, brings it back in slow start, and counts the ejection', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL('readme-5.mts', dir).pathname], { encoding: 'utf8', env: plain });
  assert.match(out, 'b ejected (consecutive) until 30000 ms');
  assert.match(out, "[ 'b' ]");
  assert.match(out, '{ a: 121, b: 12.1, c: 121 }');
  assert.match(out, 'wasmesh_ejections_total{service="gen",endpoint="b",cause="consecutive"} 1');
});

test('the batch routing example agrees with the ring on every path', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL('readme-6.mts', dir).pathname], { encoding: 'utf8', env: plain }).trim().split('\n');
  assert.equal(out, ['true', 'true true']);
});

// Found by what they call, not by their place in the README.
const run = (needle: string) => {
  const i = blocks.findIndex((code) => code.includes(needle));
  assert.ok(i >= 0, `an example calls ${needle}`);
  return execFileSync(process.execPath, ['--import', 'tsx', new URL(`readme-${i + 1}.mts`, dir).pathname], { encoding: 'utf8', env: plain }).trim().split('\n');
};

test('the prompt blocks example shares the system prompt\'s whole blocks, and the seed separates models', () => {
  assert.equal(run('What is KV caching').slice(-2), ['9 9 9', 'true']);
});

test('the simulator example: round robin by capacity answers every request on the mixed fleet, random does not', () => {
  const last = run("from 'wasmesh/sim'").at(-1)!;
  assert.match(last, /^swrr: 100% answered, random: \d+% answered$/);
  assert.ok(Number(/random: (\d+)%/.exec(last)![1]) < 100, last);
});

test('the prefix-cache example: a cold miss by ring order, then the cached endpoint with 11 of 12 blocks; another model holds nothing', () => {
  const out = run("policy: 'prefix-cache'");
  assert.match(out[0]!, /^prefix-cache: cold miss \(no endpoint holds the first block\): ring order on the first block: /);
  assert.is(out[1], 'true 0.90');
  assert.is(out[2], 'prefix-cache: 11 of 12 blocks cached');
  assert.is(out[3], "{ 'h100-1': 0, 'h100-2': 0, 'l4-1': 0 }");
});

test('the prefix index example: what each endpoint holds of the prompt, in blocks, within the memory bound', () => {
  assert.equal(run('new PrefixIndex('), ["{ blocks: 23, endpoints: { 'gpu-1': 23, 'gpu-2': 10 } }", 'true']);
});

test('the Maglev example: Envoy\'s own table for six hosts, the entry a hash of 10 reads, a mesh maglev owner', () => {
  assert.equal(run('new Maglev('), ['92 94 90 91 95 90 93', '127.0.0.1:91', 'maglev owner']);
});

test('the Envoy ring example: Envoy\'s first two points, the host its test expects for a hash, getN led by the owner', () => {
  assert.equal(run("hash: 'envoy', minRingSize: 12"), ['127.0.0.1:94 833437586790550860, 127.0.0.1:92 928266305478181108', '127.0.0.1:93', 'true']);
});

test('the gateway example: the adapter goes where it runs, a queue of 9 is saturated, an unknown model is UNKNOWN_MODEL', () => {
  assert.equal(run('engineState('), ['h100-2', 'true', 'UNKNOWN_MODEL']);
});

test.run();
