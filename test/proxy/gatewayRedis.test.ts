import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'undici';
import { startSidecar, type Sidecar } from '../../src/index.js';
import { redisAvailable, startRedis, type RedisServer } from '../support/redis.js';
import { ep, SidecarHarness, sleep } from '../support/sidecar.js';

// Two sidecar replicas in front of one engine, their token budgets in one real Redis.
const t = suite('sidecar replicas sharing token budgets through Redis');
const h = new SidecarHarness();
let redis: RedisServer;
let second: Sidecar | undefined;

const chat = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Say hello in one word.' }], max_tokens: 3 });
const post = async (sidecar: Sidecar, tenant: string) => {
  const r = await request(`http://127.0.0.1:${sidecar.address.port}/v1/chat/completions`, { method: 'POST', body: chat, headers: { 'content-type': 'application/json', 'x-tenant-id': tenant } });
  await r.body.dump();
  return r.statusCode;
};

if (redisAvailable()) {
  t.before(async () => {
    redis = await startRedis();
  });
  t.after(async () => {
    await redis.destroy();
  });
  t.before.each(() => h.setUp());
  t.after.each(async () => {
    await second?.close();
    second = undefined;
    await h.tearDown();
  });

  t('one budget for both replicas, exactly, under concurrency; Redis killed mid-run fails open (and says so), restarted it enforces again', async () => {
    const ms = await h.models(1, { openai: true, tokens: 3 });
    // 11 tokens a request (8 prompt + 3 max_tokens, and so many used); a bucket of 110: 10 requests.
    const config = { services: [{ name: 'llm', policy: 'p2c', endpoints: [ep(ms[0]!)] }], proxy: { gateway: { budgets: [{ tokensPerMinute: 1, burstTokens: 110 }], budgetStore: { timeoutMs: 200, prefix: `shared:${Date.now()}:` } } } };
    const first = await h.start(config, { redis: redis.url });
    second = await startSidecar({ configFile: h.file, listen: { port: 0 }, admin: { port: 0 }, redis: redis.url, log: () => {}, accessLog: 'off' });
    await sleep(300);
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => post(i % 2 ? first : second!, 'acme')));
    assert.is(statuses.filter((s) => s === 200).length, 10, statuses.join(' '));
    assert.is(statuses.filter((s) => s === 429).length, 20);
    assert.is(ms[0]!.receivedCount, 10);
    assert.is((await post(second, 'other')), 200);
    // Redis gone: admitted (fail open), counted, said once.
    await redis.stop();
    assert.is(await post(first, 'acme'), 200);
    assert.is(await post(second, 'acme'), 200);
    assert.match(await h.metrics(), /wasmesh_budget_decisions_total\{result="open"\} 1/);
    assert.ok(h.logs.some((l) => /budget store failed .* fail open/.test(l)), h.logs.join('\n'));
    // Back (empty: no persistence): the bucket starts full again, and both replicas share it.
    await redis.start();
    // Both replicas reconnect by themselves (with backoff): a probe on each until its store answers.
    const replicas = [first, second];
    for (let i = 0; i < 100 && !replicas.every((r) => r.proxy.gateway.budgets.storeUp); i++) {
      await sleep(100);
      await Promise.all(replicas.map((r) => post(r, 'probe')));
    }
    assert.ok(replicas.every((r) => r.proxy.gateway.budgets.storeUp), 'both replicas reconnected by themselves');
    assert.ok(h.logs.some((l) => /answers again/.test(l)));
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 ? first : second!, 'fresh')));
    assert.is(after.filter((s) => s === 200).length, 10, after.join(' '));
    assert.is(first.proxy.gateway.budgets.open + second.proxy.gateway.budgets.open, 0);
  });
} else if (process.env.CI) {
  t('redis-server is installed (CI never skips the Redis tests)', () => assert.unreachable('/usr/bin/redis-server is missing; .ci/run installs redis-server'));
}

t.run();
