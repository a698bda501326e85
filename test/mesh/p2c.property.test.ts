// P2cBalancer keeps in-flight cost in a typed array by position and releases by its pick's slot.
// Checked against a model of the rule kept by id in a map (two uniform draws over the eligible
// endpoints, the lower (load + cost) / capacity wins, ties to the first), on random sequences of
// picks with and without filters and limits, releases by slot and by id, joins, leaves, carries.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { P2cBalancer } from '../../src/mesh/balancers.js';
import { seededRandom } from '../../src/mesh/random.js';
import type { Endpoint } from '../../src/mesh/endpoints.js';

const endpoint = (i: number, capacity: number, maxInflight: number): Endpoint => ({ id: `e${i}`, capacity, maxInflight }) as unknown as Endpoint;

type Op =
  | { kind: 'pick'; cost: number; odd: boolean }
  | { kind: 'release'; at: number; bySlot: boolean }
  | { kind: 'join'; id: number; capacity: number; limit: number }
  | { kind: 'leave'; id: number }
  | { kind: 'carry'; id: number; cost: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('pick' as const), cost: fc.integer({ min: 0, max: 4 }), odd: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('release' as const), at: fc.nat(), bySlot: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('join' as const), id: fc.integer({ min: 0, max: 7 }), capacity: fc.integer({ min: 1, max: 8 }), limit: fc.constantFrom(Infinity, 3, 6) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), id: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('carry' as const), id: fc.integer({ min: 0, max: 7 }), cost: fc.integer({ min: 0, max: 3 }) }) },
);

test('p2c picks and in-flight costs match the model on random sequences', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 200 }), (n, ops) => {
      let list = Array.from({ length: n }, (_, i) => endpoint(i, i + 1, Infinity));
      const balancer = new P2cBalancer(list, seededRandom(7));
      const random = seededRandom(7);
      const load = new Map<string, number>();
      const held: { id: string; cost: number; slot?: number }[] = [];
      for (const o of ops) {
        if (o.kind === 'pick') {
          const allowed = o.odd ? (e: Endpoint) => Number(e.id.slice(1)) % 2 === 1 : undefined;
          const pick = balancer.pick(undefined, o.cost, allowed);
          const pool = list.filter((e) => (!allowed || allowed(e)) && (load.get(e.id) ?? 0) + o.cost <= e.maxInflight);
          if (pool.length === 0) {
            assert.is(pick, undefined);
            continue;
          }
          const a = pool[Math.floor(random() * pool.length)]!;
          let chosen = a;
          if (pool.length > 1) {
            let j = Math.floor(random() * (pool.length - 1));
            if (pool[j] === a) j = pool.length - 1;
            const b = pool[j]!;
            const score = (e: Endpoint) => ((load.get(e.id) ?? 0) + o.cost) / e.capacity;
            chosen = score(b) < score(a) ? b : a;
          }
          assert.is(pick?.endpoint.id, chosen.id);
          if (o.cost > 0) load.set(chosen.id, (load.get(chosen.id) ?? 0) + o.cost);
          held.push({ id: chosen.id, cost: o.cost, slot: pick!.slot });
        } else if (o.kind === 'release') {
          if (held.length === 0) continue;
          const [h] = held.splice(o.at % held.length, 1);
          balancer.release(h!.id, h!.cost, o.bySlot ? h!.slot : undefined);
          if (load.has(h!.id)) load.set(h!.id, Math.max(0, load.get(h!.id)! - h!.cost));
        } else if (o.kind === 'join') {
          const e = endpoint(o.id, o.capacity, o.limit);
          balancer.upsert(e);
          const at = list.findIndex((x) => x.id === e.id);
          list = at < 0 ? [...list, e] : list.map((x, i) => (i === at ? e : x));
        } else if (o.kind === 'leave') {
          balancer.remove(`e${o.id}`);
          list = list.filter((x) => x.id !== `e${o.id}`);
          load.delete(`e${o.id}`);
        } else {
          const id = `e${o.id}`;
          balancer.carry(id, o.cost);
          if (list.some((x) => x.id === id) && o.cost > 0) load.set(id, (load.get(id) ?? 0) + o.cost);
        }
        for (const e of list) assert.is(balancer.load(e.id), load.get(e.id) ?? 0, e.id);
      }
    }),
    { numRuns: 300 },
  );
});

test.run();
