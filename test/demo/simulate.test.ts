import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kDefaultSimulation, simulate } from '../../src/demo/simulate.js';

const policy = (blind: boolean) => (blind ? 'capacity-blind' : 'capacity-aware');

const options = { ...kDefaultSimulation, seconds: 30 };

test('the simulation is deterministic', () => {
  assert.equal(simulate(options, 'capacity-aware'), simulate(options, 'capacity-aware'));
});

test('capacity-aware routing follows capacity and beats capacity-blind routing', () => {
  const aware = simulate(options, 'capacity-aware');
  const blind = simulate(options, 'capacity-blind');
  assert.is(aware.requests, blind.requests, 'the same traffic');
  for (const t of aware.byType) assert.ok(Math.abs(t.routedShare - t.capacityShare) < 0.05, `${t.accelerator}: routed ${t.routedShare} vs capacity ${t.capacityShare}`);
  assert.ok(aware.p99 * 10 < blind.p99, `p99 ${aware.p99} vs ${blind.p99}`);
  assert.ok(aware.p50 < blind.p50);
});

test('against what users would otherwise run: capacity-aware routing gives up almost no request and has the most goodput; round robin and least request give up a large share to the timeout', () => {
  const run = (p: 'capacity-aware' | 'round-robin' | 'least-request') => simulate({ ...kDefaultSimulation, seconds: 60 }, p);
  const aware = run('capacity-aware'), rr = run('round-robin'), p2c = run('least-request');
  assert.ok(aware.timedOut < 0.001 * aware.requests, `${aware.timedOut} given up`);
  for (const other of [rr, p2c]) {
    assert.is(other.requests, aware.requests, 'the same traffic');
    assert.ok(other.timedOut > 0.1 * other.requests, `${other.timedOut} of ${other.requests} given up`);
    assert.ok(aware.goodput > 1.2 * other.goodput, `goodput ${aware.goodput} vs ${other.goodput}`);
    // Waits of requests that started are capped by the timeout; the aware run's are short.
    assert.ok(other.p99 <= kDefaultSimulation.timeoutS && aware.p99 < 1);
  }
});

test('keys moved at each membership change are the predicted share (20,000 keys)', () => {
  for (const blind of [false, true]) {
    const { changes } = simulate(options, policy(blind));
    assert.is(changes.length, 2);
    for (const c of changes) assert.ok(Math.abs(c.predicted - c.measured) < 0.01, `${c.what}: ${c.predicted} vs ${c.measured}`);
  }
});

test('a failing node is ejected within five failures per service, its requests retried, and it comes back through slow start', () => {
  const r = simulate({ ...kDefaultSimulation, seconds: 120 }, 'capacity-aware');
  const at = (text: string) => r.timeline.find((e) => e.what.includes(text))?.at;
  assert.is(at('starts failing'), 30);
  assert.ok(at('ejected from chat')! < 31 && at('ejected from batch')! < 32, JSON.stringify(r.timeline));
  assert.ok(r.failed <= 10, 'five failures a service, then no traffic');
  assert.is(r.retried, r.failed);
  assert.ok(at('back in rotation, slow start')! >= 60 && at('back in rotation, slow start')! < 64);
});

test('both engines route the simulation identically', () => {
  assert.equal(simulate({ ...options, engine: 'ts' }, 'capacity-aware'), simulate(options, 'capacity-aware'));
});

test.run();
