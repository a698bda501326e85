import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, validateConfig, type MeshConfig } from '../../src/mesh/config.js';
import { kAcceleratorCatalog } from '../../src/mesh/catalog.js';
import { WasmeshError } from '../../src/index.js';

const good: MeshConfig = {
  version: 1,
  catalog: { MI300X: { capacity: 1307, memoryGiB: 192 } },
  services: [
    {
      name: 'chat',
      policy: 'ring-hash',
      hashKey: { jsonField: 'prompt', prefixChars: 256 },
      ring: { vnodes: 160, hash: 'xxh32', boundedLoad: 1.25 },
      endpoints: [
        { id: 'h100-1', address: '10.0.0.1:9000', zone: 'a', labels: { pool: 'gold' }, resources: { accelerator: 'H100', count: 8, memoryGiB: 80 } },
        { id: 'mi-1', address: '[::1]:9000', resources: { accelerator: 'MI300X', count: 8, throughput: 9000 } },
      ],
    },
    { name: 'embed', policy: 'p2c', endpoints: [] },
  ],
};

/** The problems an invalid config reports, one string each. */
function problems(config: unknown): string[] {
  try {
    validateConfig(config);
  } catch (error) {
    assert.instance(error, WasmeshError);
    assert.is((error as WasmeshError).code, 'INVALID_CONFIG');
    const list = ((error as WasmeshError).cause as { problems: string[] }).problems;
    for (const p of list) assert.ok((error as WasmeshError).message.includes(p), 'the message lists every problem');
    return list;
  }
  assert.unreachable('expected INVALID_CONFIG');
  return [];
}

const mutate = (fn: (c: any) => void) => {
  const c = structuredClone(good);
  fn(c);
  return c;
};

test('a good config validates and comes back deeply frozen, equal to the input', () => {
  const config = validateConfig(good);
  assert.equal(config, good);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.services[0]!.endpoints![0]!.resources));
  assert.not.ok(Object.isFrozen(good), 'the caller\'s object is not frozen');
});

test('every error path names its field and what is allowed', () => {
  const cases: [(c: any) => void, string][] = [
    [(c) => (c.services[0].endpoints[0].resources.count = 0), 'services[0].endpoints[0].resources.count: expected integer >= 1'],
    [(c) => (c.services[0].endpoints[0].resources.count = 1.5), 'services[0].endpoints[0].resources.count: expected integer >= 1'],
    [(c) => (c.services[0].endpoints[0].resources.memoryGiB = -1), 'services[0].endpoints[0].resources.memoryGiB: expected number > 0'],
    [(c) => (c.services[0].endpoints[1].resources.throughput = 0), 'services[0].endpoints[1].resources.throughput: expected number > 0'],
    [(c) => (c.services[0].endpoints[0].resources.accelerator = 'B300'), 'services[0].endpoints[0].resources.accelerator: unknown accelerator "B300"; known: H200, H100'],
    [(c) => (c.services[0].endpoints[0].address = 'no-port'), 'services[0].endpoints[0].address: expected "host:port"'],
    [(c) => (c.services[0].endpoints[0].id = ''), 'services[0].endpoints[0].id: expected a non-empty string'],
    [(c) => (c.services[0].endpoints[0].id = 'gpu\r\n1'), 'services[0].endpoints[0].id: expected a name without control characters'],
    [(c) => (c.services[0].name = 'chat\u0000'), 'services[0].name: expected a name without control characters'],
    [(c) => (c.services[0].endpoints[1].id = 'h100-1'), 'services[0].endpoints[1].id: duplicate endpoint id "h100-1"'],
    [(c) => (c.services[1].name = 'chat'), 'services[1].name: duplicate service name "chat"'],
    [(c) => (c.services[0].policy = 'round-robin'), 'services[0].policy: expected one of "ring-hash", "swrr", "p2c"'],
    [(c) => (c.services[0].ring.vnodes = 0), 'services[0].ring.vnodes: expected integer from 1 to 10000'],
    [(c) => (c.services[0].ring.hash = 'md5'), 'services[0].ring.hash: expected one of "xxh32", "ketama", "sha1"'],
    [(c) => (c.services[0].ring.boundedLoad = 0.5), 'services[0].ring.boundedLoad: expected number >= 1'],
    [(c) => (c.services[0].hashKey = { query: 'x' }), 'services[0].hashKey: expected one of { header }, { cookie }, { jsonField, prefixChars? }'],
    [(c) => (c.services[0].endpoints[0].labels = { a: 1 }), 'services[0].endpoints[0].labels.a: expected a string'],
    [(c) => (c.catalog.MI300X.capacity = -3), 'catalog.MI300X.capacity: expected number > 0'],
    [(c) => (c.version = 2), 'version: expected 1'],
    [(c) => (c.services = 'all'), 'services: expected an array of services'],
    [(c) => (c.services[0].endpoints[0].weight = 3), 'services[0].endpoints[0]: Unrecognized key: "weight"'],
  ];
  for (const [fn, expected] of cases) {
    const list = problems(mutate(fn));
    assert.ok(list.some((p) => p.startsWith(expected)), `${expected}\n  got: ${list.join(' | ')}`);
  }
});

test('all problems are reported at once, in document order', () => {
  const list = problems(
    mutate((c) => {
      c.services[1].policy = 'x';
      c.services[0].endpoints[1].resources.count = 0;
      c.services[0].endpoints[0].resources.accelerator = 'Z';
    }),
  );
  assert.equal(list.map((p) => p.split(':')[0]), ['services[0].endpoints[0].resources.accelerator', 'services[0].endpoints[1].resources.count', 'services[1].policy']);
  assert.equal(problems(null), ['(root): Invalid input: expected object, received null']);
});

test('files: YAML and JSON load; unreadable and malformed files are INVALID_CONFIG with the reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-config-'));
  writeFileSync(join(dir, 'mesh.json'), JSON.stringify(good));
  assert.equal(await loadConfigFile(join(dir, 'mesh.json')), good);
  assert.is((await loadConfigFile('examples/mesh.yaml')).services.length, 3);
  assert.is((await loadConfigFile('examples/gateway.yaml')).proxy!.gateway!.budgets!.length, 3);
  writeFileSync(join(dir, 'bad.yaml'), 'services: [ {name: a\n');
  for (const [file, message] of [[join(dir, 'bad.yaml'), /is not valid YAML\/JSON/], [join(dir, 'missing.yaml'), /cannot read mesh config/]] as const) {
    try {
      await loadConfigFile(file);
      assert.unreachable();
    } catch (error) {
      assert.is((error as WasmeshError).code, 'INVALID_CONFIG');
      assert.match((error as Error).message, message);
    }
  }
});

test('the catalog gives every device a positive capacity, memory and a source', () => {
  for (const [name, spec] of Object.entries(kAcceleratorCatalog)) {
    assert.ok(spec.capacity > 0 && spec.memoryGiB >= 0 && spec.source.length > 10, name);
  }
  assert.ok(kAcceleratorCatalog.H100!.capacity > kAcceleratorCatalog.A100!.capacity);
  assert.ok(kAcceleratorCatalog.A100!.capacity > kAcceleratorCatalog.L4!.capacity);
  assert.ok(Object.isFrozen(kAcceleratorCatalog));
});

test('retry and sidecar hardening settings: every bad value named with what is allowed', () => {
  const config = {
    services: [{ name: 'chat', policy: 'swrr', retry: { retryOn: ['reset', 'sometimes'], methods: ['post'], sameEndpoint: 'yes' }, endpoints: [] }],
    proxy: {
      timeouts: { bodyIdleMs: 0, lingerMs: -1 },
      limits: { bufferBodyBytes: -1, maxUploadsPerEndpoint: 0, connectionsPerEndpoint: 1.5, maxQueuedPerEndpoint: -1, lingerBytes: -2 },
      forwarding: { xForwardedFor: 'replace', forwarded: 'drop', xRealIp: 'append' },
      normalizePath: 'on',
      accessLog: { level: 'verbose', file: '' },
    },
  };
  let message = '';
  try {
    validateConfig(config);
  } catch (error) {
    assert.instance(error, WasmeshError);
    message = (error as WasmeshError).message;
  }
  for (const line of [
    'services[0].retry.retryOn[1]: expected "connect-failure", "reset", "timeout", "5xx" or "429"',
    'services[0].retry.methods[0]: expected an upper-case method name such as "POST"',
    'services[0].retry.sameEndpoint: expected true or false',
    'proxy.timeouts.bodyIdleMs: expected number > 0',
    'proxy.timeouts.lingerMs: expected number >= 0',
    'proxy.limits.bufferBodyBytes: expected integer from 0 to 268435456',
    'proxy.limits.maxUploadsPerEndpoint: expected integer >= 1',
    'proxy.limits.connectionsPerEndpoint: expected integer >= 1',
    'proxy.limits.maxQueuedPerEndpoint: expected integer >= 0',
    'proxy.limits.lingerBytes: expected integer >= 0',
    'proxy.forwarding.xForwardedFor: expected one of "append", "overwrite", "pass", "strip"',
    'proxy.forwarding.forwarded: expected one of "append", "overwrite", "pass", "strip"',
    'proxy.forwarding.xRealIp: expected one of "overwrite", "pass", "strip"',
    'proxy.normalizePath: expected true or false',
    'proxy.accessLog.level: expected one of "all", "errors", "off"',
    'proxy.accessLog.file: expected a non-empty string',
  ]) assert.ok(message.includes(line), `${line}\nin:\n${message}`);
});


test('the proxy section: routes must name a service; ring.unit must be positive', () => {
  const config = {
    services: [{ name: 'chat', policy: 'ring-hash', ring: { unit: -4 }, endpoints: [] }],
    proxy: { routes: [{ pathPrefix: '/v1/chat', service: 'chat' }, { host: 'embed.local', service: 'embed' }, { pathPrefix: 'v1', service: 'chat' }], listen: { port: 70000 } },
  };
  try {
    validateConfig(config);
    assert.unreachable('invalid config accepted');
  } catch (error) {
    assert.instance(error, WasmeshError);
    const message = (error as WasmeshError).message;
    assert.match(message, 'services[0].ring.unit: expected a number > 0');
    assert.match(message, 'proxy.routes[1].service: no service "embed"');
    assert.match(message, 'proxy.routes[2].pathPrefix: expected a path starting with "/"');
    assert.match(message, 'proxy.listen.port: expected integer from 0 to 65535');
  }
  assert.is(validateConfig({ services: config.services.map((s) => ({ ...s, ring: { unit: 512 } })), proxy: { routes: [config.proxy.routes[0]!] } }).proxy!.routes!.length, 1);
});

test('gateway keys: engines, fallbacks, model routes, budgets and the budget store are checked with their paths', () => {
  const ep = { id: 'a', address: '10.0.0.1:80', resources: { accelerator: 'L4', count: 1 } };
  const problems = (config: object): string[] => {
    try {
      validateConfig(config);
      return [];
    } catch (error) {
      return (error as { cause: { problems: string[] } }).cause.problems;
    }
  };
  assert.equal(
    problems({
      services: [
        { name: 'a', policy: 'p2c', fallback: ['a', 'nope'], metrics: { engine: 'ollama', intervalMs: 1 }, engines: { maxKvUsage: 2, stale: 'maybe' }, endpoints: [{ ...ep, models: [''], metrics: { address: 'x' } }] },
      ],
      proxy: { routes: [{ model: '', service: 'a' }], gateway: { budgets: [{ tokensPerMinute: 0 }], budgetStore: { redis: 'http://x', onFailure: 'sometimes' } } },
    }),
    [
      'proxy.gateway.budgetStore.onFailure: expected one of "open", "closed"',
      'proxy.gateway.budgetStore.redis: expected a redis:// or rediss:// URL',
      'proxy.gateway.budgets[0].tokensPerMinute: expected number > 0',
      'proxy.routes[0].model: expected a non-empty string',
      'services[0].endpoints[0].metrics.address: expected "host:port"',
      'services[0].endpoints[0].models[0]: expected a non-empty string',
      'services[0].engines.maxKvUsage: expected number from 0 to 1',
      'services[0].engines.stale: expected one of "saturated", "ignore"',
      'services[0].fallback[0]: a service is not its own fallback',
      'services[0].fallback[1]: no service "nope"',
      'services[0].metrics.engine: expected one of "vllm", "sglang", "tgi", "trtllm"',
      'services[0].metrics.intervalMs: expected integer from 10 to 3600000',
    ],
  );
});

test.run();
