// SwrrBalancer counts in-flight cost by the round robin's slots and releases by its pick's slot.
// Checked against a model that keeps cost by id in a map and drives its own SmoothWrr (the other
// engine) through the same joins, leaves and exclusions, on random sequences.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { SmoothWrr } from '../../src/index.js';
import { SwrrBalancer } from '../../src/mesh/balancers.js';
import type { Endpoint } from '../../src/mesh/endpoints.js';
import { endpoint, LoadModel, op, oddOnly } from '../support/balancerOps.js';

test('swrr picks and in-flight costs match the model on random sequences', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 200 }), (n, ops) => {
      const list = new Map<string, Endpoint>(Array.from({ length: n }, (_, i) => [`e${i}`, endpoint(i, i + 1, Infinity)]));
      const balancer = new SwrrBalancer([...list.values()], 'wasm');
      const wrr = new SmoothWrr({ engine: 'ts' });
      for (const e of list.values()) wrr.set(e.id, e.capacity);
      const model = new LoadModel();
      for (const o of ops) {
        if (o.kind === 'pick') {
          const allowed = o.odd ? oddOnly : undefined;
          const pick = balancer.pick(undefined, o.cost, allowed);
          const skipped = [...list.values()].filter((e) => (allowed && !allowed(e)) || model.get(e.id) + o.cost > e.maxInflight);
          skipped.forEach((e) => wrr.setEligible(e.id, false));
          const id = wrr.pick();
          skipped.forEach((e) => wrr.setEligible(e.id, true));
          assert.is(pick?.endpoint.id, id);
          if (id === undefined) continue;
          model.picked(id, o.cost, pick!.slot);
        } else if (o.kind === 'release') {
          model.release(balancer, o.at, o.bySlot);
        } else if (o.kind === 'join') {
          const e = endpoint(o.id, o.capacity, o.limit);
          balancer.upsert(e);
          wrr.set(e.id, e.capacity);
          list.set(e.id, e);
        } else if (o.kind === 'leave') {
          const id = `e${o.id}`;
          balancer.remove(id);
          wrr.remove(id);
          list.delete(id);
          model.load.delete(id);
        } else {
          model.carry(balancer, `e${o.id}`, o.cost, list.has(`e${o.id}`));
        }
        model.check(balancer, list.keys(), assert.is);
      }
      balancer.dispose();
    }),
    { numRuns: 300 },
  );
});

test.run();
