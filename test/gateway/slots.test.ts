import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { slots } from '../../src/gateway/slots.js';

test('slots: at most max tasks under way, the rest in arrival order; a failure frees its slot and reaches its caller', async () => {
  const run = slots(2);
  let under = 0, most = 0;
  const order: number[] = [];
  const task = (i: number, fail = false) => async () => {
    under++;
    most = Math.max(most, under);
    await new Promise((r) => setTimeout(r, 5 + (i % 3)));
    under--;
    order.push(i);
    if (fail) throw new Error(`task ${i}`);
    return i;
  };
  const results = await Promise.allSettled(Array.from({ length: 9 }, (_, i) => run(task(i, i === 3))));
  assert.is(most, 2);
  assert.equal(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)), [0, 1, 2, 'task 3', 4, 5, 6, 7, 8]);
  // Started in order: each of the first waiters began when a slot freed, never before an earlier one.
  assert.ok(order.indexOf(2) < order.indexOf(5) && order.indexOf(4) < order.indexOf(7), order.join(' '));
});

test.run();
