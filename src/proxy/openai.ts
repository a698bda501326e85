// The prompt of an OpenAI-style request body, for prefix-cache and ttft services: what a model
// server would put in front of the model, in the order it would, so that requests sharing a
// conversation's start share a prompt prefix (and KV blocks) here too. The text is the router's
// own rendering, not a chat template: it only has to be deterministic and prefix-preserving.
//   /v1/chat/completions  tools (their definitions come first in chat templates), then messages
//                         in order: role, name, content (text, or parts), tool calls
//   /v1/completions       prompt: text, or token ids (a list of integers); of a batch, the first
//   /v1/responses         instructions, then input (text, or items as messages)
// The kind is read from the body's fields, not the path (gateways mount these under prefixes).
import type { PromptFields } from '../mesh/llm/prompt.js';

/** The LLM fields of a request, from its parsed JSON body; undefined when it has no prompt. */
export function promptOf(body: unknown): PromptFields | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  const fields: PromptFields = {};
  if (typeof b.model === 'string' && b.model !== '' && b.model.length <= 1024) fields.model = b.model;
  if (typeof b.cache_salt === 'string' && b.cache_salt !== '' && b.cache_salt.length <= 1024) fields.cacheSalt = b.cache_salt;
  const prompt = Array.isArray(b.messages) ? chat(b) : b.input !== undefined ? responses(b) : b.prompt !== undefined ? completion(b.prompt) : undefined;
  if (prompt === undefined || prompt.length === 0) return undefined;
  fields.prompt = prompt;
  return fields;
}

function chat(b: Record<string, unknown>): string {
  let text = Array.isArray(b.tools) && b.tools.length ? `<tools>${JSON.stringify(b.tools)}\n` : '';
  for (const m of b.messages as unknown[]) text += message(m);
  return text;
}

function message(m: unknown): string {
  if (m === null || typeof m !== 'object') return '';
  const msg = m as Record<string, unknown>;
  let text = `<${typeof msg.role === 'string' ? msg.role : 'user'}${typeof msg.name === 'string' ? ` ${msg.name}` : ''}>`;
  text += content(msg.content);
  if (Array.isArray(msg.tool_calls)) text += JSON.stringify(msg.tool_calls);
  if (typeof msg.tool_call_id === 'string') text += `(${msg.tool_call_id})`;
  return `${text}\n`;
}

// Content: a string, or parts (text; images and audio by their reference).
function content(c: unknown): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  let text = '';
  for (const part of c) {
    if (part === null || typeof part !== 'object') continue;
    const p = part as Record<string, unknown>;
    if (typeof p.text === 'string') text += p.text;
    else if (p.image_url && typeof p.image_url === 'object') text += `<image ${String((p.image_url as Record<string, unknown>).url)}>`;
    else if (typeof p.image_url === 'string') text += `<image ${p.image_url}>`;
    else if (p.input_audio && typeof p.input_audio === 'object') text += `<audio ${String((p.input_audio as Record<string, unknown>).data).slice(0, 256)}>`;
    else text += JSON.stringify(p);
  }
  return text;
}

function responses(b: Record<string, unknown>): string {
  let text = typeof b.instructions === 'string' ? `<system>${b.instructions}\n` : '';
  if (typeof b.input === 'string') return `${text}<user>${b.input}\n`;
  if (Array.isArray(b.input)) for (const item of b.input) text += message(item);
  return text;
}

function completion(p: unknown): string | Uint32Array | undefined {
  if (typeof p === 'string') return p;
  if (!Array.isArray(p) || p.length === 0) return undefined;
  if (typeof p[0] === 'string') return p[0];
  const ids = Array.isArray(p[0]) ? (p[0] as unknown[]) : p;
  return ids.every((t) => Number.isInteger(t) && (t as number) >= 0 && (t as number) <= 0xffffffff) ? Uint32Array.from(ids as number[]) : undefined;
}

/** What an answer's usage says. */
export interface Usage {
  promptTokens: number;
  /** usage.prompt_tokens_details.cached_tokens, when the engine says. */
  cachedTokens?: number;
  completionTokens?: number;
}

/**
 * What a response's usage says (usage.prompt_tokens, usage.completion_tokens,
 * usage.prompt_tokens_details.cached_tokens), from its last bytes: a JSON answer's, or a token
 * stream's final usage chunk. A scan, not a parse: the tail of a stream is not one JSON value.
 */
export function usageOf(tail: string): Usage | undefined {
  const at = tail.lastIndexOf('"usage"');
  if (at < 0) return undefined;
  const usage = tail.slice(at);
  const prompt = /"prompt_tokens"\s*:\s*(\d+)/.exec(usage);
  if (!prompt) return undefined;
  const out: Usage = { promptTokens: Number(prompt[1]) };
  const cached = /"cached_tokens"\s*:\s*(\d+)/.exec(usage);
  if (cached) out.cachedTokens = Number(cached[1]);
  const completion = /"completion_tokens"\s*:\s*(\d+)/.exec(usage);
  if (completion) out.completionTokens = Number(completion[1]);
  return out;
}
