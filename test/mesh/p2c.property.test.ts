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
import { endpoint, LoadModel, op, oddOnly } from '../support/balancerOps.js';

test('p2c picks and in-flight costs match the model on random sequences', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 200 }), (n, ops) => {
      let list = Array.from({ length: n }, (_, i) => endpoint(i, i + 1, Infinity));
      const balancer = new P2cBalancer(list, seededRandom(7), () => 0);
      const random = seededRandom(7);
      const model = new LoadModel();
      for (const o of ops) {
        if (o.kind === 'pick') {
          const allowed = o.odd ? oddOnly : undefined;
          const pick = balancer.pick(undefined, o.cost, allowed);
          const pool = list.filter((e) => (!allowed || allowed(e)) && model.get(e.id) + o.cost <= e.maxInflight);
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
            const score = (e: Endpoint) => (model.get(e.id) + o.cost) / e.capacity;
            chosen = score(b) < score(a) ? b : a;
          }
          assert.is(pick?.endpoint.id, chosen.id);
          model.picked(chosen.id, o.cost, pick!.slot);
        } else if (o.kind === 'release') {
          model.release(balancer, o.at, o.bySlot);
        } else if (o.kind === 'join') {
          const e = endpoint(o.id, o.capacity, o.limit);
          balancer.upsert(e);
          const at = list.findIndex((x) => x.id === e.id);
          list = at < 0 ? [...list, e] : list.map((x, i) => (i === at ? e : x));
        } else if (o.kind === 'leave') {
          balancer.remove(`e${o.id}`);
          list = list.filter((x) => x.id !== `e${o.id}`);
          model.load.delete(`e${o.id}`);
        } else {
          model.carry(balancer, `e${o.id}`, o.cost, list.some((x) => x.id === `e${o.id}`));
        }
        model.check(balancer, list.map((e) => e.id), assert.is);
      }
    }),
    { numRuns: 300 },
  );
});

test.run();
