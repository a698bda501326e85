import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { HashRing, type HashName } from '../../src/index.js';
import { xxh32 } from '../../src/core/hash.js';
import { ReferenceRing } from '../support/reference.js';
import { slotOfHash, slotOfHashSmall } from '../../src/core/ring/WasmRingTable.js';
import { CompactBuilder, CompactIndex } from '../../src/core/ring/CompactIndex.js';

// The Wasm engine and the TS twin must agree on every call, after any sequence of changes.

const ids = ['a', 'b', 'gpu-1', 'gpu-2', '10.0.0.1:8000', 'ü', 'z9', 'cpu'];
const op = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), id: fc.constantFrom(...ids), weight: fc.constantFrom(1, 2, 0.25, 0.5, 1.7, 3) }),
  fc.record({ kind: fc.constant('remove' as const), id: fc.constantFrom(...ids) }),
  fc.record({ kind: fc.constant('addMany' as const), ids: fc.uniqueArray(fc.constantFrom(...ids), { maxLength: 4 }) }),
);

const t = suite('engines agree');

for (const hash of ['xxh32', 'ketama', 'sha1'] as Exclude<HashName, 'envoy'>[]) {
  // Keys of every path a get takes: short ASCII (hashed in JavaScript), 16 to 64 ASCII characters
  // (its four-lane loop), longer or past ASCII (hashed in the core).
  t(`${hash}: random add/remove/weight sequences, then get/getN/getBatch on random keys`, () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ minLength: 16, maxLength: 80 })), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 200 }), (ops, keys, n, vnodes) => {
        const wasm = new HashRing({ hash, vnodes, engine: 'wasm' });
        const ts = new HashRing({ hash, vnodes, engine: 'ts' });
        for (const o of ops) {
          const apply = (r: HashRing) => {
            try {
              if (o.kind === 'add') r.add(o.id, { weight: o.weight });
              else if (o.kind === 'remove') return r.remove(o.id);
              else r.addMany(o.ids);
            } catch (error) {
              return (error as { code: string }).code;
            }
            return 'ok';
          };
          assert.is(apply(wasm), apply(ts));
          assert.equal(wasm.pointList(), ts.pointList());
        }
        assert.equal(wasm.getBatch(keys), ts.getBatch(keys));
        if (hash !== 'ketama') {
          // And both agree with the construction rebuilt from scratch by the reference ring.
          const ref = new ReferenceRing(hash, vnodes);
          for (const id of wasm.nodes()) ref.add(id, wasm.weightOf(id));
          assert.equal(wasm.getBatch(keys), keys.map((k) => ref.get(k)));
        }
        assert.equal(wasm.getBatch(keys), keys.map((k) => wasm.get(k)));
        for (const k of keys) assert.equal(wasm.getN(k, n), ts.getN(k, n));
        const hashes = Uint32Array.from(keys, (k) => wasm.hashKey(k));
        assert.equal(Array.from(wasm.getSlotsHashed(hashes)), Array.from(ts.getSlotsHashed(hashes)));
        wasm.dispose();
      }),
      { numRuns: 150 },
    );
  });
}

t('points at the same position order by node id, whichever node was added first', () => {
  // Find two ids whose points collide (about ten collisions among 300,000 points).
  const enc = new TextEncoder();
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let n = 0; !pair && n < 3000; n++) {
    const id = `t${n}`;
    for (let i = 0; i < 100; i++) {
      const b = enc.encode(`${id}_${i}`);
      const h = xxh32(b, 0, b.length, 0);
      const other = seen.get(h);
      if (other !== undefined && other !== id) pair = [other, id];
      seen.set(h, id);
    }
  }
  assert.ok(pair, 'a colliding pair exists');
  const [first, second] = pair!;
  const ref = new ReferenceRing('xxh32', 100);
  ref.add(first);
  ref.add(second);
  for (const engine of ['wasm', 'ts'] as const) {
    for (const order of [[first, second], [second, first]]) {
      const merged = new HashRing({ engine, vnodes: 100 });
      order.forEach((id) => merged.add(id));
      const bulk = new HashRing({ engine, vnodes: 100 }).addMany(order);
      for (const ring of [merged, bulk]) {
        assert.equal(ring.pointList(), ref.pointList());
        const tied = ring.pointList().filter(([p], k, all) => all.some(([q], j) => j !== k && q === p));
        assert.ok(tied.length >= 2);
        assert.equal(tied.map(([, id]) => id), [...tied.map(([, id]) => id)].sort(), `${engine} ${order}`);
        const lower = first < second ? first : second;
        for (const [p] of tied) assert.is(ring.nodeAt(ring.getSlotsHashed(new Uint32Array([p]))[0]!), lower, 'a key at the tie maps to the lower id');
      }
    }
  }
});

t("one key's lookup in JavaScript over the table's memory finds what a plain search finds, crowded buckets included", () => {
  // A made-up table in the core's layout (assembly/layout.ts, Ring): 16 buckets, bucket 5 crowded
  // far past the scan limit (only adversarial ids crowd one), so both of its searches run.
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 0xfffffffe }), { minLength: 1, maxLength: 120 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 40 }), (spread, probes) => {
      const crowd = Array.from({ length: 60 }, (_, i) => (5 << 28) + i * 7919);
      const pos = [...new Set([...spread, ...crowd])].sort((a, b) => a - b);
      const count = pos.length;
      const shift = 28, buckets = 16;
      const r = 0, posAt = 16, slotAt = posAt + count + 1, indexAt = slotAt + count + 1;
      const u = new Uint32Array(indexAt + buckets + 1);
      u.set([0, count, count, posAt * 4, slotAt * 4, shift, indexAt * 4], r);
      u.set([...pos, 0xffffffff], posAt);
      u.set([...pos.map((_, i) => i % 7), 0], slotAt);
      for (let b = 0; b <= buckets; b++) u[indexAt + b] = b === buckets ? count : pos.findIndex((p) => p >>> shift >= b) < 0 ? count : pos.findIndex((p) => p >>> shift >= b);
      for (const h of [...probes, ...crowd, ...crowd.map((c) => c + 1), 0, 0xffffffff]) {
        const at = pos.findIndex((p) => p >= h);
        const table = { count, pos: posAt, slot: slotAt, index: indexAt, shift };
        assert.is(slotOfHash(u, table, h >>> 0), at < 0 ? 0 : at % 7, `hash ${h}`);
        assert.is(slotOfHashSmall(u, table, h >>> 0), at < 0 ? 0 : at % 7, `hash ${h} (small table's path)`);
      }
    }),
    { numRuns: 200 },
  );
});

t("a big ring's compact copy answers as the core does, and is dropped at every change", () => {
  // 420 nodes x 160 points: past kCompactFrom, so single gets switch to the copy once the ring
  // has answered as many as it has points. Each change must drop it: a stale copy would still
  // send a removed node's keys to it, and none to an added one.
  // ASCII keys (hashed from their characters: under 16, and 16 to 64), others and ASCII keys past
  // kShortKey (hashed in the core).
  const keys = Array.from({ length: 30_000 }, (_, i) => (i % 7 === 0 ? `ключ-${i}` : i % 11 === 0 ? `${'session-'.repeat(9)}${i}` : i % 5 === 0 ? `tenant-0042/session-${i}` : `user:${i}`));
  const ids = Array.from({ length: 420 }, (_, i) => `10.1.${i >> 8}.${i & 255}:8000`);
  for (const engine of ['wasm', 'ts'] as const) {
    const ring = new HashRing({ engine, vnodes: 160 }).addMany(ids);
    const changes: (() => unknown)[] = [() => ring.remove(ids[7]!), () => ring.add('10.9.9.9:8000', { weight: 2 }), () => ring.add(ids[7]!), () => ring.remove('10.9.9.9:8000')];
    for (const change of [() => undefined, ...changes]) {
      change();
      const want = ring.getBatch(keys);
      // Three times over (90,000 gets, past the ring's 67,200 points): the copy is built, a
      // slice a get, during the third pass.
      for (let pass = 0; pass < 3; pass++) {
        for (let i = 0; i < keys.length; i++) if (ring.get(keys[i]!) !== want[i]) assert.unreachable(`${engine} pass ${pass}: ${keys[i]} -> ${ring.get(keys[i]!)}, want ${want[i]}`);
      }
      assert.equal(ring.getN(keys[0]!, 3)[0], want[0]);
    }
    ring.dispose();
  }
});

t('the compact copy finds what a plain search finds, crowded buckets and the wrap included; owners past 16 bits make none', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 400 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 60 }), fc.integer({ min: 1, max: 5000 }), (spread, probes, work) => {
      // 100 points in one 2^16-wide bucket, far past the scan limit.
      const crowd = Array.from({ length: 100 }, (_, i) => 0x7a5e0000 + i * 611);
      const pos = [...new Set([...spread, ...crowd])].sort((a, b) => a - b);
      const u = new Uint32Array(2 * pos.length);
      u.set(pos, 0);
      u.set(pos.map((_, i) => (i * 31) % 65_535), pos.length);
      // In one go, and a slice of `work` points or buckets at a time.
      const builder = new CompactBuilder(pos.length);
      let stepped: CompactIndex | undefined;
      let steps = 0;
      while (!(stepped = builder.step(u, 0, pos.length, work))) assert.ok(++steps < 100_000 && !builder.failed);
      for (const copy of [CompactIndex.of(u, 0, pos.length, pos.length)!, stepped]) {
        for (const h of [...probes, ...crowd, ...crowd.map((c) => c + 1), ...spread, 0, 0xffffffff]) {
          const at = pos.findIndex((p) => p >= h);
          assert.is(copy.slotOf(h >>> 0), ((at < 0 ? 0 : at) * 31) % 65_535, `hash ${h}`);
        }
      }
    }),
    { numRuns: 100 },
  );
  const u = Uint32Array.from([5, 9, 0, 65_536]);
  assert.is(CompactIndex.of(u, 0, 2, 2), undefined);
  const builder = new CompactBuilder(2);
  assert.is(builder.step(u, 0, 2, 1), undefined);
  assert.is(builder.failed, false);
  assert.is(builder.step(u, 0, 2, 1), undefined);
  assert.is(builder.failed, true);
});

t.run();
