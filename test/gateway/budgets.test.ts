import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Budgets, goDuration, type BudgetRule } from '../../src/gateway/budgets/Budgets.js';
import { RedisBudgetStore } from '../../src/gateway/budgets/redisStore.js';
import { LocalBudgetStore, type BudgetStore } from '../../src/gateway/budgets/store.js';
import { GatewayMetrics } from '../../src/gateway/GatewayMetrics.js';
import { redisAvailable, startRedis, type RedisServer } from '../support/redis.js';
import { sleep } from '../support/processes.js';

// Token budgets: GCRA buckets per tenant and model, in this process or in a real Redis.
const t = suite('token budgets (GCRA), local and in Redis');

const rules: BudgetRule[] = [
  { tenant: 'vip', tokensPerMinute: 60_000 },
  { model: 'small', tokensPerMinute: 6000, burstTokens: 100 },
  { tenant: '*', model: '*', tokensPerMinute: 600, burstTokens: 600 },
];

function budgets(store: BudgetStore, clock?: () => number, onFailure: 'open' | 'closed' = 'open') {
  const metrics = new GatewayMetrics();
  const log: string[] = [];
  return { b: new Budgets({ rules: () => rules, store, onFailure, metrics, log: (l) => log.push(l), ...(clock ? { clock } : {}) }), metrics, log };
}

t('a bucket on a fake clock: the burst, then refill at the rate; headers as OpenAI writes them; a request above the burst never fits', async () => {
  const clock = { now: 1_000_000 };
  const { b } = budgets(new LocalBudgetStore(() => clock.now), () => clock.now);
  // 600 tokens a minute: one token every 100 ms; a burst of 600.
  const first = await b.reserve('acme', 'big', 600);
  assert.is(first.kind, 'admitted');
  assert.equal((first as { headers: object }).headers, { 'x-ratelimit-limit-tokens': '600', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1m0s' });
  const limited = await b.reserve('acme', 'big', 5);
  assert.is(limited.kind, 'limited');
  // 5 tokens fit in 500 ms: retry-after rounds up to whole seconds; the bucket is full in a minute.
  assert.equal((limited as { headers: object }).headers, { 'x-ratelimit-limit-tokens': '600', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1m0s', 'retry-after': '1' });
  clock.now += 499;
  assert.is((await b.reserve('acme', 'big', 5)).kind, 'limited');
  clock.now += 1;
  assert.is((await b.reserve('acme', 'big', 5)).kind, 'admitted');
  // Another tenant, another model: other buckets.
  assert.is((await b.reserve('other', 'big', 600)).kind, 'admitted');
  assert.is((await b.reserve('acme', 'small', 100)).kind, 'admitted');
  const tooBig = await b.reserve('fresh', 'small', 101);
  assert.is(tooBig.kind, 'limited');
  assert.is((tooBig as { headers: Record<string, string> }).headers['retry-after'], undefined);
  assert.match((tooBig as { message: string }).message, /exceeds/);
  // The first rule that matches: vip has its own.
  assert.is(b.ruleOf('vip', 'small')!.tokensPerMinute, 60_000);
});

t('settling: a request that used less gives the rest back, one that used more takes it; a refund returns all; each once', async () => {
  const clock = { now: 0 };
  const { b } = budgets(new LocalBudgetStore(() => clock.now), () => clock.now);
  const r = await b.reserve('acme', 'big', 400);
  assert.is(r.kind, 'admitted');
  const reservation = (r as { reservation: Parameters<Budgets['settle']>[0] }).reservation;
  b.settle(reservation, 100);
  b.settle(reservation, 0);
  b.refund(reservation);
  await sleep(1);
  // 600 - 100 used: 500 left, exactly.
  assert.is((await b.reserve('acme', 'big', 501)).kind, 'limited');
  const ok = await b.reserve('acme', 'big', 500);
  assert.is(ok.kind, 'admitted');
  b.refund((ok as { reservation: Parameters<Budgets['refund']>[0] }).reservation);
  await sleep(1);
  assert.is((await b.reserve('acme', 'big', 500)).kind, 'admitted');
  assert.equal([goDuration(17.2), goDuration(1500), goDuration(61_000), goDuration(360_000)], ['18ms', '1.5s', '1m1s', '6m0s']);
});

t('exact under concurrency (local): of 100 charges of 10 at once on a bucket of 600, exactly 60 pass', async () => {
  const { b } = budgets(new LocalBudgetStore(() => 5), () => 5);
  const decisions = await Promise.all(Array.from({ length: 100 }, () => b.reserve('acme', 'big', 10)));
  assert.is(decisions.filter((d) => d.kind === 'admitted').length, 60);
});

if (redisAvailable()) {
  let redis: RedisServer;
  t.before(async () => {
    redis = await startRedis();
  });
  t.after(async () => {
    await redis.destroy();
  });

  t('Redis: two replicas share one bucket exactly (the Lua script is atomic), on Redis\'s clock', async () => {
    const prefix = `t1:${Date.now()}:`;
    const stores = await Promise.all([0, 1].map(() => RedisBudgetStore.open({ url: redis.url, prefix })));
    const replicas = stores.map((s) => budgets(s).b);
    await sleep(200);
    const decisions = await Promise.all(Array.from({ length: 100 }, (_, i) => replicas[i % 2]!.reserve('acme', 'big', 10)));
    assert.is(decisions.filter((d) => d.kind === 'admitted').length, 60);
    const limited = decisions.find((d) => d.kind === 'limited') as { headers: Record<string, string> };
    assert.is(limited.headers['x-ratelimit-remaining-tokens'], '0');
    // One replica refunds what the other charged: both see it.
    const ok = decisions.find((d) => d.kind === 'admitted') as { reservation: Parameters<Budgets['refund']>[0] };
    replicas[0]!.refund(ok.reservation);
    await sleep(50);
    assert.is((await replicas[1]!.reserve('acme', 'big', 10)).kind, 'admitted');
    await Promise.all(stores.map((s) => s.close()));
  });

  t('Redis killed and restarted: fail open admits and counts it, fail closed refuses; both recover by themselves', async () => {
    const open = budgets(await RedisBudgetStore.open({ url: redis.url, timeoutMs: 200, prefix: `t2:${Date.now()}:` }));
    const closed = budgets(await RedisBudgetStore.open({ url: redis.url, timeoutMs: 200, prefix: `t3:${Date.now()}:` }), undefined, 'closed');
    await sleep(200);
    assert.is((await open.b.reserve('acme', 'big', 600)).kind, 'admitted');
    assert.is((await open.b.reserve('acme', 'big', 1)).kind, 'limited');
    await redis.stop();
    const during = await open.b.reserve('acme', 'big', 1);
    assert.is(during.kind, 'unlimited');
    assert.is((await closed.b.reserve('acme', 'big', 1)).kind, 'unavailable');
    const text = await open.metrics.metrics();
    assert.match(text, /wasmesh_budget_store_up 0/);
    assert.match(text, /wasmesh_budget_store_errors_total\{op="reserve"\} [1-9]/);
    assert.match(text, /wasmesh_budget_decisions_total\{result="open"\} 1/);
    assert.ok(open.log.some((l) => /fail open/.test(l)));
    await redis.start();
    // Reconnects with backoff; the script is loaded again (Redis restarted empty).
    let back = false;
    for (let i = 0; i < 60 && !back; i++) {
      await sleep(100);
      back = (await closed.b.reserve('acme', 'big', 600)).kind === 'admitted';
    }
    assert.ok(back, 'the closed replica admits again once Redis is back');
    assert.is((await closed.b.reserve('acme', 'big', 1)).kind, 'limited');
    assert.ok(closed.log.some((l) => /answers again/.test(l)));
    await open.b.close();
    await closed.b.close();
  });
} else if (process.env.CI) {
  t('redis-server is installed (CI never skips the Redis tests)', () => assert.unreachable('/usr/bin/redis-server is missing; .ci/run installs redis-server'));
}

t.run();
