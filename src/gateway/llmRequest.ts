// What the gateway reads of an OpenAI-style request: the model it asks for, whether it streams,
// how many tokens it may take (the budget's estimate), who it is for and how urgent it is; and
// the body as the endpoint gets it (the model a fallback asks for, usage asked of a stream).
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The LLM fields of a parsed request body. */
export interface LlmRequest {
  /** The body's `model`, when a non-empty string. */
  model: string | undefined;
  stream: boolean;
  /** Estimated prompt tokens: its characters / 4. */
  promptTokens: number;
  /** Estimated tokens: the prompt's plus max_tokens (or the default). */
  estimate: number;
}

const kMaxModelChars = 1024;

/** The model a body names, if any. */
export function modelOf(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const m = (body as Record<string, unknown>).model;
  return typeof m === 'string' && m !== '' && m.length <= kMaxModelChars ? m : undefined;
}

/** The LLM fields of a body: `promptChars` is the length of its rendered prompt (openai.ts). */
export function llmRequestOf(body: Record<string, unknown>, promptChars: number, defaultMaxTokens: number): LlmRequest {
  const max = [body.max_tokens, body.max_completion_tokens, body.max_output_tokens].find((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0) as number | undefined;
  const promptTokens = Math.ceil(promptChars / 4);
  return { model: modelOf(body), stream: body.stream === true, promptTokens, estimate: promptTokens + (max ?? defaultMaxTokens) };
}

/** A request whose body was too large to parse: its bytes / 4 as prompt tokens, no model. */
export function llmRequestBySize(bytes: number, defaultMaxTokens: number): LlmRequest {
  const promptTokens = Math.ceil(bytes / 4);
  return { model: undefined, stream: false, promptTokens, estimate: promptTokens + defaultMaxTokens };
}

/**
 * The body to send, when it must change: `model` set to what a fallback service serves, and
 * stream_options.include_usage added to a stream that did not ask for usage. Undefined: as is.
 */
export function rewrite(body: Record<string, unknown>, change: { model?: string | undefined; includeUsage?: boolean }): Buffer | undefined {
  let out: Record<string, unknown> | undefined;
  if (change.model !== undefined && body.model !== change.model) out = { ...body, model: change.model };
  const options = body.stream_options;
  if (change.includeUsage && body.stream === true && (options === undefined || (options !== null && typeof options === 'object' && (options as Record<string, unknown>).include_usage === undefined))) {
    out = { ...(out ?? body), stream_options: { ...(options as object | undefined), include_usage: true } };
  }
  return out && Buffer.from(JSON.stringify(out));
}

/** Who a request is for: the tenant header, else a hash of the API key, else "anonymous". */
export function tenantOf(headers: IncomingHttpHeaders, tenantHeader: string, apiKeyHeader: string): string {
  const t = headers[tenantHeader];
  const tenant = Array.isArray(t) ? t[0] : t;
  if (tenant) return tenant.slice(0, 256);
  const k = headers[apiKeyHeader];
  const key = Array.isArray(k) ? k[0] : k;
  // The key itself is a secret: only a short hash of it names the tenant (in metrics, in Redis).
  if (key) return `key:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
  return 'anonymous';
}

export const kPriorityHeader = 'x-wasmesh-priority';

/** The request's priority band (x-wasmesh-priority: an integer from -1000 to 1000; default 0), or an error naming the bad value. */
export function priorityOf(headers: IncomingHttpHeaders): number | Error {
  const v = headers[kPriorityHeader];
  if (v === undefined) return 0;
  const text = Array.isArray(v) ? v[0]! : v;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < -1000 || n > 1000) return new Error(`${kPriorityHeader} must be an integer from -1000 to 1000, got ${JSON.stringify(text.slice(0, 40))}`);
  return n;
}
