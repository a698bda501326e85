// An OpenAI-compatible model server without a GPU: the simulator's engine (continuous batching,
// chunked prefill, a paged KV cache with prefix caching, preemption; its iteration times from the
// roofline of the device and model) run in real time behind node:http on loopback. It answers
// /v1/chat/completions and /v1/completions (JSON, or a token stream with a usage chunk) and
// exports /metrics in vLLM's names, so a gateway in front of it sees what it would see of vLLM.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promptBlocks } from '../core/prefixHash.js';
import { seedOf } from '../mesh/llm/prompt.js';
import { promptOf } from '../proxy/openai.js';
import { engineSpeed, kModels, kvCapacityTokens, type DeviceSpec } from '../sim/costModel.js';
import { Engine, type SeqResult } from '../sim/Engine.js';
import type { SimRequest } from '../sim/workloads.js';
import { vllmMetricsText } from './vllmMetrics.js';

export interface EngineServerOptions {
  name: string;
  device: DeviceSpec;
  /** Default llama-3.1-8b. */
  model?: string;
  /** KV cache tokens, over what the device's memory holds (a demo makes caches scarce on purpose). */
  kvTokens?: number;
  /** Output tokens of a request without max_tokens. Default 64. */
  defaultMaxTokens?: number;
}

// What a stream in progress needs when its engine produces a token or finishes.
interface Live {
  res: ServerResponse;
  stream: boolean;
  model: string;
  id: string;
  result?: SeqResult;
}

const kMaxBody = 4 * 2 ** 20;
// A block of the simulator's cache is 16 tokens: 64 characters of text.
const kBlockChars = 64;

export class EngineServer {
  readonly name: string;
  readonly engine: Engine;
  readonly #server: Server;
  readonly #live = new Map<SimRequest, Live>();
  readonly #started = performance.now();
  readonly #options: EngineServerOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ids = 0;
  #port = 0;
  /** Tokens served: prompt, cached, generated. */
  promptTokens = 0;
  cachedTokens = 0;
  generatedTokens = 0;

  constructor(options: EngineServerOptions) {
    this.name = options.name;
    this.#options = options;
    const model = kModels[options.model ?? 'llama-3.1-8b']!;
    this.engine = new Engine(
      { speed: engineSpeed(options.device, model), kvTokens: options.kvTokens ?? kvCapacityTokens(options.device, model), onToken: (r, n) => this.#token(r, n) },
      (result) => this.#done(result),
    );
    this.#server = createServer((req, res) => this.#serve(req, res));
    this.#server.keepAliveTimeout = 30_000;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #now(): number {
    return (performance.now() - this.#started) / 1000;
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET' && req.url === '/metrics') return void res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.#metrics());
    if (req.method !== 'POST') return void res.writeHead(404).end();
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes <= kMaxBody) chunks.push(c);
    });
    req.on('end', () => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"the body is not JSON"}}');
      }
      const fields = promptOf(body);
      const prompt = typeof fields?.prompt === 'string' ? fields.prompt : '';
      const maxTokens = typeof body.max_tokens === 'number' && body.max_tokens > 0 ? Math.floor(body.max_tokens) : (this.#options.defaultMaxTokens ?? 64);
      const blocks = promptBlocks(prompt, { blockChars: kBlockChars, seed: seedOf(fields ?? {}) });
      const promptTokens = Math.max(1, Math.ceil(prompt.length / 4));
      // The cache keys blocks by number: the hash's low 52 bits.
      const request: SimRequest = { id: this.#ids++, arrivalS: this.#now(), promptTokens, outputTokens: maxTokens, blocks: Float64Array.from(blocks, (h) => Number(h & 0xfffffffffffffn)), promptBlocks: blocks.length, group: -1, key: '' };
      const stream = body.stream === true;
      const live: Live = { res, stream, model: String(body.model ?? this.name), id: `cmpl-${this.name}-${request.id}` };
      this.#live.set(request, live);
      if (stream) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }).flushHeaders();
      // A client that leaves takes nothing from the engine here: the sequence runs to its end, as
      // it would until vLLM notices the abort.
      this.engine.enqueue(request);
      this.#kick();
    });
  }

  // Runs the engine's iterations in real time: one at a time, each as long as the model says.
  #kick(): void {
    if (this.#timer !== undefined || this.engine.busy) return;
    const until = this.engine.start(this.#now());
    if (until < 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.engine.finish();
      this.#kick();
    }, Math.max(0, (until - this.#now()) * 1000));
  }

  #token(r: SimRequest, n: number): void {
    const live = this.#live.get(r);
    if (!live?.stream || live.res.destroyed) return;
    live.res.write(`data: ${JSON.stringify({ id: live.id, object: 'chat.completion.chunk', model: live.model, choices: [{ index: 0, delta: { content: ` t${n}` } }] })}\n\n`);
  }

  #done(result: SeqResult): void {
    const r = result.request;
    const live = this.#live.get(r);
    this.#live.delete(r);
    if (!live || live.res.destroyed) return;
    if (!result.ok) {
      if (live.stream) return void live.res.end(`data: ${JSON.stringify({ error: { message: 'dropped: the engine had no room' } })}\n\n`);
      return void live.res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":{"message":"the engine had no room"}}');
    }
    this.promptTokens += r.promptTokens;
    this.cachedTokens += result.cachedTokens;
    this.generatedTokens += r.outputTokens;
    const usage = { prompt_tokens: r.promptTokens, completion_tokens: r.outputTokens, total_tokens: r.promptTokens + r.outputTokens, prompt_tokens_details: { cached_tokens: result.cachedTokens } };
    if (live.stream) {
      live.res.write(`data: ${JSON.stringify({ id: live.id, object: 'chat.completion.chunk', model: live.model, choices: [], usage })}\n\n`);
      return void live.res.end('data: [DONE]\n\n');
    }
    const content = Array.from({ length: r.outputTokens }, (_, i) => `t${i + 1}`).join(' ');
    live.res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: live.id, object: 'chat.completion', model: live.model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'length' }], usage }));
  }

  #metrics(): string {
    const e = this.engine;
    const counters = { prefix_cache_queries_total: e.prefixQueries, prefix_cache_hits_total: e.prefixHits, num_preemptions_total: e.preemptions };
    return vllmMetricsText(this.#options.model ?? 'llama-3.1-8b', { waiting: e.waiting, running: e.running, kvUsage: e.kvUsage, counters });
  }
}
