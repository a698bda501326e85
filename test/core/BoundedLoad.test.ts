import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { BoundedLoad, HashRing } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';
import { ENGINES, keys } from '../support/engines.js';

/** The walk written out: clockwise distinct nodes, the first eligible one below its bound and limit. */
function expectedPick(b: BoundedLoad, key: string, cost: number, limits: Map<string, number>): string | undefined {
  const order = b.ring.getN(key, b.ring.size);
  const fits = (id: string) => b.load(id) + cost <= (limits.get(id) ?? Infinity);
  return order.find((id) => b.load(id) < b.bound(id, cost) && fits(id)) ?? order.find(fits);
}

for (const engine of ENGINES) {
  const t = suite(`BoundedLoad (${engine})`);
  const ring = () => new HashRing({ engine }).addMany([['h100', { weight: 4 }], ['a100', { weight: 2 }], ['l4', { weight: 1 }], ['cpu', { weight: 0.25 }], ['l4b', { weight: 1 }]]);

  t('with nothing in flight, every key goes to its ring owner', () => {
    const b = new BoundedLoad(ring());
    for (const k of keys(2000)) assert.is(b.pick(k), b.ring.get(k));
  });

  t('the bounded-load invariant: below the bound first, limits never exceeded, a refusal only when all are at their limit', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(10_000), fc.constantFrom(1, 1, 2, 5), fc.boolean()), { maxLength: 300 }), fc.constantFrom(1, 1.25, 2), fc.boolean(), (ops, c, limited) => {
        const b = new BoundedLoad(ring(), { c });
        const limits = new Map<string, number>(limited ? [['h100', 12], ['a100', 6], ['l4', 3], ['cpu', 2], ['l4b', 3]] : []);
        for (const [id, limit] of limits) b.setLimit(id, limit);
        const held: [string, number][] = [];
        for (const [n, cost, release] of ops) {
          if (release && held.length) {
            const [id, x] = held.splice(n % held.length, 1)[0]!;
            b.release(id, x);
            continue;
          }
          const key = `session-${n}`;
          const expected = expectedPick(b, key, cost, limits);
          const before = expected === undefined ? 0 : b.load(expected);
          const bound = expected === undefined ? 0 : b.bound(expected, cost);
          // Whether any other node was below its bound and within its limit, before the request.
          const anyBelow = b.ring.nodes().some((x) => x !== expected && b.load(x) < b.bound(x, cost) && b.load(x) + cost <= (limits.get(x) ?? Infinity));
          const id = b.acquire(key, cost);
          assert.is(id, expected);
          if (id === undefined) {
            assert.ok(limited, 'without limits some node always has room (c >= 1)');
            for (const other of b.ring.nodes()) assert.ok(b.load(other) + cost > limits.get(other)!, 'refused while a node was within its limit');
          } else {
            assert.ok(before < bound || !anyBelow, 'past its bound only when no node below its bound could take it');
            assert.ok(b.load(id) === before + cost && b.load(id) <= (limits.get(id) ?? Infinity));
            held.push([id, cost]);
          }
        }
        assert.is(b.total, held.reduce((s, [, x]) => s + x, 0));
      }),
      { numRuns: 60 },
    );
  });

  t('acquireSlot is acquire by slot: the same node, the key\'s owner in ownerSlot, releaseSlot undoes it (random sequences, envoy rings too)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(10_000), fc.constantFrom(1, 2, 5), fc.boolean()), { maxLength: 200 }), fc.constantFrom('xxh32', 'envoy' as const), (ops, hash) => {
        const make = () => new BoundedLoad(new HashRing({ engine, hash }).addMany([['h100', { weight: 4 }], ['a100', { weight: 2 }], ['l4', { weight: 1 }]]), { c: 1.25 }).setLimit('l4', 4);
        const bySlot = make(), byId = make();
        const held: [number, number][] = [];
        for (const [n, cost, release] of ops) {
          if (release && held.length) {
            const [slot, x] = held.splice(n % held.length, 1)[0]!;
            byId.release(bySlot.ring.nodeAt(slot)!, x);
            bySlot.releaseSlot(slot, x);
            continue;
          }
          const key = `k${n}`;
          const slot = bySlot.acquireSlot(key, cost);
          assert.is(slot < 0 ? undefined : bySlot.ring.nodeAt(slot), byId.acquire(key, cost));
          assert.is(bySlot.ring.nodeAt(bySlot.ownerSlot), bySlot.ring.get(key));
          if (slot >= 0) held.push([slot, cost]);
        }
        for (const id of byId.ring.nodes()) assert.is(bySlot.load(id), byId.load(id));
        bySlot.ring.dispose();
        byId.ring.dispose();
      }),
      { numRuns: 40 },
    );
    throwsCode(() => new BoundedLoad(ring()).releaseSlot(99), 'UNKNOWN_NODE', /releaseSlot: no node in slot 99/);
    // Bad costs and over-releases throw and change nothing.
    const b = new BoundedLoad(ring());
    const slot = b.acquireSlot('k', 2);
    const id = b.ring.nodeAt(slot)!;
    throwsCode(() => b.releaseSlot(slot, -1), 'INVALID_ARGUMENT', /cost must be a finite number > 0, got -1/);
    throwsCode(() => b.releaseSlot(slot, Number.NaN), 'INVALID_ARGUMENT', /got NaN/);
    throwsCode(() => b.releaseSlot(slot, 3), 'INVALID_ARGUMENT', new RegExp(`release of 3 on node "${id}" exceeds its in-flight cost 2`));
    assert.is(b.load(id), 2);
    b.releaseSlot(slot, 2);
    assert.is(b.load(id), 0);
  });

  t('an overloaded owner passes its keys clockwise, spread over the ring', () => {
    const b = new BoundedLoad(ring(), { c: 1.25 });
    const owners = new Map<string, number>();
    for (const k of keys(4000)) {
      const id = b.acquire(k)!;
      owners.set(id, (owners.get(id) ?? 0) + 1);
    }
    const cap = 4 + 2 + 1 + 0.25 + 1;
    for (const [id, n] of owners) assert.ok(n <= Math.ceil((1.25 * 4000 * b.capacity(id)) / cap), `${id} holds ${n}`);
    assert.is(owners.size, 5, 'the overflow reached every node');
  });

  t('ineligible nodes are skipped; capacities override weights; membership changes resync', () => {
    const b = new BoundedLoad(ring());
    const key = keys(100).find((k) => b.pick(k) === 'h100')!;
    b.setEligible('h100', false);
    assert.is.not(b.pick(key), 'h100');
    b.setEligible('h100', true).setCapacity('cpu', 3);
    assert.is(b.capacity('cpu'), 3);
    b.add('l4', 3);
    assert.is(b.total, 3);
    b.ring.remove('l4');
    assert.is(b.total, 0, 'the cost of the departed node left the total');
    b.ring.add('gpu-new', { weight: 2 });
    assert.is(b.load('gpu-new'), 0);
    assert.is(b.capacity('gpu-new'), 2);
  });

  t('bad input is refused with a stable code', () => {
    const b = new BoundedLoad(ring());
    throwsCode(() => new BoundedLoad(b.ring, { c: 0.9 }), 'INVALID_OPTION', /options\.c must be a number from 1 to 100, got 0\.9/);
    throwsCode(() => b.add('zz'), 'UNKNOWN_NODE', /add: no node "zz" on the ring/);
    throwsCode(() => b.pick('k', 0), 'INVALID_ARGUMENT', /cost must be a finite number > 0, got 0/);
    // Every branch of the cost check: not a number, not finite, not above zero.
    for (const [bad, shown] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [-0.5, '-0\\.5'], ['2', '"2"']] as const) {
      throwsCode(() => b.acquireSlot('k', bad as number), 'INVALID_ARGUMENT', new RegExp(`cost must be a finite number > 0, got ${shown}`));
    }
    throwsCode(() => b.release('l4', 1), 'INVALID_ARGUMENT', /release of 1 on node "l4" exceeds its in-flight cost 0/);
    throwsCode(() => b.setCapacity('l4', -1), 'INVALID_WEIGHT', /capacity must be a finite number > 0, got -1/);
    throwsCode(() => b.setLimit('l4', 0), 'INVALID_ARGUMENT', /limit must be a number > 0 \(Infinity for none\), got 0/);
    assert.is(b.total, 0);
  });

  t.run();
}

const both = suite('BoundedLoad engines');
both('Wasm and the TS twin walk alike, request for request', () => {
  const a = new BoundedLoad(new HashRing({ engine: 'wasm' }).addMany(['a', 'b', 'c', 'd']), { c: 1.1 });
  const b = new BoundedLoad(new HashRing({ engine: 'ts' }).addMany(['a', 'b', 'c', 'd']), { c: 1.1 });
  for (const k of keys(3000)) assert.is(a.acquire(k, 1 + (k.length % 3)), b.acquire(k, 1 + (k.length % 3)));
  assert.is(a.total, b.total);
});
both.run();

{
  const t = suite('BoundedLoad.acquireSlot: Wasm and the TS twin');
  t('identical slots and owners over random sequences', () => {
    fc.assert(
      // ASCII keys (hashed from their characters: under 16, and 16 to 64) and any others (hashed in
      // the core from UTF-8).
      fc.property(fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.string({ minLength: 16, maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 12 })), fc.constantFrom(1, 3), fc.boolean()), { maxLength: 150 }), (ops) => {
        const [w, s] = (['wasm', 'ts'] as const).map((engine) => new BoundedLoad(new HashRing({ engine }).addMany([['a', { weight: 3 }], ['b', { weight: 1 }], ['c', { weight: 2 }], ['d', { weight: 1 }]]), { c: 1.1 }));
        const held: [number, number][] = [];
        for (const [key, cost, release] of ops) {
          if (release && held.length) {
            const [slot, x] = held.pop()!;
            w!.releaseSlot(slot, x);
            s!.releaseSlot(slot, x);
            continue;
          }
          const a = w!.acquireSlot(key, cost), b = s!.acquireSlot(key, cost);
          assert.is(a, b);
          assert.is(w!.ownerSlot, s!.ownerSlot);
          if (a >= 0) held.push([a, cost]);
        }
        w!.ring.dispose();
      }),
      { numRuns: 60 },
    );
  });
  t.run();
}
