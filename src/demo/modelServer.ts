// A fake inference server for tests, benchmarks and the proxy demo: node:http on loopback,
// answering like a model API. Its behaviour can change while it runs (slow, failing, down).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrefixIndex } from '../core/PrefixIndex.js';
import { promptOf } from '../proxy/openai.js';
import { seedOf } from '../mesh/llm/prompt.js';
import { vllmMetricsText, type EngineGauges } from './vllmMetrics.js';

/**
 * ok; fail: 500 to every request; hang: never answers; reset: reads the whole request, then drops
 * the connection; busy: 429 (retry-after: 1); unavailable: 503; cut: a token stream that stops
 * (connection dropped) after its first tokens, before its usage.
 */
export type ModelMode = 'ok' | 'fail' | 'hang' | 'reset' | 'busy' | 'unavailable' | 'cut';

/** ok; garbage: 200 with text that is not Prometheus'; error: 500; hang: never answers. */
export type MetricsMode = 'ok' | 'garbage' | 'error' | 'hang';

/** A request as the server received it (with `record`). */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
}

export interface ModelServerOptions {
  /** The name it answers with (and sends as x-served-by). */
  name: string;
  /** Milliseconds before answering (latency of a forward pass). Default 0. */
  delayMs?: number;
  /** Tokens of a streamed (SSE) answer, and the gap between them. Defaults 5 and 20 ms. */
  tokens?: number;
  tokenGapMs?: number;
  port?: number;
  /** Keep every request received (`received`): tests read what reached the backend. Default false. */
  record?: boolean;
  /** Let a request choose this server's behaviour for itself: `x-model-mode` (a ModelMode) and `x-model-delay-ms`. Default false. */
  obeyHeaders?: boolean;
  /**
   * Serve OpenAI-style bodies with a KV prefix cache of this many 16-token blocks, as vLLM does
   * with prefix caching on: each prompt's cached tokens are counted (`promptTokens`,
   * `cachedTokens`) and answered in usage.prompt_tokens_details.cached_tokens.
   */
  prefixCacheBlocks?: number;
  /** Answer OpenAI-style bodies (usage with prompt, completion and cached tokens) even without a prefix cache. Default: only with prefixCacheBlocks. */
  openai?: boolean;
  /** A token stream's usage chunk: always (default), or only when the request asks (stream_options.include_usage), as vLLM does. */
  streamUsage?: 'always' | 'asked';
}

export class ModelServer {
  readonly name: string;
  mode: ModelMode = 'ok';
  delayMs: number;
  /** Requests answered, in flight now, and token streams the client left before their end. */
  served = 0;
  inflight = 0;
  abandoned = 0;
  /** Requests whose whole body arrived (any mode), and each of them with `record`. */
  receivedCount = 0;
  readonly received: ReceivedRequest[] = [];
  /** With prefixCacheBlocks: prompt tokens served, and those found cached. */
  promptTokens = 0;
  cachedTokens = 0;
  /** What GET /metrics reports, and how it answers. */
  gauges: EngineGauges = { waiting: 0, running: 0, kvUsage: 0 };
  metricsMode: MetricsMode = 'ok';
  /** Scrapes of /metrics answered, and the model each OpenAI-style request asked for. */
  scrapes = 0;
  readonly models: string[] = [];
  readonly #cache: PrefixIndex | undefined;
  readonly #server: Server;
  readonly #options: ModelServerOptions;
  #port = 0;

  constructor(options: ModelServerOptions) {
    this.name = options.name;
    this.delayMs = options.delayMs ?? 0;
    this.#options = options;
    if (options.prefixCacheBlocks) this.#cache = new PrefixIndex({ blockChars: 64 }).set('self', options.prefixCacheBlocks);
    this.#server = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/metrics') return this.#metrics(res);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        this.receivedCount++;
        if (this.#options.record) this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, bytes: Buffer.concat(chunks).length });
        this.inflight++;
        const obey = this.#options.obeyHeaders;
        const mode = (obey && (req.headers['x-model-mode'] as ModelMode | undefined)) || this.mode;
        const delayMs = (obey && Number(req.headers['x-model-delay-ms'])) || this.delayMs;
        try {
          if (mode === 'hang') return;
          if (mode === 'reset') {
            req.socket.resetAndDestroy();
            return;
          }
          if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
          if (mode === 'fail' || mode === 'busy' || mode === 'unavailable') {
            const status = mode === 'fail' ? 500 : mode === 'busy' ? 429 : 503;
            res.writeHead(status, { 'content-type': 'application/json', 'x-served-by': this.name, ...(status === 500 ? {} : { 'retry-after': '1' }) }).end(JSON.stringify({ error: mode === 'fail' ? 'model crashed' : mode, by: this.name }));
            return;
          }
          this.served++;
          if (this.#cache || this.#options.openai) return await this.#complete(Buffer.concat(chunks), res, mode === 'cut');
          const stream = req.url?.includes('stream') || req.headers.accept === 'text/event-stream';
          if (!stream) {
            const body = JSON.stringify({ by: this.name, method: req.method, path: req.url, bytes: Buffer.concat(chunks).length, forwardedFor: req.headers['x-forwarded-for'] ?? null, hopByHop: req.headers['proxy-authorization'] ?? null });
            res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': this.name }).end(body);
            return;
          }
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-served-by': this.name });
          const tokens = this.#options.tokens ?? 5;
          for (let i = 0; i < tokens; i++) {
            if (i) await new Promise((r) => setTimeout(r, this.#options.tokenGapMs ?? 20));
            // Nobody reads the rest: stop generating, as inference servers do.
            if (res.destroyed) {
              this.abandoned++;
              return;
            }
            res.write(`data: ${JSON.stringify({ token: i, by: this.name, at: Date.now() })}\n\n`);
          }
          res.end('data: [DONE]\n\n');
        } finally {
          this.inflight--;
        }
      });
    });
  }

  // An OpenAI-style answer from the prefix-caching server: the prompt's blocks looked up and
  // stored (a text block of 64 characters counted as 16 tokens), usage reported.
  async #complete(body: Buffer, res: import('node:http').ServerResponse, cut: boolean): Promise<void> {
    let parsed: { stream?: boolean; model?: string; stream_options?: { include_usage?: boolean } } = {};
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      // Not JSON: no prompt.
    }
    const fields = promptOf(parsed);
    const prompt = typeof fields?.prompt === 'string' ? fields.prompt : '';
    this.models.push(String(parsed.model ?? ''));
    const match = this.#cache?.match(prompt, { seed: seedOf(fields ?? {}) });
    const cachedBlocks = match?.endpoints.self ?? 0;
    const promptTokens = Math.ceil(prompt.length / 4);
    const cachedTokens = Math.min(promptTokens, cachedBlocks * 16);
    this.promptTokens += promptTokens;
    this.cachedTokens += cachedTokens;
    if (match) this.#cache!.record('self', this.#cache!.matchedChain(match.blocks));
    const completion = this.#options.tokens ?? 3;
    const usage = { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion, prompt_tokens_details: { cached_tokens: cachedTokens } };
    if (!parsed.stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': this.name }).end(JSON.stringify({ object: 'chat.completion', model: parsed.model, by: this.name, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }], usage }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-served-by': this.name });
    // Prefill: uncached tokens take time (1 ms a 64-token block here), then the tokens stream.
    await new Promise((r) => setTimeout(r, Math.ceil((promptTokens - cachedTokens) / 64)));
    for (let i = 0; i < completion; i++) {
      if (i) await new Promise((r) => setTimeout(r, this.#options.tokenGapMs ?? 5));
      if (res.destroyed) {
        this.abandoned++;
        return;
      }
      res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: `t${i}` } }] })}\n\n`);
      if (cut && i === 1) return void res.socket?.destroy();
    }
    if ((this.#options.streamUsage ?? 'always') === 'always' || parsed.stream_options?.include_usage === true) res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  // GET /metrics: the gauges in vLLM's exposition (v1 names), or the trouble asked for.
  #metrics(res: import('node:http').ServerResponse): void {
    if (this.metricsMode === 'hang') return;
    this.scrapes++;
    if (this.metricsMode === 'error') return void res.writeHead(500).end('engine metrics unavailable');
    if (this.metricsMode === 'garbage') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('<html><body>this is a login page</body></html>\n');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(vllmMetricsText(this.name, this.gauges));
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(this.#options.port ?? this.#port, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and drops every connection at once (a crash, as the proxy sees it). */
  async kill(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async revive(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(this.#port, '127.0.0.1', resolve));
  }
}
