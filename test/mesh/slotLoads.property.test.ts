// SlotLoads keeps the total of its slots' costs as they come and go (maglev's bound reads it on
// every pick): on random sequences of counts, carries, releases (some past zero) and reslots,
// it is the sum of the slots exactly for whole costs, and within rounding for fractional ones.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { SlotLoads } from '../../src/mesh/SlotLoads.js';

type Op = { kind: 'add' | 'carry' | 'release'; at: number; cost: number } | { kind: 'reslot'; keep: number };

const ops = (cost: fc.Arbitrary<number>) =>
  fc.array(
    fc.oneof(
      fc.record({ kind: fc.constantFrom('add' as const, 'carry' as const, 'release' as const), at: fc.nat(7), cost }),
      fc.record({ kind: fc.constant('reslot' as const), keep: fc.nat(7) }),
    ),
    { minLength: 1, maxLength: 200 },
  );

function run(list: Op[]): { total: number; sum: number } {
  const loads = new SlotLoads();
  let ids = ['a', 'b', 'c', 'd', 'e'];
  loads.reslot(ids);
  for (const o of list) {
    if (o.kind === 'reslot') {
      // Some leave, one joins (its cost starts at none), the rest keep theirs.
      ids = [...ids.filter((_, i) => i !== o.keep % ids.length), `n${o.keep}`].filter((id, i, all) => all.indexOf(id) === i);
      loads.reslot(ids);
    } else if (o.kind === 'add') loads.add(o.at % ids.length, o.cost);
    else if (o.kind === 'carry') loads.carry(ids[o.at % ids.length]!, o.cost);
    else loads.release(ids[o.at % ids.length]!, o.cost, o.at % 2 ? o.at % ids.length : undefined);
  }
  return { total: loads.total, sum: loads.bySlot.reduce((s, x) => s + x, 0) };
}

test('the total is the sum of the slots: exactly for whole costs', () => {
  fc.assert(
    fc.property(ops(fc.integer({ min: 0, max: 50 })), (list) => {
      const { total, sum } = run(list);
      assert.is(total, sum);
    }),
    { numRuns: 500 },
  );
});

test('the total is the sum of the slots within rounding for fractional costs, and never below zero', () => {
  fc.assert(
    fc.property(ops(fc.double({ min: 0.001, max: 50, noNaN: true })), (list) => {
      const { total, sum } = run(list);
      assert.ok(total >= 0);
      assert.ok(Math.abs(total - sum) <= 1e-9 * Math.max(1, sum), `total ${total}, sum ${sum}`);
    }),
    { numRuns: 500 },
  );
});

test.run();
