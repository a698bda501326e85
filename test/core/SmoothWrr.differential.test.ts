import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { SmoothWrr } from '../../src/index.js';
import { NginxRoundRobin } from '../support/nginx.js';

// Wasm (scalar and v128 steps, with and without the cycle), the TS twin and the transcribed
// nginx algorithm must produce the same picks after any sequence of changes.

const ids = Array.from({ length: 40 }, (_, i) => `p${i}`);
const op = (weight: fc.Arbitrary<number>) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), id: fc.constantFrom(...ids), weight }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), id: fc.constantFrom(...ids) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), id: fc.constantFrom(...ids) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('eligible' as const), id: fc.constantFrom(...ids), eligible: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('picks' as const), n: fc.integer({ min: 1, max: 300 }) }) },
  );
type Op = { kind: 'set'; id: string; weight: number } | { kind: 'remove'; id: string } | { kind: 'fail'; id: string } | { kind: 'eligible'; id: string; eligible: boolean } | { kind: 'picks'; n: number };

function run(ops: Op[], maxFails: number, fractional: boolean): void {
  const tables = [
    new SmoothWrr({ engine: 'wasm', maxFails }),
    new SmoothWrr({ engine: 'wasm', maxFails, cycle: false }),
    new SmoothWrr({ engine: 'ts', maxFails }),
    new SmoothWrr({ engine: 'ts', maxFails, cycle: false }),
  ];
  const ref = fractional ? undefined : new NginxRoundRobin(maxFails);
  for (const o of ops) {
    const present = tables[0]!.has((o as { id?: string }).id ?? '');
    if (o.kind === 'set') {
      tables.forEach((t) => t.set(o.id, o.weight));
      ref?.set(o.id, o.weight);
    } else if (o.kind === 'remove') {
      tables.forEach((t) => t.remove(o.id));
      ref?.remove(o.id);
    } else if (o.kind === 'fail' && present) {
      tables.forEach((t) => t.fail(o.id));
      ref?.fail(o.id);
    } else if (o.kind === 'eligible' && present) {
      tables.forEach((t) => t.setEligible(o.id, o.eligible));
      ref?.setDown(o.id, !o.eligible);
    } else if (o.kind === 'picks') {
      // Alternate batch and single picks: both must be the same sequence.
      const seqs = tables.map((t, k) => (k % 2 ? Array.from({ length: o.n }, () => t.pick()) : t.pickBatch(o.n)));
      seqs.forEach((s, k) => assert.equal(s, seqs[0], `table ${k}`));
      if (ref) assert.equal(seqs[0], Array.from({ length: o.n }, () => ref.get()), 'nginx');
    }
  }
  const states = tables.map((t) => t.peers());
  states.forEach((s) => assert.equal(s, states[0]));
  if (ref) assert.equal(states[0]!.map((p) => [p.id, p.effectiveWeight, p.currentWeight, p.eligible]), ref.peers.map((p) => [p.id, p.effective_weight, p.current_weight, !p.down]));
  tables.forEach((t) => t.dispose());
}

const t = suite('SmoothWrr engines agree with nginx');

t('integer weights: random sets, removals, failures, ejections and picks', () => {
  fc.assert(fc.property(fc.array(op(fc.integer({ min: 1, max: 20 })), { maxLength: 60 }), fc.integer({ min: 0, max: 3 }), (ops, maxFails) => run(ops as Op[], maxFails, false)), { numRuns: 200 });
});

t('fractional weights: the engines agree bit for bit', () => {
  fc.assert(fc.property(fc.array(op(fc.constantFrom(0.25, 0.5, 1, 1.5, 2, 0.1, 0.125, 3.333, 8)), { maxLength: 60 }), fc.integer({ min: 0, max: 3 }), (ops, maxFails) => run(ops as Op[], maxFails, true)), { numRuns: 120 });
});

t('large tables: 300 peers, long runs through the cycle and out of it', () => {
  const ops: Op[] = [];
  for (let i = 0; i < 300; i++) ops.push({ kind: 'set', id: `n${i}`, weight: 1 + (i % 7) });
  ops.push({ kind: 'picks', n: 5000 }, { kind: 'fail', id: 'n3' }, { kind: 'picks', n: 3000 }, { kind: 'eligible', id: 'n9', eligible: false });
  ops.push({ kind: 'picks', n: 2500 }, { kind: 'set', id: 'n1', weight: 9 }, { kind: 'remove', id: 'n0' }, { kind: 'picks', n: 4000 });
  run(ops, 1, false);
});

t.run();

const core = suite('SmoothWrr core steps agree at every size');
core('v128 (forced from 0 peers), scalar (never) and the twin: random changes and picks', async () => {
  const { WasmWrrTable } = await import('../../src/core/wrr/WasmWrrTable.js');
  const { TsWrrTable } = await import('../../src/core/wrr/TsWrrTable.js');
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.nat(30), fc.integer({ min: 1, max: 9 })), { maxLength: 80 }),
      fc.constantFrom(0, 64),
      (ops, cycleMax) => {
        const tables = [new WasmWrrTable(cycleMax, 0), new WasmWrrTable(cycleMax, 1 << 30), new TsWrrTable(cycleMax)];
        const out = tables.map(() => new Int32Array(64));
        for (const [kind, at, w] of ops) {
          const n = tables[0]!.count;
          if (kind === 0 || n === 0) tables.forEach((t) => t.set(n === 0 ? 0 : Math.min(at, n), w));
          else if (kind === 1) tables.forEach((t) => t.fail(at % n, 1 + (w % 3)));
          else if (kind === 2) tables.forEach((t) => t.setEligible(at % n, w % 2 === 0));
          else if (kind === 3 && n > 1) tables.forEach((t) => t.remove(at % n));
          else {
            tables.forEach((t, k) => t.pickBatch(out[k]!, 3 * w));
            out.forEach((o) => assert.equal(Array.from(o.subarray(0, 3 * w)), Array.from(out[0]!.subarray(0, 3 * w))));
          }
        }
        const states = tables.map((t) => t.peers());
        states.forEach((s) => assert.equal(s, states[0]));
        tables.forEach((t) => t.dispose());
      },
    ),
    { numRuns: 300 },
  );
});
core.run();
