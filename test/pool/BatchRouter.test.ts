import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchRouter, HashRing, Mesh } from '../../src/index.js';
import { rejectsCode, throwsCode } from '../support/assert.js';

const t = suite('BatchRouter');
// Small tasks and no inline path, so even small batches cross to the workers in several tasks.
const router = new BatchRouter({ threads: 2, chunkSize: 1024, inlineBelow: 0 });
const faulty = new URL('./faultyWorker.mjs', import.meta.url);

const ringOf = (nodes: string[], hash: 'xxh32' | 'ketama' | 'sha1' = 'xxh32', vnodes = 40) => new HashRing({ hash, vnodes }).addMany(nodes);
const keysOf = (n: number, salt = '') => Array.from({ length: n }, (_, i) => `${salt}key-${i}-${(i * 2654435761) >>> 0}`);
const shared = (values: ArrayLike<number>) => {
  const a = new Uint32Array(new SharedArrayBuffer(values.length * 4));
  a.set(values);
  return a;
};
const text = (keys: string[], newline = '\n') => new TextEncoder().encode(keys.join(newline) + newline);

t.after(() => router.close());

t('equals getSlots / getSlotsHashed / getBatch on random rings and keys, in every form', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 0, maxLength: 40 }),
      fc.array(fc.string({ maxLength: 20 }), { minLength: 0, maxLength: 3000 }),
      fc.constantFrom('xxh32' as const, 'ketama' as const, 'sha1' as const),
      fc.integer({ min: 1, max: 200 }),
      async (nodes, keys, hash, vnodes) => {
        const ring = ringOf(nodes, hash, vnodes);
        const hashes = Uint32Array.from(keys, (k) => ring.hashKey(k));
        assert.equal(Array.from(await router.route(ring, keys)), Array.from(ring.getSlots(keys)));
        assert.equal(Array.from(await router.route(ring, hashes)), Array.from(ring.getSlotsHashed(hashes)));
        assert.equal(Array.from(await router.route(ring, shared(hashes))), Array.from(ring.getSlotsHashed(hashes)));
        assert.equal(await router.routeIds(ring, keys), ring.getBatch(keys));
        // Lines: keys without newlines, as a file holds them.
        const lines = keys.map((k) => k.replace(/[\r\n]/g, ''));
        if (lines.length) assert.equal(Array.from(await router.routeLines(ring, text(lines))), Array.from(ring.getSlots(lines)));
        ring.dispose();
      },
    ),
    { numRuns: 40 },
  );
});

t('lines: \\r\\n endings, a last line without a newline, empty lines, UTF-8 keys', async () => {
  const ring = ringOf(['a', 'b', 'c', 'd']);
  const keys = ['', 'x', 'ключ', '🔑', '', ...keysOf(5000)];
  const want = Array.from(ring.getSlots(keys));
  assert.equal(Array.from(await router.routeLines(ring, text(keys, '\r\n'))), want);
  assert.equal(Array.from(await router.routeLines(ring, new TextEncoder().encode(keys.join('\n')))), want);
  assert.equal(Array.from(await router.routeLines(ring, new Uint8Array(0))), []);
  const out = new Int32Array(new SharedArrayBuffer(keys.length * 4 + 40));
  const got = await router.routeLines(ring, text(keys), out);
  assert.is(got.buffer, out.buffer);
  assert.equal(Array.from(got), want);
});

t('a batch is routed against the ring as it was when the batch started', async () => {
  const ring = ringOf(['n1', 'n2', 'n3', 'n4']);
  const keys = keysOf(20_000);
  const before = ring.getBatch(keys);
  const beforeSlots = Array.from(ring.getSlots(keys));
  const pending = [router.route(ring, keys), router.routeIds(ring, keys), router.routeLines(ring, text(keys))] as const;
  // Changed while the batch is in flight: a node leaves (its slot freed) and two join.
  ring.remove('n2');
  ring.add('n5').add('n6');
  const [slots, ids, lines] = await Promise.all(pending);
  assert.equal(Array.from(slots), beforeSlots);
  assert.equal(Array.from(lines), beforeSlots);
  assert.equal(ids, before);
  assert.ok(ids.includes('n2'));
  // And the next batch sees the new ring.
  assert.equal(await router.routeIds(ring, keys), ring.getBatch(keys));
  assert.not.ok((await router.routeIds(ring, keys)).includes('n2'));
});

t('memory growth in a worker leaves every thread with a current view', async () => {
  const ring = ringOf(keysOf(50, 'node-'), 'xxh32', 160);
  const big = new BatchRouter({ threads: 2, chunkSize: 1 << 20, inlineBelow: 0 });
  try {
    for (const n of [1000, 3_000_000, 1000, 2_000_000]) {
      const hashes = new Uint32Array(n);
      for (let i = 0; i < n; i++) hashes[i] = Math.imul(i, 2654435761) >>> 0;
      const got = await big.route(ring, hashes);
      const want = ring.getSlotsHashed(hashes);
      assert.ok(got.every((s, i) => s === want[i]), `batch of ${n}`);
    }
  } finally {
    await big.close();
  }
});

t('routeMesh equals mesh.owner for every key', async () => {
  const mesh = new Mesh();
  mesh.apply({
    services: [{ name: 'llm', policy: 'ring-hash', endpoints: Array.from({ length: 6 }, (_, i) => ({ id: `gpu-${i}`, address: `127.0.0.1:${9000 + i}`, resources: { accelerator: i % 2 ? 'H100' : 'L4', count: 1 } })) }],
  });
  const keys = keysOf(5000);
  assert.equal(await router.routeMesh(mesh, 'llm', keys), keys.map((k) => mesh.owner('llm', k)));
});

t('a worker that crashes mid-batch does not lose it: the batch is retried on a fresh worker', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-pool-'));
  process.env.WASMESH_FAULT = `crash-once:${join(dir, 'crashed')}`;
  const r = new BatchRouter({ threads: 2, chunkSize: 1024, inlineBelow: 0, worker: faulty });
  try {
    const ring = ringOf(['a', 'b', 'c']);
    const keys = keysOf(10_000);
    assert.equal(Array.from(await r.route(ring, keys)), Array.from(ring.getSlots(keys)));
  } finally {
    await r.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

t('a worker that throws is retried; one that always fails rejects with WORKER_FAILED', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-pool-'));
  process.env.WASMESH_FAULT = `throw-once:${join(dir, 'threw')}`;
  const once = new BatchRouter({ threads: 1, chunkSize: 1024, inlineBelow: 0, worker: faulty });
  process.env.WASMESH_FAULT = 'crash-always';
  const always = new BatchRouter({ threads: 1, chunkSize: 1024, inlineBelow: 0, worker: faulty });
  const ring = ringOf(['a', 'b', 'c']);
  const keys = keysOf(3000);
  try {
    assert.equal(Array.from(await once.route(ring, keys)), Array.from(ring.getSlots(keys)));
    await rejectsCode(always.route(ring, keys), 'WORKER_FAILED', /failed twice on keys \[\d+, \d+\)/);
    // Small batches never reach a worker.
    const inline = new BatchRouter({ threads: 1, worker: faulty });
    assert.equal(Array.from(await inline.route(ring, keys)), Array.from(ring.getSlots(keys)));
    await inline.close();
  } finally {
    await Promise.all([once.close(), always.close()]);
    delete process.env.WASMESH_FAULT;
    rmSync(dir, { recursive: true, force: true });
  }
});

t('a worker that cannot start rejects the batch instead of leaving it waiting', async () => {
  const r = new BatchRouter({ threads: 1, chunkSize: 1024, inlineBelow: 0, worker: new URL('./no-such-worker.mjs', import.meta.url) });
  await rejectsCode(r.route(ringOf(['a']), keysOf(10)), 'WORKER_FAILED', /no-such-worker\.mjs/);
  await r.close();
});

t('close() finishes the batches already started, then routing is CLOSED', async () => {
  const r = new BatchRouter({ threads: 2, chunkSize: 1024, inlineBelow: 0 });
  const ring = ringOf(['a', 'b']);
  const keys = keysOf(50_000);
  const running = r.route(ring, keys);
  const closed = r.close();
  assert.equal(Array.from(await running), Array.from(ring.getSlots(keys)));
  await closed;
  await rejectsCode(r.route(ring, keys), 'CLOSED', /BatchRouter is closed/);
  await rejectsCode(r.routeLines(ring, text(keys)), 'CLOSED', /BatchRouter is closed/);
  await r.close();
});

t('string keys of any script, across many tasks: the same slots as the ring (chunks that outgrow the ASCII-sized buffer get their own)', async () => {
  const ring = ringOf(['h100', 'a100', 'l4', 'cpu'], 'xxh32', 80);
  const scripts = ['user:', 'ユーザー:', 'é', '🙂', 'x'.repeat(200)];
  const keys = Array.from({ length: 9000 }, (_, i) => (i % 1500 < 700 ? `user:${i}` : `${scripts[i % scripts.length]}${i}`));
  const slots = await router.route(ring, keys);
  assert.equal(Array.from(slots), Array.from(ring.getSlots(keys)));
});

t('string tasks gather several encoding windows; a window of wide keys goes alone, from its own buffer, between them', async () => {
  const ring = ringOf(['h100', 'a100', 'l4', 'cpu'], 'xxh32', 80);
  const gathering = new BatchRouter({ threads: 2, chunkSize: 20_000, inlineBelow: 0 });
  try {
    // Windows of 8,192: the third and the sixth hold wide keys (3 UTF-8 bytes a unit).
    const wide = (i: number) => Math.floor(i / 8192) === 2 || Math.floor(i / 8192) === 5;
    const keys = Array.from({ length: 60_000 }, (_, i) => (wide(i) ? `ユーザー:${i}` : `user:${i}`));
    assert.equal(Array.from(await gathering.route(ring, keys)), Array.from(ring.getSlots(keys)));
    const ascii = Array.from({ length: 60_000 }, (_, i) => `session-${i}`);
    assert.equal(Array.from(await gathering.route(ring, ascii)), Array.from(ring.getSlots(ascii)));
  } finally {
    await gathering.close();
  }
});

t('string batches routed at the same time do not mix: each encodes while the other waits for a worker', async () => {
  const ring = ringOf(['h100', 'a100', 'l4', 'cpu'], 'xxh32', 80);
  const small = new BatchRouter({ threads: 2, chunkSize: 20_000, inlineBelow: 0 });
  try {
    const wide = (i: number) => Math.floor(i / 8192) % 3 === 1;
    const a = Array.from({ length: 40_000 }, (_, i) => (wide(i) ? `ユーザー:${i}` : `user:${i}`));
    const b = Array.from({ length: 40_000 }, (_, i) => (wide(i + 8192) ? `🙂${i}` : `session-${i}`));
    const [ra, rb] = await Promise.all([small.route(ring, a), small.route(ring, b)]);
    assert.equal(Array.from(ra), Array.from(ring.getSlots(a)));
    assert.equal(Array.from(rb), Array.from(ring.getSlots(b)));
  } finally {
    await small.close();
  }
});

t('batches reuse the key buffers of earlier ones, of any size and in any order, alone and two at once', async () => {
  const ring = ringOf(['h100', 'a100', 'l4', 'cpu'], 'xxh32', 80);
  const small = new BatchRouter({ threads: 2, chunkSize: 4096, inlineBelow: 0 });
  try {
    // Byte counts of every remainder mod 8, a batch of wide keys, sizes up and down: a spare
    // buffer once holding one batch's bytes may next hold another's offsets.
    const sizes = [9_001, 3, 20_000, 4_097, 77, 12_345, 1, 8_192];
    for (const [k, n] of sizes.entries()) {
      const keys = Array.from({ length: n }, (_, i) => (k === 2 ? `ユーザー:${i}` : `k${k}:${i * 7}`.slice(0, 1 + ((i + k) % 9))));
      const [one, two] = await Promise.all([small.route(ring, keys), small.route(ring, keys.slice().reverse())]);
      assert.equal(Array.from(one), Array.from(ring.getSlots(keys)), `batch ${k}`);
      assert.equal(Array.from(two), Array.from(ring.getSlots(keys.slice().reverse())), `batch ${k}, reversed`);
    }
  } finally {
    await small.close();
  }
});

t('bad input: WasmeshError with the value and what is allowed', async () => {
  throwsCode(() => new BatchRouter({ threads: 0 }), 'INVALID_OPTION', /options\.threads must be an integer from 1 to 256, got 0/);
  throwsCode(() => new BatchRouter({ chunkSize: 10 }), 'INVALID_OPTION', /options\.chunkSize must be an integer from 1024/);
  throwsCode(() => new BatchRouter({ fast: true } as never), 'INVALID_OPTION', /options\.fast is not an option/);
  const ring = ringOf(['a']);
  await rejectsCode(router.route({} as never, ['k']), 'INVALID_ARGUMENT', /ring must be a HashRing, got an object/);
  await rejectsCode(router.route(ring, 'k' as never), 'INVALID_KEY', /keys must be an array of strings, got "k"/);
  await rejectsCode(router.route(ring, ['a', 7 as never, 'b']), 'INVALID_KEY', /keys\[1\] must be a string, got 7/);
  await rejectsCode(router.route(ring, ['a', 'b'], new Int32Array(2)), 'INVALID_ARGUMENT', /out must be an Int32Array over a SharedArrayBuffer of length >= 2, got length 2, not shared/);
  await rejectsCode(router.routeLines(ring, 'a\nb' as never), 'INVALID_KEY', /text must be a Uint8Array, got "a\\nb"/);
  await rejectsCode(router.routeLines(ring, text(['a', 'b', 'c']), new Int32Array(new SharedArrayBuffer(8))), 'INVALID_ARGUMENT', /length >= 3, got length 2/);
  // The bad key sits in a later chunk than the first: the batch still fails as a whole.
  const keys: unknown[] = keysOf(5000);
  keys[4000] = null;
  await rejectsCode(router.route(ring, keys as string[]), 'INVALID_KEY', /keys\[4000\] must be a string, got null/);
});

t.run();
