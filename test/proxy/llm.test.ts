import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModelServer } from '../../src/demo/modelServer.js';
import { promptOf, usageOf } from '../../src/proxy/openai.js';
import { seededRandom } from '../../src/mesh/random.js';
import { ep, SidecarHarness } from '../support/sidecar.js';

// Real sockets on 127.0.0.1: fake model servers that keep a real KV prefix cache (blocks of the
// prompts they served, LRU), the sidecar in front, OpenAI-style requests through it.
const t = suite('sidecar: prompts of OpenAI-style bodies (prefix-cache, ttft)');
const h = new SidecarHarness();
t.before.each(() => h.setUp());
t.after.each(() => h.tearDown());

const system = (g: number) => `You are the assistant of team ${g}. Answer from the handbook of team ${g}, cite its sections, never guess. `.repeat(20);
const chat = (g: number, q: number, extra: object = {}) => JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'system', content: system(g) }, { role: 'user', content: `Question ${q}: what does section ${q} say about travel?` }], ...extra });
const post = (path: string, body: string) => h.send('POST', path, body, { 'content-type': 'application/json' });
const hitRate = (ms: ModelServer[]) => ms.reduce((s, m) => s + m.cachedTokens, 0) / ms.reduce((s, m) => s + m.promptTokens, 0);

async function serve(policy: string, requests: [number, number][]): Promise<{ ms: ModelServer[]; by: Map<number, Set<string>> }> {
  // 8 system prompts of ~36 blocks each; a server holds 120 blocks: about 3 of them.
  const ms = await h.models(4, { prefixCacheBlocks: 120 });
  await h.start({ services: [{ name: 'llm', policy, endpoints: ms.map((m) => ep(m)) }] });
  const by = new Map<number, Set<string>>();
  for (const [g, q] of requests) {
    const r = await post('/v1/chat/completions', chat(g, q));
    assert.is(r.status, 200);
    by.set(g, (by.get(g) ?? new Set()).add(String(r.headers['x-wasmesh-endpoint'])));
  }
  return { ms, by };
}

t('prefix-cache: requests sharing a system prompt meet where it is cached; the servers\' own caches hit far more than under round robin', async () => {
  // 8 groups of 12 questions, in a seeded random order: no cycle pins a group to a server.
  const random = seededRandom(7);
  const requests = Array.from({ length: 96 }, (_, i) => [Math.floor(random() * 8), i] as [number, number]);
  const cached = await serve('prefix-cache', requests);
  const cachedHit = hitRate(cached.ms);
  for (const [g, endpoints] of cached.by) assert.is(endpoints.size, 1, `group ${g} on ${[...endpoints]}`);
  await h.tearDown();
  h.setUp();
  const rr = await serve('swrr', requests);
  const rrHit = hitRate(rr.ms);
  assert.ok(cachedHit > 0.8, `prefix-cache hit ${cachedHit}`);
  assert.ok(cachedHit > rrHit * 2, `prefix-cache ${cachedHit.toFixed(3)} vs round robin ${rrHit.toFixed(3)}`);
});

t('the answer names the endpoint and the predicted cached share; a streamed answer\'s first token and its usage go back to the mesh', async () => {
  const ms = await h.models(3, { prefixCacheBlocks: 500, tokens: 3, tokenGapMs: 2 });
  await h.start({ services: [{ name: 'llm', policy: 'ttft', endpoints: ms.map((m) => ep(m)) }] });
  const first = await post('/v1/chat/completions', chat(1, 1, { stream: true }));
  assert.is(first.headers['x-wasmesh-prefix-hit'], '0.000');
  assert.match(first.text, /"cached_tokens":0/);
  const second = await post('/v1/chat/completions', chat(1, 2, { stream: true }));
  assert.is(second.headers['x-wasmesh-endpoint'], first.headers['x-wasmesh-endpoint']);
  assert.ok(Number(second.headers['x-wasmesh-prefix-hit']) > 0.9, String(second.headers['x-wasmesh-prefix-hit']));
  const metrics = await h.metrics();
  assert.match(metrics, /wasmesh_prefix_cached_share_count\{service="llm",kind="predicted"\} 2/);
  // The engine's own account of the second request's hit arrived with its usage.
  assert.match(metrics, /wasmesh_prefix_cached_share_count\{service="llm",kind="delivered"\} 2/);
  assert.match(metrics, /wasmesh_prefix_cached_share_bucket\{le="0\.95",service="llm",kind="delivered"\} 1/);
});

t('completions (text and token ids), responses, another model, and a body past maxKeyBodyBytes all route by what they start with', async () => {
  const ms = await h.models(4, { prefixCacheBlocks: 500 });
  await h.start({ services: [{ name: 'llm', policy: 'prefix-cache', endpoints: ms.map((m) => ep(m)) }], proxy: { limits: { maxKeyBodyBytes: 4096 } } });
  const endpoint = async (path: string, body: object | string) => String((await post(path, typeof body === 'string' ? body : JSON.stringify(body))).headers['x-wasmesh-endpoint']);
  const doc = system(5);
  const a = await endpoint('/v1/completions', { model: 'm', prompt: `${doc} Summarize.` });
  assert.is(await endpoint('/v1/completions', { model: 'm', prompt: [`${doc} Translate.`, 'ignored'] }), a);
  const ids = Array.from({ length: 400 }, (_, i) => (i * 7919) % 50_000);
  const b = await endpoint('/v1/completions', { model: 'm', prompt: [...ids, 1] });
  assert.is(await endpoint('/v1/completions', { model: 'm', prompt: [[...ids, 2]] }), b);
  const c = await endpoint('/v1/responses', { model: 'm', instructions: doc, input: 'First question' });
  assert.is(await endpoint('/v1/responses', { model: 'm', instructions: doc, input: [{ role: 'user', content: [{ type: 'input_text', text: 'Second question' }] }] }), c);
  // Past 4 KiB the body is not parsed: its first 4 KiB are the prompt, so bodies alike still meet.
  const big = (n: number) => JSON.stringify({ model: 'm', messages: [{ role: 'system', content: doc.repeat(3) }, { role: 'user', content: `Question ${n}` }] });
  assert.ok(big(1).length > 4096);
  const d = await endpoint('/v1/chat/completions', big(1));
  assert.is(await endpoint('/v1/chat/completions', big(2)), d);
  // A body that is not JSON routes without a prompt (least loaded), and is answered.
  assert.is((await post('/v1/chat/completions', 'not json')).status, 200);
});

t('promptOf: chat messages in order with tools first and content parts; a model and cache salt seed the chain; usageOf reads a stream\'s tail', () => {
  const tools = [{ type: 'function', function: { name: 'lookup', parameters: {} } }];
  const p = promptOf({ model: 'm', cache_salt: 'tenant-1', tools, messages: [{ role: 'system', content: 'S' }, { role: 'user', content: [{ type: 'text', text: 'look at ' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] }, { role: 'assistant', tool_calls: [{ id: 'c1' }] }, { role: 'tool', tool_call_id: 'c1', content: 'R' }] });
  assert.equal(p, { model: 'm', cacheSalt: 'tenant-1', prompt: `<tools>${JSON.stringify(tools)}\n<system>S\n<user>look at <image https://x/y.png>\n<assistant>[{"id":"c1"}]\n<tool>R(c1)\n` });
  // A conversation's next turn extends its prompt: the earlier turns are its prefix.
  const turn1 = promptOf({ messages: [{ role: 'user', content: 'hi' }] })!.prompt as string;
  const turn2 = promptOf({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }, { role: 'user', content: 'more' }] })!.prompt as string;
  assert.ok(turn2.startsWith(turn1));
  assert.equal(promptOf({ prompt: [1, 2, 3] })!.prompt, Uint32Array.from([1, 2, 3]));
  assert.is(promptOf({ prompt: [1, -2] }), undefined);
  assert.is(promptOf({ messages: [] }), undefined);
  assert.is(promptOf([1, 2]), undefined);
  assert.equal(usageOf('data: {"choices":[],"usage":{"prompt_tokens":120,"total_tokens":123,"prompt_tokens_details":{"cached_tokens":96}}}\n\ndata: [DONE]\n\n'), { promptTokens: 120, cachedTokens: 96 });
  assert.equal(usageOf('{"usage":{"prompt_tokens":12,"completion_tokens":7}}'), { promptTokens: 12, completionTokens: 7 });
  assert.is(usageOf('data: {"usage":{"total_tokens":12}}'), undefined);
  assert.is(usageOf('data: {"choices":[{"delta":{"content":"x"}}]}'), undefined);
});

t.run();
