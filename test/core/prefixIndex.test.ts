import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { PrefixIndex, promptBlocks } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';

const t = suite('PrefixIndex (KV blocks held per endpoint)');

// A chain of n blocks of family f: families share their first `shared` blocks, as prompts that
// share a system prompt do; past that, a block's hash depends on everything before it (family and
// where it diverged), as a chain hash does. The index never looks inside the 64 bits.
const block = (f: number, i: number, shared: number) => ((i < shared ? 0x1000n + BigInt(i) : (BigInt(f + 1) << 40n) + (BigInt(shared) << 20n) + BigInt(i)) * 0x9e3779b97f4a7c15n) & ((1n << 64n) - 1n);
const chain = (f: number, n: number, shared = 0) => BigUint64Array.from({ length: n }, (_, i) => block(f, i, shared));

/** The index's contract written plainly: per endpoint an LRU list of (hash, stamp), the longest prefix found block by block. */
class Model {
  readonly held = new Map<string, { cap: number; blocks: Map<bigint, number> }>();
  constructor(readonly ttl: number) {}
  set(id: string, cap: number) {
    const e = this.held.get(id) ?? { cap, blocks: new Map() };
    e.cap = cap;
    while (e.blocks.size > cap) e.blocks.delete(e.blocks.keys().next().value!);
    this.held.set(id, e);
  }
  expire(id: string, now: number) {
    const e = this.held.get(id)!;
    if (this.ttl) for (const [h, at] of [...e.blocks]) if (now - at > this.ttl) e.blocks.delete(h);
  }
  record(id: string, blocks: BigUint64Array, now: number) {
    const e = this.held.get(id)!;
    this.expire(id, now);
    for (let i = Math.min(blocks.length, e.cap) - 1; i >= 0; i--) {
      e.blocks.delete(blocks[i]!);
      if (e.blocks.size >= e.cap) e.blocks.delete(e.blocks.keys().next().value!);
      e.blocks.set(blocks[i]!, now);
    }
  }
  match(blocks: BigUint64Array, now: number): Record<string, number> {
    return Object.fromEntries([...this.held].map(([id, e]) => {
      this.expire(id, now);
      let k = 0;
      while (k < blocks.length && e.blocks.has(blocks[k]!)) k++;
      return [id, k];
    }));
  }
}

for (const engine of ['wasm', 'ts'] as const) {
  t(`${engine}: a recorded chain is matched up to where another prompt diverges; capacity keeps a chain's first blocks; TTL forgets untouched blocks exactly`, () => {
    let now = 1_000;
    const ix = new PrefixIndex({ engine, ttlMs: 500, clock: () => now });
    ix.set('a', 100).set('b', 100).set('small', 3);
    ix.record('a', chain(1, 20, 8));
    ix.record('small', chain(1, 20, 8));
    assert.equal(ix.match(chain(2, 30, 8)), { blocks: 30, endpoints: { a: 8, b: 0, small: 3 } });
    assert.equal(ix.match(chain(1, 25, 8)).endpoints, { a: 20, b: 0, small: 3 });
    assert.is(ix.size('small'), 3);
    // Text prompts: the same system prompt, then different questions.
    const system = 'Answer as a careful librarian would, and cite the catalog entry. '.repeat(10);
    ix.record('b', promptBlocks(`${system} Where are the atlases?`));
    assert.is(ix.match(`${system} Who wrote Middlemarch?`).endpoints.b, Math.floor(system.length / 64));
    // A model's seed separates its blocks from another model's.
    assert.is(ix.match(`${system} Who wrote Middlemarch?`, { seed: 7n }).endpoints.b, 0);
    now += 500; // exactly the TTL: still held
    assert.is(ix.match(chain(1, 20, 8)).endpoints.a, 20);
    now += 1;
    // The match above did not touch a's blocks (only record and observe do): past the TTL they go.
    assert.is(ix.match(chain(1, 20, 8)).endpoints.a, 0);
    assert.is(ix.size('a'), 0);
    ix.dispose();
  });

  t(`${engine}: observe() feeds an engine's stored and removed events; removing the tail shortens the match`, () => {
    const ix = new PrefixIndex({ engine });
    ix.set('e', 1000);
    const c = chain(3, 12);
    ix.observe('e', c, 'stored');
    ix.observe('e', c.subarray(9), 'removed');
    assert.is(ix.match(c).endpoints.e, 9);
    ix.observe('e', [...c.subarray(0, 9)], 'removed');
    assert.is(ix.size('e'), 0);
    // A deleted endpoint's slot is taken by the next one, empty.
    ix.set('f', 10).record('f', c);
    ix.delete('f');
    ix.set('g', 10);
    assert.equal(ix.match(c).endpoints, { e: 0, g: 0 });
  });
}

t('Wasm and the TypeScript twin agree on random sequences of records, removal events, capacity changes and clock moves; without removals both match a plain per-block LRU model', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('record' as const), id: fc.constantFrom('a', 'b', 'c'), family: fc.nat(5), n: fc.nat(40), shared: fc.nat(12) }),
    fc.record({ kind: fc.constant('match' as const), family: fc.nat(5), n: fc.nat(40), shared: fc.nat(12) }),
    fc.record({ kind: fc.constant('capacity' as const), id: fc.constantFrom('a', 'b', 'c'), cap: fc.integer({ min: 1, max: 60 }) }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(300) }),
    fc.record({ kind: fc.constant('remove' as const), id: fc.constantFrom('a', 'b', 'c'), family: fc.nat(5), from: fc.nat(40), count: fc.nat(3), shared: fc.nat(12) }),
  );
  const run = (ops: typeof op, withModel: boolean, runs: number) => fc.assert(
    fc.property(fc.array(ops, { maxLength: 60 }), fc.constantFrom(0, 200, 1000), (list, ttlMs) => {
      let now = 0;
      const clock = () => now;
      const wasm = new PrefixIndex({ engine: 'wasm', ttlMs, clock });
      const ts = new PrefixIndex({ engine: 'ts', ttlMs, clock });
      const model = new Model(ttlMs);
      for (const ix of [wasm, ts]) ix.set('a', 30).set('b', 50).set('c', 8);
      for (const [id, cap] of [['a', 30], ['b', 50], ['c', 8]] as const) model.set(id, cap);
      for (const o of list) {
        if (o.kind === 'tick') now += o.ms;
        else if (o.kind === 'remove') {
          // An engine's eviction event: a few blocks of a chain; what follows them goes too.
          const c = chain(o.family, o.from + o.count, o.shared).subarray(o.from);
          wasm.observe(o.id, c, 'removed');
          ts.observe(o.id, c, 'removed');
          if (withModel) throw new Error('the plain model has no removals');
        }
        else if (o.kind === 'capacity') {
          wasm.set(o.id, o.cap);
          ts.set(o.id, o.cap);
          model.set(o.id, o.cap);
        } else if (o.kind === 'record') {
          const c = chain(o.family, o.n, o.shared);
          wasm.record(o.id, c);
          ts.record(o.id, c);
          model.record(o.id, c, now);
        } else {
          const c = chain(o.family, o.n, o.shared);
          const expected = ts.match(c).endpoints;
          assert.equal(wasm.match(c).endpoints, expected);
          if (withModel) assert.equal(model.match(c, now), expected);
        }
      }
      for (const id of ['a', 'b', 'c']) assert.is(wasm.size(id), ts.size(id));
      wasm.dispose();
    }),
    { numRuns: runs },
  );
  run(op.filter((o) => o.kind !== 'remove'), true, 300);
  run(op, false, 300);
});

t('a full index: 16 endpoints x 31,250 blocks held, evicting the least recent; memory stays within the documented 32 bytes a block', () => {
  const ix = new PrefixIndex();
  for (let e = 0; e < 16; e++) ix.set(`e${e}`, 31_250);
  for (let e = 0; e < 16; e++) for (let p = 0; p < 40; p++) ix.record(`e${e}`, chain(e * 100 + p, 1000));
  for (let e = 0; e < 16; e++) assert.is(ix.size(`e${e}`), 31_250);
  // Prompt 39 (most recent) is whole; prompt 8 lost its tail to eviction, prompt 0 is gone.
  const m = (f: number) => ix.match(chain(f, 1000)).endpoints.e5!;
  assert.is(m(539), 1000);
  assert.is(m(500), 0);
  assert.ok(m(508) > 0 && m(508) < 1000);
  assert.ok(ix.memoryBytes() <= 16 * 2 ** 20, `${ix.memoryBytes()} bytes`);
  ix.dispose();
});

t('bad input: WasmeshError naming the value; the index is unchanged', () => {
  const ix = new PrefixIndex();
  ix.set('a', 4).record('a', chain(1, 4));
  throwsCode(() => ix.set('a', 0), 'INVALID_ARGUMENT', /capacity of "a" must be an integer from 1 to 67108864 blocks, got 0/);
  throwsCode(() => ix.set('', 3), 'INVALID_ID', /non-empty string/);
  throwsCode(() => ix.record('zz', chain(1, 4)), 'UNKNOWN_NODE', /no endpoint "zz"; endpoints: "a"/);
  throwsCode(() => ix.record('a', [1, 2] as never), 'INVALID_ARGUMENT', /blocks must be a BigUint64Array or an array of bigints/);
  throwsCode(() => ix.observe('a', chain(1, 1), 'evicted' as never), 'INVALID_ARGUMENT', /event must be "stored" or "removed", got "evicted"/);
  throwsCode(() => ix.match(42 as never), 'INVALID_ARGUMENT', /blocks must be a BigUint64Array/);
  throwsCode(() => ix.match('x', { seed: -1n }), 'INVALID_ARGUMENT', /seed must be a bigint from 0 to 2\^64 - 1, got -1$/);
  throwsCode(() => new PrefixIndex({ ttlMs: -1 }), 'INVALID_OPTION', /options.ttlMs must be an integer from 0/);
  assert.is(ix.size('a'), 4);
  assert.is(ix.match(chain(1, 4)).endpoints.a, 4);
});

t.run();
