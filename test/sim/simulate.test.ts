import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compare, fleetOf, kWorkloads, ladder, makeWorkload, simulate, type SimRequest } from '../../src/sim/index.js';
import { throwsCode } from '../support/assert.js';

const w = suite('workloads match their documented parameters');

const distinctTokens = (requests: SimRequest[]) => new Set(requests.flatMap((r) => Array.from(r.blocks.subarray(0, r.promptBlocks)))).size * 16;
const meanGap = (requests: SimRequest[]) => requests.at(-1)!.arrivalS / requests.length;
const byGroup = (requests: SimRequest[]) => {
  const groups = new Map<number, SimRequest[]>();
  for (const r of requests) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  return [...groups.values()];
};

w('shared-prefix: 64 groups of a 2,048-token system prompt, 128-token questions, 256-token answers, Poisson at the rate', () => {
  const wl = makeWorkload('shared-prefix', { rate: 50 });
  assert.is(wl.requests.length, 1024);
  assert.ok(wl.requests.every((r) => r.promptTokens === 2176 && r.outputTokens === 256));
  assert.is(new Set(wl.requests.map((r) => r.group)).size, 64);
  assert.is(new Set(wl.requests.map((r) => r.key)).size, 64, 'one first block per group');
  // Shared: 64 x 2,048 tokens; the rest is each request's own (the last partial block aside).
  assert.is(distinctTokens(wl.requests), 64 * 2048 + 1024 * 128);
  assert.ok(Math.abs(meanGap(wl.requests) - 1 / 50) < 0.1 / 50, `mean gap ${meanGap(wl.requests)}`);
});

w('b2b-73: the working set is 73% of 8 x 307,328 KV tokens', () => {
  const wl = makeWorkload('b2b-73', { requests: 6000 });
  const share = distinctTokens(wl.requests.map((r) => ({ ...r, promptBlocks: Math.floor(7200 / 16) }))) / (8 * 307_328);
  assert.ok(Math.abs(share - 0.73) < 0.01, `working set ${(share * 100).toFixed(1)}%`);
  assert.ok(wl.requests.every((r) => r.promptTokens === 7216 && r.outputTokens >= 200 && r.outputTokens <= 240));
});

w('multi-turn, few-shot, long-doc, siblings, hot-spot, no-sharing', () => {
  const chat = makeWorkload('multi-turn', { requests: 400 });
  const bySession = new Map<number, SimRequest[]>();
  for (const r of chat.requests) bySession.set(r.group, [...(bySession.get(r.group) ?? []), r]);
  for (const turns of [...bySession.values()].slice(0, -1)) {
    assert.ok(turns.length >= 4 && turns.length <= 15);
    // Each turn sends the conversation so far: the previous prompt and its answer are its prefix.
    for (let i = 1; i < turns.length; i++) {
      const prev = turns[i - 1]!, cur = turns[i]!;
      assert.ok(cur.promptTokens > prev.promptTokens + prev.outputTokens);
      assert.equal(Array.from(cur.blocks.subarray(0, prev.blocks.length)), Array.from(prev.blocks), 'the previous prompt and answer blocks lead this prompt');
    }
  }
  const shots = makeWorkload('few-shot', { requests: 2000 });
  assert.ok(shots.requests.every((r) => r.promptTokens === 4 * 475 + 64));
  const top = shots.requests.filter((r) => r.group === 0).length / 2000;
  assert.ok(top > 0.15 && top < 0.3, `the most popular pattern takes ${top} (Zipf 1.1 over 32: 0.23)`);
  const docs = makeWorkload('long-doc');
  assert.ok(docs.requests.every((r) => r.promptTokens >= 16_384 + 64 && r.promptTokens <= 32_768 + 64));
  assert.ok(byGroup(docs.requests).every((g) => g.length === 8));
  const sib = makeWorkload('siblings', { requests: 64 });
  for (const g of byGroup(sib.requests)) {
    const at = g.map((r) => r.arrivalS);
    assert.is(g.length, 4);
    assert.ok(Math.max(...at) - Math.min(...at) <= 0.01);
  }
  const hot = makeWorkload('hot-spot', { requests: 4000 }).requests.filter((r) => r.group === 0).length / 4000;
  assert.ok(Math.abs(hot - 0.5 - 0.5 / 64) < 0.03, `hot group share ${hot}`);
  const none = makeWorkload('no-sharing', { requests: 200 });
  assert.is(new Set(none.requests.map((r) => r.key)).size, 200);
});

w('bad input: unknown workload, fleet, policy; bad rate, request count, ladder', () => {
  throwsCode(() => makeWorkload('sharegpt'), 'INVALID_ARGUMENT', /unknown workload "sharegpt"; known: shared-prefix/);
  throwsCode(() => makeWorkload('shared-prefix', { rate: 0 }), 'INVALID_ARGUMENT', /rate must be a number > 0/);
  throwsCode(() => makeWorkload('shared-prefix', { requests: 1.5 }), 'INVALID_ARGUMENT', /requests must be an integer/);
  throwsCode(() => fleetOf('gpu-farm'), 'INVALID_ARGUMENT', /unknown fleet "gpu-farm"/);
  throwsCode(() => compare({ workload: 'no-sharing', policies: ['fastest'] }), 'INVALID_ARGUMENT', /unknown policy "fastest"/);
  throwsCode(() => ladder('60:3:6'), 'INVALID_ARGUMENT', /ladder must be "from:to:steps"/);
  assert.equal(ladder('3:60:4'), [3, 22, 41, 60]);
  assert.ok(Object.keys(kWorkloads).length >= 8);
});
w.run();

const s = suite('simulation');

s('the same seed gives the same results; Little\'s law holds on a steady run', () => {
  const run = () => compare({ workload: 'shared-prefix', requests: 300, policies: ['swrr', 'ring-hash'] });
  const strip = (c: ReturnType<typeof run>) => JSON.stringify(c, (k, v) => (k === 'routerMicros' ? 0 : v));
  assert.is(strip(run()), strip(run()));
  // L = lambda W: the mean number of requests in the system, sampled by the engines' scraped
  // metrics, against the arrival rate times the mean time in the system.
  const wl = makeWorkload('no-sharing', { requests: 1500, rate: 20 });
  const r = simulate({ workload: wl, fleet: fleetOf('homogeneous'), policy: 'swrr', scrapeS: 0.05 });
  const lambda = 1500 / wl.requests.at(-1)!.arrivalS;
  assert.ok(r.successRate === 1);
  assert.ok(r.inSystem > 0 && Math.abs(r.inSystem - lambda * r.meanE2eS) / r.inSystem < 0.1, `L ${r.inSystem} vs lambda W ${lambda * r.meanE2eS}`);
});

s('direction of the published results: a prompt-keyed ring beats round robin on hit rate and TTFT on shared-prefix; with nothing shared all policies are alike', () => {
  const shared = compare({ workload: 'shared-prefix', policies: ['swrr', 'ring-hash', 'oracle'] });
  const [swrr, ring, oracle] = shared.results;
  assert.ok(ring!.hitRate > swrr!.hitRate * 1.3, `hit ${ring!.hitRate} vs ${swrr!.hitRate}`);
  assert.ok(ring!.ttftMs.p50 < swrr!.ttftMs.p50, `TTFT p50 ${ring!.ttftMs.p50} vs ${swrr!.ttftMs.p50}`);
  assert.ok(oracle!.ttftMs.p90 <= swrr!.ttftMs.p90);
  // Below saturation every policy delivers what is offered (saturated, the ring's bounded-load
  // imbalance shows: see the README).
  const none = compare({ workload: 'no-sharing', rates: [20], policies: ['swrr', 'p2c', 'ring-hash'] });
  const tps = none.results.map((r) => r.outputTokensPerS);
  assert.ok(Math.max(...tps) / Math.min(...tps) < 1.05, `tokens/s ${tps}`);
  assert.ok(none.results.every((r) => r.hitRate < 0.01 && r.successRate === 1));
});

s('a mixed fleet: capacity-blind round robin sends CPU servers their share and requests time out there; swrr by capacity does not', () => {
  const c = compare({ workload: 'no-sharing', fleet: 'mixed', requests: 400, rates: [10], policies: ['swrr', 'random'] });
  const [swrr, random] = c.results;
  assert.is(swrr!.successRate, 1);
  assert.ok(random!.successRate < 1, `random success ${random!.successRate}`);
  // CPUs are the last two endpoints of the mixed fleet.
  assert.ok(swrr!.share.slice(-2).every((x) => x < 0.01), `swrr CPU share ${swrr!.share.slice(-2)}`);
});
s.run();
