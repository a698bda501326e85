import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The wasmesh command, run as a user would (from source, through tsx).
function wasmesh(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('user errors are one line without a stack trace: exit 2 for what the user typed, 1 for what failed around the command', async () => {
  const oneLine = (err: string, pattern: RegExp) => {
    assert.match(err, pattern);
    assert.not.match(err, /\n\s+at /);
  };
  let r = wasmesh('route', '--ring', 'nope.txt', '--keys', 'nope.txt');
  assert.is(r.code, 2);
  oneLine(r.err, /^wasmesh route: nope\.txt: no such file or directory\n$/);
  r = wasmesh('wrr', '--weights', '5,1,1', '--names', 'a,a,b');
  assert.is(r.code, 2);
  oneLine(r.err, /--names: "a" appears twice/);
  r = wasmesh('wrr', '--weights', '5,1', '--picks', '0');
  assert.is(r.code, 2);
  oneLine(r.err, /--picks.*must be an integer from 1 to 1000000, got 0/);
  r = wasmesh('ring', '--nodes', '3', '--weights', '1,x');
  assert.is(r.code, 2);
  oneLine(r.err, /^wasmesh ring: --weights: "x" is not a number > 0/);
  r = wasmesh('nosuch');
  assert.is(r.code, 2);
  // An endpoint every mesh would refuse is not registered (etcd is never asked: none runs on port 1).
  r = wasmesh('register', '--etcd', '127.0.0.1:1', '--service', 'llm', '--id', 'gpu-1', '--address', '127.0.0.1:9001', '--accelerator', 'H1000', '--count', '8');
  assert.is(r.code, 2);
  oneLine(r.err, /^wasmesh register: --accelerator "H1000" is not in the catalog; known: H200, H100/);
  // A port already taken: the command could not run, exit 1.
  const { createServer } = await import('node:net');
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = String((taken.address() as { port: number }).port);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'explore', '--port', port], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  taken.close();
  assert.is(code, 1);
  oneLine(err, new RegExp(`^wasmesh explore: 127\\.0\\.0\\.1:${port} is already in use\\n$`));
});

test('--help lists every command', () => {
  const { code, out } = wasmesh('--help');
  assert.is(code, 0);
  for (const word of ['demo', 'ring', 'wrr', 'explore', 'validate', 'route', 'proxy', 'bench', 'sim']) assert.match(out, word);
});

test('sim compares policies on a simulated fleet: a table, the JSON contract, an SVG chart; bad input is one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-sim-'));
  try {
    const json = join(dir, 'out.json'), svg = join(dir, 'out.svg');
    const { code, out, err } = wasmesh('sim', '--workload', 'shared-prefix', '--requests', '200', '--ladder', '10:40:2', '--policies', 'swrr,ring-hash', '--json', json, '--svg', svg);
    assert.is(code, 0, err);
    assert.match(out, /^swrr\s+0\.\d+/m);
    assert.match(out, /^ring-hash\s+0\.\d+/m);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal([result.workload, result.fleet, result.rate, result.ladder.length], ['shared-prefix', 'homogeneous', 40, 2]);
    for (const r of result.results) {
      for (const k of ['hitRate', 'outputTokensPerS', 'goodput', 'successRate', 'imbalance', 'routerMicros']) assert.type(r[k], 'number', k);
      for (const k of ['p50', 'p90', 'p99']) assert.type(r.ttftMs[k], 'number');
      for (const k of ['p50', 'p99']) assert.type(r.tpotMs[k], 'number');
    }
    assert.equal(result.results.map((r: { policy: string }) => r.policy), ['swrr', 'ring-hash']);
    const chart = readFileSync(svg, 'utf8');
    assert.match(chart, /^<svg /);
    assert.is((chart.match(/<polyline/g) ?? []).length, 6, 'three panels, a line per policy');
    const bad = wasmesh('sim', '--ladder', '60:3:4');
    assert.is(bad.code, 2);
    assert.match(bad.err, /ladder must be "from:to:steps"/);
    assert.not.match(bad.err, /\n\s+at /, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('route writes key<TAB>node for every line of a keys file, as ring.get maps it', async () => {
  const { HashRing } = await import('../src/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-route-'));
  try {
    const nodes = ['gpu-a 4', 'gpu-b', '# a comment', '', 'cpu-c 0.25'];
    const keys = Array.from({ length: 30_000 }, (_, i) => `session-${i}`).concat(['ключ', '']);
    writeFileSync(join(dir, 'nodes.txt'), nodes.join('\n'));
    writeFileSync(join(dir, 'keys.txt'), keys.join('\r\n') + '\r\n');
    const { code, out, err } = wasmesh('route', '--ring', join(dir, 'nodes.txt'), '--keys', join(dir, 'keys.txt'), '--threads', '2', '--vnodes', '80');
    assert.is(code, 0, err);
    const ring = new HashRing({ vnodes: 80 }).addMany([['gpu-a', { weight: 4 }], 'gpu-b', ['cpu-c', { weight: 0.25 }]]);
    assert.equal(out.split('\n').slice(0, -1), keys.map((k) => `${k}\t${ring.get(k)}`));
    assert.match(err, /routed 30002 keys over 3 nodes \(420 points\) on 2 thread\(s\)/);
    writeFileSync(join(dir, 'bad.txt'), 'gpu-a 1\ngpu-b -2\n');
    const bad = wasmesh('route', '--ring', join(dir, 'bad.txt'), '--keys', join(dir, 'keys.txt'));
    assert.is(bad.code, 2);
    assert.match(bad.err, /bad\.txt:2: expected "id" or "id weight" with weight > 0, got "gpu-b -2"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('demo simulates the fleet and prints both routings side by side', () => {
  const { code, out } = wasmesh('demo');
  assert.is(code, 0);
  for (const text of ['capacity-aware', 'capacity-blind', 'round robin', 'least request (p2c)', 'gave up (timeout)', 'p99 wait', 'bounded-load overflow', 'removed', 'joined', 'ejected', 'slow start', 'the goodput of the best alternative']) assert.match(out, text);
  assert.match(out, /^wasmesh, capacity-aware +[\d.]+ +\d+ +0 \(0\.0%\)/m);
});

test('proxy serves on loopback, answers its admin port, logs each request as a JSON line on stdout, and shuts down on SIGTERM', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'proxy', '--config', 'examples/mesh.yaml', '--port', '0', '--admin-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  for (let i = 0; i < 200 && !err.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
  const m = err.match(/listening on http:\/\/127\.0\.0\.1:(\d+), admin on http:\/\/127\.0\.0\.1:(\d+) \(config version 1: chat, llm, embed\)/);
  assert.ok(m, err);
  const health = await fetch(`http://127.0.0.1:${m![2]}/healthz`);
  assert.is(await health.text(), 'ok\n');
  const none = await fetch(`http://127.0.0.1:${m![1]}/elsewhere`);
  assert.is(none.status, 404);
  for (let i = 0; i < 100 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
  const line = JSON.parse(out.split('\n')[0]!);
  assert.equal([line.method, line.path, line.status, line.reason, line.attempts], ['GET', '/elsewhere', 404, 'no-route', 0]);
  assert.ok(line.durationMs >= 0 && !Number.isNaN(Date.parse(line.time)));
  child.kill('SIGTERM');
  assert.is(await exited, 0);
  assert.match(err, 'shutting down');
});

test('--help shows each option\'s range and the required ones', () => {
  const ring = wasmesh('ring', '--help');
  assert.match(ring.out, /--nodes <n> +nodes on the ring \(integer 1 to 100,000\)/);
  const route = wasmesh('route', '--help');
  assert.match(route.out, /--ring <file> +nodes, one per line: "id" or "id weight" \(required\)/);
  assert.match(wasmesh('demo', '--help').out, /offered load, fraction of capacity \(between 0 and 1\)/);
});

test('proxy --redis refuses what is not a Redis URL, in one line, exit 2', () => {
  const { code, err } = wasmesh('proxy', '--config', 'examples/mesh.yaml', '--redis', 'http://127.0.0.1:6379', '--port', '0', '--admin-port', '0');
  assert.is(code, 2);
  assert.is(err.trim(), 'wasmesh proxy: redis must be a redis:// or rediss:// URL, got "http://127.0.0.1:6379" [INVALID_OPTION]');
});

test('demo --proxy: the gateway in front of live engine servers, per policy; the prefix-aware policies find more of the prompts cached, the budget refuses some of team-a\'s', () => {
  const { code, out, err } = wasmesh('demo', '--proxy', '--proxy-seconds', '4');
  assert.is(code, 0, err);
  const rows: Record<string, { ok: number; limited: number; cached: number }> = Object.fromEntries([...out.matchAll(/^(swrr|prefix-cache|ttft) +(\d+) +(\d+) +(\d+) ms +(\d+) ms +([\d.]+)% +(\d+)$/gm)].map((m) => [m[1], { ok: Number(m[2]), limited: Number(m[3]), cached: Number(m[6]) }]));
  assert.equal(Object.keys(rows).sort(), ['prefix-cache', 'swrr', 'ttft'], out);
  assert.ok(rows['prefix-cache']!.cached > rows.swrr!.cached + 10, out);
  assert.ok(Object.values(rows).some((r) => r.limited > 0), out);
  assert.match(out, 'no request failed');
});

test('ring prints the spread and both engines\' speed, and the engines agree', () => {
  const { code, out } = wasmesh('ring', '--nodes', '20', '--vnodes', '100', '--keys', '20000');
  assert.is(code, 0);
  assert.match(out, 'ring: 20 nodes, vnodes 100, 2000 points, hash xxh32, 20000 keys');
  assert.match(out, 'engines agree on every key');
  const spread = out.match(/min ([\d.]+)%\s+mean ([\d.]+)%\s+max ([\d.]+)%\s+max\/mean ([\d.]+)/);
  assert.ok(spread, out);
  assert.is(Number(spread![2]), 5);
  assert.ok(Number(spread![1]) < 5 && Number(spread![3]) > 5);
});

test('ring with weights compares key share with weight share per class', () => {
  const { code, out } = wasmesh('ring', '--nodes', '12', '--keys', '50000', '--weights', '4,1');
  assert.is(code, 0);
  assert.match(out, /weight 4 .*of keys, 80\.000% of weight/);
});

test('wrr prints the nginx sequence and the shares', () => {
  const { code, out } = wasmesh('wrr', '--weights', '5,1,1', '--picks', '14');
  assert.is(code, 0);
  assert.match(out, 'a a b a c a a a a b a c a a');
  assert.match(out, '10 picks, 71.4% (71.4%)');
});

test('bad input exits 2 with the error code and what is allowed', () => {
  let r = wasmesh('wrr', '--weights', '5,x');
  assert.is(r.code, 2);
  assert.match(r.err, 'wasmesh wrr: --weights: "x" is not a number > 0 [INVALID_ARGUMENT]');
  r = wasmesh('wrr', '--weights', '5,1', '--names', 'a');
  assert.is(r.code, 2);
  assert.match(r.err, '--names has 1 names for 2 weights [INVALID_ARGUMENT]');
  r = wasmesh('ring', '--nodes', '0');
  assert.ok(r.code !== 0);
  assert.match(r.err, 'must be an integer from 1 to 100000, got 0');
  r = wasmesh('ring', '--nodes', '3', '--keys', '10', '--weights', '1,-2');
  assert.is(r.code, 2);
  assert.match(r.err, '--weights: "-2" is not a number > 0 [INVALID_ARGUMENT]');
});

test('validate reports a good file and lists every problem of a bad one', () => {
  let r = wasmesh('validate', 'examples/mesh.yaml');
  assert.is(r.code, 0);
  assert.match(r.out, 'examples/mesh.yaml: valid (3 services, 7 endpoints)');
  r = wasmesh('validate', 'test/mesh/fixtures/bad.yaml');
  assert.is(r.code, 2);
  assert.match(r.err, 'invalid mesh config (2 problems)');
  assert.match(r.err, 'services[0].policy: expected one of "ring-hash", "swrr", "p2c"');
  assert.match(r.err, 'services[0].endpoints[0].resources.count: expected integer >= 1');
});

test.run();
