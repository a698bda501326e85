import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { SmoothWrr } from '../../src/index.js';
import { NginxRoundRobin } from '../support/nginx.js';
import { throwsCode } from '../support/assert.js';
import { ENGINES } from '../support/engines.js';


for (const engine of ENGINES) {
  for (const cycle of [true, false]) {
    const t = suite(`SmoothWrr (${engine}${cycle ? '' : ', no cycle'})`);
    const make = (maxFails = 1) => new SmoothWrr({ engine, cycle, maxFails });

    t('weights {5, 1, 1} give nginx\'s a a b a c a a, and repeat', () => {
      const wrr = make().set('a', 5).set('b', 1).set('c', 1);
      assert.is(wrr.pickBatch(14).join(' '), 'a a b a c a a a a b a c a a');
      assert.is([wrr.pick(), wrr.pick(), wrr.pick()].join(' '), 'a a b');
    });

    t('pickSlot is pick() by slot: the same sequence through nodeAt, -1 when none is eligible', () => {
      const bySlot = make().set('a', 5).set('b', 1).set('c', 1);
      const byId = make().set('a', 5).set('b', 1).set('c', 1);
      for (let i = 0; i < 20; i++) assert.is(bySlot.nodeAt(bySlot.pickSlot()), byId.pick());
      for (const id of ['a', 'b', 'c']) bySlot.setEligible(id, false);
      assert.is(bySlot.pickSlot(), -1);
    });

    t('every window of W = sum(weights) picks holds each peer exactly its weight\'s times', () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 40 }), (weights) => {
          const wrr = make();
          weights.forEach((w, i) => wrr.set(`p${i}`, w));
          const W = weights.reduce((a, b) => a + b, 0);
          const seq = wrr.pickBatch(3 * W);
          for (let start = 0; start + W <= seq.length; start += Math.max(1, W >> 3)) {
            const counts = new Map<string, number>();
            for (const id of seq.slice(start, start + W)) counts.set(id!, (counts.get(id!) ?? 0) + 1);
            weights.forEach((w, i) => assert.is(counts.get(`p${i}`) ?? 0, w, `window at ${start}`));
          }
        }),
        { numRuns: 60 },
      );
    });

    t('a weight change keeps the current weight and resets the effective weight', () => {
      const ours = make().set('a', 5).set('b', 1).set('c', 1);
      const ref = new NginxRoundRobin();
      ['a', 'b', 'c'].forEach((id, i) => ref.set(id, [5, 1, 1][i]!));
      ours.pickBatch(3);
      for (let i = 0; i < 3; i++) ref.get();
      ours.set('b', 4);
      ref.set('b', 4);
      assert.equal(ours.pickBatch(30), Array.from({ length: 30 }, () => ref.get()));
      assert.equal(ours.peers().map((p) => p.currentWeight), ref.peers.map((p) => p.current_weight));
    });

    t('fail lowers the effective weight by floor(weight / maxFails), and it recovers by 1 a pick', () => {
      const ours = make(2).set('a', 5).set('b', 2);
      const ref = new NginxRoundRobin(2);
      ref.set('a', 5);
      ref.set('b', 2);
      ours.fail('a');
      ref.fail('a');
      assert.is(ours.peers()[0]!.effectiveWeight, 3);
      ours.fail('a').fail('a');
      ref.fail('a');
      ref.fail('a');
      assert.is(ours.peers()[0]!.effectiveWeight, 0, 'not below 0');
      assert.equal(ours.pickBatch(20), Array.from({ length: 20 }, () => ref.get()));
      assert.is(ours.peers()[0]!.effectiveWeight, 5, 'recovered');
    });

    t('an ineligible peer is skipped with its state kept, and resumes where it was', () => {
      const ours = make().set('a', 3).set('b', 2).set('c', 1);
      const ref = new NginxRoundRobin();
      ref.set('a', 3);
      ref.set('b', 2);
      ref.set('c', 1);
      const both = (n: number) => assert.equal(ours.pickBatch(n), Array.from({ length: n }, () => ref.get()));
      both(4);
      const before = ours.peers()[1];
      ours.setEligible('b', false);
      ref.setDown('b', true);
      both(9);
      assert.ok(!ours.pickBatch(20).includes('b'));
      for (let i = 0; i < 20; i++) ref.get();
      assert.equal({ ...ours.peers()[1], eligible: true }, { ...before, eligible: true });
      ours.setEligible('b', true);
      ref.setDown('b', false);
      both(12);
    });

    t('a new peer starts at current weight 0, last in tie order; removal drops only its state', () => {
      const ours = make().set('x', 1).set('y', 1);
      assert.is(ours.pick(), 'x', 'ties go to the first added');
      ours.set('z', 1);
      assert.is(ours.peers()[2]!.currentWeight, 0);
      const before = ours.peers();
      assert.is(ours.remove('y'), true);
      assert.is(ours.remove('y'), false);
      assert.equal(ours.peers(), [before[0], before[2]]);
    });

    t('no eligible peer: pick() is undefined and so is every batch entry', () => {
      const wrr = make();
      assert.is(wrr.pick(), undefined);
      assert.equal(wrr.pickBatch(2), [undefined, undefined]);
      wrr.set('a', 1).setEligible('a', false);
      assert.is(wrr.pick(), undefined);
      assert.equal(Array.from(wrr.pickSlots(3)), [-1, -1, -1]);
    });

    t('fractional weights run as the smallest whole scale: {0.25, 1} picks like {1, 4}', () => {
      const frac = make().set('cpu', 0.25).set('gpu', 1);
      const whole = make().set('cpu', 1).set('gpu', 4);
      assert.equal(frac.pickBatch(50), whole.pickBatch(50));
      assert.equal(frac.peers().map((p) => p.weight), [0.25, 1]);
      frac.set('tpu', 0.5); // scale stays 4
      whole.set('tpu', 2);
      assert.equal(frac.pickBatch(70), whole.pickBatch(70));
      frac.set('l4', 0.1); // scale grows from 4 to 20: every weight and current weight x5
      whole.set('l4', 0.4); // scale grows from 1 to 5: the same table, x5
      assert.equal(frac.pickBatch(70), whole.pickBatch(70));
    });

    t('pickSlots maps through nodeAt and equals pickBatch', () => {
      const a = make().set('a', 2).set('b', 3);
      const b = make().set('a', 2).set('b', 3);
      assert.equal(Array.from(a.pickSlots(40), (s) => a.nodeAt(s)), b.pickBatch(40));
    });

    t('bad input is refused with a stable code and changes nothing', () => {
      const wrr = make().set('a', 2).set('b', 1);
      wrr.pickBatch(2);
      const snap = () => JSON.stringify(wrr.peers());
      const before = snap();
      for (const w of [NaN, 0, -1, Infinity, 0.0001, 2e6, '3' as never]) {
        throwsCode(() => wrr.set('a', w), 'INVALID_WEIGHT', /weight must be a finite number from 0\.001 to 1000000, got/);
      }
      throwsCode(() => wrr.set('', 1), 'INVALID_ID', /non-empty string, got ""/);
      throwsCode(() => wrr.fail('zz'), 'UNKNOWN_NODE', /fail: no peer "zz"; peers: "a", "b"/);
      throwsCode(() => wrr.setEligible('zz', false), 'UNKNOWN_NODE', /setEligible: no peer "zz"/);
      throwsCode(() => wrr.setEligible('a', 'no' as never), 'INVALID_ARGUMENT', /must be a boolean/);
      for (const n of [-1, 1.5, 2 ** 24 + 1, NaN]) throwsCode(() => wrr.pickBatch(n), 'INVALID_ARGUMENT', /batch size must be an integer from 0 to 16777216/);
      throwsCode(() => wrr.pickSlots(4, new Int32Array(2)), 'INVALID_ARGUMENT', /length >= 4, got length 2/);
      assert.is(snap(), before);
      const many = make();
      many.set('big', 1_000_000);
      throwsCode(() => { for (let i = 0; i < 1100; i++) many.set(`p${i}`, 1_000_000); }, 'CAPACITY', /may sum to at most/);
    });

    t.run();
  }
}

const opts = suite('SmoothWrr options');
opts('options are validated, filled and frozen', () => {
  throwsCode(() => new SmoothWrr({ maxFails: -1 }), 'INVALID_OPTION', /options\.maxFails must be an integer from 0 to 1000000, got -1/);
  throwsCode(() => new SmoothWrr({ engine: 'x' as never }), 'INVALID_OPTION', /options\.engine must be one of "wasm", "ts", got "x"/);
  throwsCode(() => new SmoothWrr({ cycle: 1 as never }), 'INVALID_OPTION', /options\.cycle must be a boolean, got 1/);
  throwsCode(() => new SmoothWrr({ maxfails: 1 } as never), 'INVALID_OPTION', /options\.maxfails is not an option/);
  const wrr = new SmoothWrr({ maxFails: 3 });
  assert.equal({ ...wrr.options }, { engine: 'wasm', maxFails: 3, cycle: true });
  assert.ok(Object.isFrozen(wrr.options));
});
opts.run();
