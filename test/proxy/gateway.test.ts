import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'undici';
import type { ModelServer } from '../../src/demo/modelServer.js';
import { ep, SidecarHarness, sleep } from '../support/sidecar.js';

// The sidecar as an AI gateway over real sockets: model routes and fallbacks, usage from JSON and
// token streams, engine metrics scraped from fake vLLM servers, token budgets, priorities.
const t = suite('sidecar as an AI gateway');
const h = new SidecarHarness();
t.before.each(() => h.setUp());
t.after.each(() => h.tearDown());

const chat = (model: string, extra: object = {}) => JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello in one word.' }], max_tokens: 3, ...extra });
const post = (body: string, headers: Record<string, string> = {}) => h.send('POST', '/v1/chat/completions', body, { 'content-type': 'application/json', ...headers });
const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);

async function twoModels() {
  const ms = await h.models(3, { openai: true, tokens: 3 });
  await h.start({
    services: [
      { name: 'large', policy: 'p2c', model: 'llama-70b', fallback: ['small'], endpoints: [ep(ms[0]!, { models: ['llama-70b', 'llama-70b:sql'] })] },
      { name: 'small', policy: 'p2c', model: 'llama-8b', endpoints: [ep(ms[1]!), ep(ms[2]!)] },
    ],
    proxy: { routes: [{ pathPrefix: '/v1', model: 'llama-70b', service: 'large' }, { pathPrefix: '/v1', model: 'llama-8b', service: 'small' }] },
  });
  return ms;
}

t('routes by the body\'s model (an adapter "base:adapter" too); says which model answered; 404 for a model no route or endpoint serves', async () => {
  const ms = await twoModels();
  const big = await post(chat('llama-70b'));
  assert.is(big.status, 200);
  assert.is(big.headers['x-wasmesh-endpoint'], 'm0');
  assert.is(big.headers['x-wasmesh-model'], 'llama-70b');
  assert.is((await post(chat('llama-70b:sql'))).headers['x-wasmesh-endpoint'], 'm0');
  const small = await post(chat('llama-8b'));
  assert.match(String(small.headers['x-wasmesh-endpoint']), /m1|m2/);
  assert.is((await post(chat('gpt-9'))).status, 404);
  const noAdapter = await post(chat('llama-70b:poetry'));
  assert.is(noAdapter.status, 404);
  assert.is(noAdapter.json().error.reason, 'model-not-found');
  assert.equal(ms[0]!.models, ['llama-70b', 'llama-70b:sql']);
});

t('fallback: a local refusal passes to the next service, asking for its model; an endpoint\'s 429 only when the client allows a replay (Idempotency-Key)', async () => {
  const ms = await twoModels();
  ms[0]!.mode = 'busy';
  // A POST the client did not allow to be replayed: the 429 goes back to it, nothing is sent twice.
  const refused = await post(chat('llama-70b'));
  assert.is(refused.status, 429);
  assert.is(ms[0]!.receivedCount, 1);
  assert.is(ms[1]!.receivedCount + ms[2]!.receivedCount, 0);
  const replayed = await post(chat('llama-70b'), { 'idempotency-key': 'req-1' });
  assert.is(replayed.status, 200);
  assert.is(replayed.headers['x-wasmesh-model'], 'llama-8b');
  assert.is(replayed.headers['x-wasmesh-fallback'], 'large -> small');
  assert.equal([...ms[1]!.models, ...ms[2]!.models], ['llama-8b']);
  // Nothing sent (the endpoint is at its limit, here removed): any method falls back.
  ms[0]!.mode = 'ok';
  h.writeConfig({
    services: [
      { name: 'large', policy: 'p2c', model: 'llama-70b', fallback: ['small'], circuit: { maxRequests: 1 }, endpoints: [ep(ms[0]!, { models: ['llama-70b'] })] },
      { name: 'small', policy: 'p2c', model: 'llama-8b', endpoints: [ep(ms[1]!)] },
    ],
    proxy: { routes: [{ pathPrefix: '/v1', model: 'llama-70b', service: 'large' }] },
  });
  assert.ok(await h.sidecar!.reload());
  ms[0]!.delayMs = 150;
  const [slow, fallen] = await Promise.all([post(chat('llama-70b')), sleep(30).then(() => post(chat('llama-70b')))]);
  assert.is(slow.headers['x-wasmesh-endpoint'], 'm0');
  assert.is(fallen.status, 200);
  assert.is(fallen.headers['x-wasmesh-fallback'], 'large -> small');
  assert.match(await h.metrics(), /wasmesh_fallbacks_total\{from="large",to="small",reason="overloaded"\} 1/);
});

t('an endpoint whose pool is full passes the request to another that serves its model, never to one that does not', async () => {
  const ms = await h.models(3, { openai: true, delayMs: 150 });
  await h.start({
    services: [{ name: 'llm', policy: 'swrr', endpoints: [ep(ms[0]!, { models: ['a'] }), ep(ms[1]!, { models: ['b'] }), ep(ms[2]!, { models: ['a'] })] }],
    proxy: { limits: { connectionsPerEndpoint: 1, maxQueuedPerEndpoint: 0 } },
  });
  const answers = await Promise.all([0, 1, 2].map((i) => sleep(i * 20).then(() => post(chat('a')))));
  assert.equal(answers.map((r) => r.status).sort(), [200, 200, 503]);
  assert.is(answers.find((r) => r.status === 503)!.json().error.reason, 'pool-full');
  assert.is(ms[1]!.receivedCount, 0);
  assert.is(ms[0]!.receivedCount + ms[2]!.receivedCount, 2);
});

t('usage: from JSON and from a stream\'s last chunk; a stream without usage is counted by its chunks; include_usage is added when asked; TTFT and time per token observed', async () => {
  const ms = await h.models(1, { openai: true, tokens: 4, tokenGapMs: 10, streamUsage: 'asked' });
  await h.start({ services: [{ name: 'llm', policy: 'p2c', endpoints: [ep(ms[0]!)] }], proxy: { gateway: {} } });
  assert.is((await post(chat('m'), { 'x-tenant-id': 'acme' })).status, 200);
  // Streamed without stream_options: no usage chunk; 4 content chunks counted.
  const s = await post(chat('m', { stream: true }), { 'x-tenant-id': 'acme' });
  assert.is(s.status, 200);
  assert.not.match(s.text, /"usage"/);
  let text = await h.metrics();
  const tokens = (kind: string) => metric(text, new RegExp(`wasmesh_tokens_total\\{service="llm",endpoint="m0",model="m",tenant="acme",kind="${kind}"\\} (\\d+)`));
  // The rendered prompt "<user>Say hello in one word.\n" is 29 characters: 8 tokens as the server counts.
  assert.is(tokens('completion'), 4 + 4);
  assert.is(tokens('prompt'), 8);
  assert.is(metric(text, /wasmesh_usage_estimated_total\{service="llm",endpoint="m0"\} (\d+)/), 1);
  assert.is(metric(text, /wasmesh_ttft_seconds_count\{service="llm",endpoint="m0"\} (\d+)/), 1);
  assert.is(metric(text, /wasmesh_time_per_output_token_seconds_count\{service="llm",endpoint="m0"\} (\d+)/), 1);
  assert.ok(metric(text, /wasmesh_time_per_output_token_seconds_sum\{service="llm",endpoint="m0"\} ([\d.e-]+)/) >= 0.009);
  // include_usage: the gateway asks, the engine answers with usage (and the client sees it).
  h.writeConfig({ services: [{ name: 'llm', policy: 'p2c', endpoints: [ep(ms[0]!)] }], proxy: { gateway: { includeUsage: true } } });
  assert.ok(await h.sidecar!.reload());
  const u = await post(chat('m', { stream: true }), { 'x-tenant-id': 'acme' });
  assert.match(u.text, /"usage":\{"prompt_tokens":8,"completion_tokens":4/);
  text = await h.metrics();
  assert.is(tokens('prompt'), 16);
  assert.is(metric(text, /wasmesh_usage_estimated_total\{service="llm",endpoint="m0"\} (\d+)/), 1);
});

t('token budgets: 429 with OpenAI\'s headers once a tenant\'s tokens are spent, reconciled with real usage; other tenants unaffected', async () => {
  const ms = await h.models(1, { openai: true, tokens: 3 });
  // Every request: 8 prompt tokens (its rendered chat) + max_tokens 3 = 11 estimated, 11 used.
  await h.start({ services: [{ name: 'llm', policy: 'p2c', endpoints: [ep(ms[0]!)] }], proxy: { gateway: { budgets: [{ tokensPerMinute: 60, burstTokens: 55 }] } } });
  const statuses: number[] = [];
  let last;
  for (let i = 0; i < 7; i++) {
    last = await post(chat('m'), { authorization: 'Bearer sk-acme' });
    statuses.push(last.status);
  }
  assert.equal(statuses, [200, 200, 200, 200, 200, 429, 429]);
  assert.is(last!.json().error.reason, 'token-budget');
  assert.is(last!.headers['x-ratelimit-limit-tokens'], '55');
  assert.is(last!.headers['x-ratelimit-remaining-tokens'], '0');
  assert.match(String(last!.headers['x-ratelimit-reset-tokens']), /^5[0-5](\.\d+)?s$/);
  assert.match(String(last!.headers['retry-after']), /^1[01]$/);
  assert.is(ms[0]!.receivedCount, 5);
  assert.is((await post(chat('m'), { authorization: 'Bearer sk-other' })).status, 200);
  // Admitted answers carry the headers too.
  assert.ok((await post(chat('m'), { 'x-tenant-id': 'third' })).headers['x-ratelimit-remaining-tokens']);
  assert.is(h.sidecar!.proxy.gateway.budgets.open, 0);
});

t('budgets: a stream cut before its usage settles at its estimate; a body too large to parse is charged by its size', async () => {
  const ms = await h.models(1, { openai: true, tokens: 4, tokenGapMs: 2, obeyHeaders: true });
  await h.start({ services: [{ name: 'llm', policy: 'p2c', endpoints: [ep(ms[0]!)] }], proxy: { limits: { maxKeyBodyBytes: 4096 }, gateway: { budgets: [{ tokensPerMinute: 1, burstTokens: 1000 }] } } });
  const remaining = async (tenant: string) => Number((await post(chat('m', { max_tokens: 1 }), { 'x-tenant-id': tenant })).headers['x-ratelimit-remaining-tokens']);
  // Cut after two tokens: no usage, the estimate (8 + 3) stands; the probe itself is 8 + 1.
  const cut = await post(chat('m', { stream: true }), { 'x-tenant-id': 'acme', 'x-model-mode': 'cut' }).catch(() => undefined);
  assert.ok(cut === undefined || cut.status === 200);
  await sleep(20);
  assert.is(await remaining('acme'), 1000 - 11 - 9);
  // 8,000 characters of padding: about 2,000 tokens, more than the whole budget.
  const padded = await post(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(8000) }] }), { 'x-tenant-id': 'padder' });
  assert.is(padded.status, 429);
  assert.match(padded.text, /exceeds/);
  assert.is(h.sidecar!.proxy.gateway.budgets.open, 0);
});

t('engine metrics: scraped and routed on (a saturated endpoint is skipped); stale, garbage and hung scrapes are counted and never block routing', async () => {
  const ms = await h.models(3, { openai: true });
  await h.start({ services: [{ name: 'llm', policy: 'p2c', metrics: { intervalMs: 20, timeoutMs: 100 }, engines: { staleMs: 300 }, endpoints: ms.map((m) => ep(m)) }] });
  ms[0]!.gauges = { waiting: 12, running: 4, kvUsage: 0.5 };
  ms[1]!.gauges = { waiting: 0, running: 2, kvUsage: 0.95 };
  await sleep(150);
  const mesh = h.sidecar!.mesh;
  assert.is(mesh.engineState('llm', 'm0').report?.queueLength, 12);
  assert.ok(mesh.engineState('llm', 'm0').saturated && mesh.engineState('llm', 'm1').saturated && !mesh.engineState('llm', 'm2').saturated);
  for (let i = 0; i < 10; i++) assert.is((await post(chat('m'))).headers['x-wasmesh-endpoint'], 'm2');
  // m2's metrics page hangs and m1's turns to garbage: requests are still answered at once.
  ms[2]!.metricsMode = 'hang';
  ms[1]!.metricsMode = 'garbage';
  ms[0]!.gauges = { waiting: 0, running: 1, kvUsage: 0.1 };
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) assert.is((await post(chat('m'))).status, 200);
  assert.ok(performance.now() - t0 < 500);
  await sleep(450);
  // m2 and m1 are stale now (saturated by default): m0 takes the traffic.
  assert.is(mesh.engineState('llm', 'm2').state, 'stale');
  for (let i = 0; i < 6; i++) assert.is((await post(chat('m'))).headers['x-wasmesh-endpoint'], 'm0');
  const text = await h.metrics();
  assert.ok(metric(text, /wasmesh_engine_scrapes_total\{service="llm",endpoint="m2",result="timeout"\} (\d+)/) >= 1);
  assert.ok(metric(text, /wasmesh_engine_scrapes_total\{service="llm",endpoint="m1",result="garbage"\} (\d+)/) >= 1);
  assert.ok(metric(text, /wasmesh_engine_metrics_age_seconds\{service="llm",endpoint="m2"\} ([\d.]+)/) > 0.3);
  assert.ok(h.logs.some((l) => /m1.*garbage/.test(l)));
  // Every endpoint stale: all take traffic again (a scrape failure never blocks routing).
  ms[0]!.metricsMode = 'error';
  await sleep(400);
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) seen.add(String((await post(chat('m'))).headers['x-wasmesh-endpoint']));
  assert.equal([...seen].sort(), ['m0', 'm1', 'm2']);
});

t('priority: a bad x-wasmesh-priority is a 400; a sheddable request is refused with 429 when every endpoint is saturated', async () => {
  const ms = await h.models(2, { openai: true });
  await h.start({ services: [{ name: 'llm', policy: 'p2c', engines: { maxQueue: 5 }, endpoints: ms.map((m) => ep(m)) }] });
  const bad = await post(chat('m'), { 'x-wasmesh-priority': 'urgent' });
  assert.is(bad.status, 400);
  assert.match(bad.text, /x-wasmesh-priority must be an integer/);
  for (const m of ms) h.sidecar!.mesh.reportLoad('llm', m.name, { queueLength: 50 });
  const shed = await post(chat('m'), { 'x-wasmesh-priority': '-1' });
  assert.is(shed.status, 429);
  assert.is(shed.json().error.reason, 'shed');
  assert.is((await post(chat('m'), { 'x-wasmesh-priority': '5' })).status, 200);
  assert.is(ms[0]!.receivedCount + ms[1]!.receivedCount, 1);
});

t.run();
