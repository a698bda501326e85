// OutlierDetector's consecutive-failure ejection against a model written from Envoy's rule, on
// random outcome sequences with time passing, endpoints leaving and coming back. record() skips
// its lookup while no endpoint has a failure since its last success: the model has no such
// shortcut, so a count that went wrong would show as a missing or extra ejection.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { kDefaultOutlierSettings, OutlierDetector, type Ejection } from '../../src/mesh/health.js';

type Op = { kind: 'record'; id: number; failed: boolean } | { kind: 'tick'; ms: number } | { kind: 'endpoints'; drop: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('record' as const), id: fc.integer({ min: 0, max: 5 }), failed: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 40_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('endpoints' as const), drop: fc.integer({ min: -1, max: 5 }) }) },
);

test('consecutive-failure ejections match the model on random sequences', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 10, max: 60 }), fc.array(op, { maxLength: 300 }), (threshold, percent, ops) => {
      const settings = { ...kDefaultOutlierSettings, consecutiveFailures: threshold, maxEjectionPercent: percent };
      let now = 0;
      const detector = new OutlierDetector(settings, () => now);
      const seen: Ejection[] = [];
      detector.onEject((e) => seen.push(e));
      const all = ['e0', 'e1', 'e2', 'e3', 'e4', 'e5'];
      let ids = all;
      detector.setEndpoints(ids);
      // The model: per endpoint its failures since the last success, times ejected, ejected until.
      const model = new Map<string, { run: number; times: number; until: number }>();
      const expected: Ejection[] = [];
      const state = (id: string) => model.get(id) ?? (model.set(id, { run: 0, times: 0, until: 0 }), model.get(id)!);
      for (const o of ops) {
        if (o.kind === 'tick') now += o.ms;
        else if (o.kind === 'endpoints') {
          ids = o.drop < 0 ? all : all.filter((_, i) => i !== o.drop);
          detector.setEndpoints(ids);
          for (const id of [...model.keys()]) if (!ids.includes(id)) model.delete(id);
        } else {
          const id = all[o.id]!;
          detector.record(id, o.failed);
          const h = state(id);
          if (!o.failed) {
            h.run = 0;
            continue;
          }
          h.run++;
          if (h.run < threshold || h.until > now) continue;
          const current = [...model.values()].filter((x) => x.until > now).length;
          if (current >= Math.max(ids.length >= 2 ? 1 : 0, Math.floor((ids.length * percent) / 100))) continue;
          h.times++;
          h.run = 0;
          h.until = now + Math.min(settings.baseEjectionMs * h.times, settings.maxEjectionMs);
          expected.push({ id, cause: 'consecutive', times: h.times, until: h.until });
        }
      }
      assert.equal(seen, expected);
      assert.equal([...detector.ejected()].sort(), [...model].filter(([, h]) => h.until > now).map(([id]) => id).sort());
    }),
    { numRuns: 300 },
  );
});

test.run();
