// `wasmesh demo --proxy`: the sidecar as an AI gateway over real sockets. OpenAI-compatible model
// servers (the simulator's engine run in real time: continuous batching, a KV prefix cache,
// /metrics in vLLM's names) stand in for an H100, an A100 and two L4s; two tenants send chats that
// share system prompts through the sidecar, one of them under a token budget. The same traffic
// runs once per policy, each on cold caches, and the demo shows what each got: time to first
// token, prompt tokens found cached, tokens a second, requests refused by the budget.
import cliProgress from 'cli-progress';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { EngineServer } from '../demo/engineServer.js';
import { seededRandom } from '../mesh/random.js';
import { startSidecar } from '../proxy/sidecar.js';
import { bars } from './chart.js';

// KV caches are made scarce (a few system prompts each) so that where a prompt goes matters.
const FLEET = [
  { name: 'h100', accelerator: 'H100', kvTokens: 16_384 },
  { name: 'a100', accelerator: 'A100', kvTokens: 12_288 },
  { name: 'l4-1', accelerator: 'L4', kvTokens: 8192 },
  { name: 'l4-2', accelerator: 'L4', kvTokens: 8192 },
] as const;
const POLICIES = ['swrr', 'prefix-cache', 'ttft'] as const;
const TENANTS = [
  { name: 'team-a', clients: 10, tokensPerMinute: 120_000 },
  { name: 'team-b', clients: 4, tokensPerMinute: undefined },
] as const;
// 12 system prompts of about 1,500 tokens, drawn with a skew (the first ones more often).
const GROUPS = 12;
const system = (g: number) => `You are the support assistant of product line ${g}. Follow the handbook of line ${g}: answer in three sentences, cite section numbers, escalate refunds. `.repeat(40);

interface PolicyResult {
  policy: string;
  ok: number;
  limited: number;
  failed: number;
  ttftMs: number[];
  promptTokens: number;
  cachedTokens: number;
  generated: number;
  seconds: number;
}

const quantile = (xs: number[], q: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]! : NaN);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export async function demoProxyCommand(seconds: number): Promise<void> {
  console.log(`wasmesh demo --proxy: the sidecar as an AI gateway in front of ${FLEET.map((f) => f.accelerator).join(', ')} model servers`);
  console.log('(Llama-3.1-8B timings from the simulator\'s engine model, run in real time; KV caches of 8-16K tokens).');
  console.log(`${TENANTS.map((t) => `${t.name}: ${t.clients} clients${t.tokensPerMinute ? `, a budget of ${t.tokensPerMinute.toLocaleString('en-US')} tokens a minute` : ', no budget'}`).join('; ')}.`);
  console.log(`Streamed chats on ${GROUPS} shared system prompts of ~1,500 tokens; ${seconds} s per policy, each on cold caches.\n`);
  const bar = new cliProgress.SingleBar({ format: ' {policy} |{bar}| {percentage}% | {requests} requests', noTTYOutput: true, notTTYSchedule: 1000 }, cliProgress.Presets.shades_classic);
  const results: PolicyResult[] = [];
  for (const policy of POLICIES) {
    bar.start(100, 0, { policy: policy.padEnd(12), requests: 0 });
    results.push(await runPolicy(policy, seconds, (f, n) => bar.update(Math.min(100, Math.round(f * 100)), { requests: n })));
    bar.update(100);
    bar.stop();
  }
  console.log('\npolicy         requests  429 (budget)  TTFT p50  TTFT p90  cached prompt tokens  tokens/s');
  for (const r of results) {
    console.log(`${r.policy.padEnd(14)} ${String(r.ok).padStart(8)} ${String(r.limited).padStart(13)} ${`${quantile(r.ttftMs, 0.5).toFixed(0)} ms`.padStart(9)} ${`${quantile(r.ttftMs, 0.9).toFixed(0)} ms`.padStart(9)} ${pct(r.cachedTokens / Math.max(1, r.promptTokens)).padStart(21)} ${(r.generated / r.seconds).toFixed(0).padStart(9)}`);
  }
  console.log('\ntime to first token, p90 (shorter is better):');
  console.log(bars(results.map((r) => ({ label: r.policy, value: quantile(r.ttftMs, 0.9), note: `${quantile(r.ttftMs, 0.9).toFixed(0)} ms` }))));
  console.log('\nprompt tokens found in the KV cache:');
  console.log(bars(results.map((r) => ({ label: r.policy, value: r.cachedTokens / Math.max(1, r.promptTokens), note: pct(r.cachedTokens / Math.max(1, r.promptTokens)) }))));
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log(`\n${failed ? `${failed} requests failed` : 'no request failed'}; team-a's requests past its budget were answered 429 with retry-after and x-ratelimit-* headers.`);
}

async function runPolicy(policy: string, seconds: number, progress: (fraction: number, requests: number) => void): Promise<PolicyResult> {
  const servers = await Promise.all(FLEET.map((f) => new EngineServer({ name: f.name, device: { accelerator: f.accelerator }, kvTokens: f.kvTokens }).start()));
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-demo-'));
  const configFile = join(dir, 'mesh.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      services: [{ name: 'chat', policy, metrics: { intervalMs: 100 }, endpoints: servers.map((s, i) => ({ id: s.name, address: s.address, resources: { accelerator: FLEET[i]!.accelerator, count: 1 } })) }],
      proxy: { routes: [{ pathPrefix: '/v1', service: 'chat' }], gateway: { budgets: TENANTS.flatMap((t) => (t.tokensPerMinute ? [{ tenant: t.name, tokensPerMinute: t.tokensPerMinute }] : [])) } },
    }),
  );
  const sidecar = await startSidecar({ configFile, listen: { port: 0 }, admin: { port: 0 }, log: () => {}, accessLog: 'off' });
  const result: PolicyResult = { policy, ok: 0, limited: 0, failed: 0, ttftMs: [], promptTokens: 0, cachedTokens: 0, generated: 0, seconds };
  const random = seededRandom(42);
  const started = performance.now();
  const end = started + seconds * 1000;
  const url = `http://127.0.0.1:${sidecar.address.port}/v1/chat/completions`;
  const client = async (tenant: string, c: number) => {
    for (let n = 0; performance.now() < end; n++) {
      // A skewed draw: low-numbered system prompts are the popular ones.
      const g = Math.floor(GROUPS * random() ** 1.6);
      const body = JSON.stringify({ model: 'llama-3.1-8b', stream: true, max_tokens: 24, messages: [{ role: 'system', content: system(g) }, { role: 'user', content: `Customer ${c}-${n} asks about order ${Math.floor(random() * 1e6)}.` }] });
      const t0 = performance.now();
      try {
        const r = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-tenant-id': tenant } });
        if (r.statusCode === 429) {
          result.limited++;
          await r.body.dump();
          // As a client honouring retry-after would, with the demo's clock in mind.
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        if (r.statusCode !== 200) {
          result.failed++;
          await r.body.dump();
          continue;
        }
        let first = true;
        let text = '';
        for await (const chunk of r.body) {
          if (first) {
            result.ttftMs.push(performance.now() - t0);
            first = false;
          }
          text = (text + String(chunk)).slice(-2048);
        }
        const usage = /"prompt_tokens":(\d+),"completion_tokens":(\d+).*?"cached_tokens":(\d+)/.exec(text);
        if (usage) {
          result.promptTokens += Number(usage[1]);
          result.generated += Number(usage[2]);
          result.cachedTokens += Number(usage[3]);
        }
        result.ok++;
      } catch {
        result.failed++;
      }
      progress((performance.now() - started) / (seconds * 1000), result.ok + result.limited);
    }
  };
  await Promise.all(TENANTS.flatMap((t) => Array.from({ length: t.clients }, (_, c) => client(t.name, c))));
  result.seconds = (performance.now() - started) / 1000;
  await sidecar.close();
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
  return result;
}
