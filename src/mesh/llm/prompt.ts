// What an LLM request brings to route(): its prompt (text or token ids, or its block chain
// already hashed), and the model, adapter and cache salt that seed the chain so that different
// models never share blocks.
import { xxh64 } from '../../core/prefixHash.js';
import { show, WasmeshError } from '../../core/WasmeshError.js';

/** The LLM fields of a RouteRequest. */
export interface PromptFields {
  /** The prompt: text, or token ids. prefix-cache and ttft services match it against what each endpoint has cached. */
  prompt?: string | Uint32Array;
  /** The prompt's block chain, already hashed (promptBlocks, or the engine's own block hashes): used instead of `prompt`. */
  blocks?: BigUint64Array;
  /** The model asked for: mixed into the first block's hash. */
  model?: string;
  /** A LoRA adapter: mixed in as the model is. */
  adapter?: string;
  /** A cache salt (vLLM's cache_salt): requests with different salts never share blocks. */
  cacheSalt?: string;
}

const encoder = new TextEncoder();
const seeds = new Map<string, bigint>();

/** The chain's seed for a model, adapter and salt: 0 when none is given. */
export function seedOf(f: PromptFields): bigint {
  if (f.model === undefined && f.adapter === undefined && f.cacheSalt === undefined) return 0n;
  const text = `${f.model ?? ''}\u0000${f.adapter ?? ''}\u0000${f.cacheSalt ?? ''}`;
  let seed = seeds.get(text);
  if (seed === undefined) {
    // A few models and adapters per fleet; salts may be per user, so the memo stays bounded.
    if (seeds.size >= 4096) seeds.clear();
    seeds.set(text, (seed = xxh64(encoder.encode(text))));
  }
  return seed;
}

/** Throws INVALID_ARGUMENT, naming the field, unless the LLM fields of a request are well-formed. */
export function checkPromptFields(f: PromptFields): void {
  if (f.prompt !== undefined && typeof f.prompt !== 'string' && !(f.prompt instanceof Uint32Array)) {
    throw new WasmeshError('INVALID_ARGUMENT', `request.prompt must be a string or a Uint32Array of token ids, got ${show(f.prompt)}`);
  }
  if (f.blocks !== undefined && !(f.blocks instanceof BigUint64Array)) {
    throw new WasmeshError('INVALID_ARGUMENT', `request.blocks must be a BigUint64Array of block hashes (promptBlocks), got ${show(f.blocks)}`);
  }
  for (const k of ['model', 'adapter', 'cacheSalt'] as const) {
    const v = f[k];
    if (v !== undefined && (typeof v !== 'string' || v === '' || v.length > 1024)) throw new WasmeshError('INVALID_ARGUMENT', `request.${k} must be a non-empty string of at most 1024 characters, got ${show(v)}`);
  }
}

/** Prompt tokens of a request: token ids counted, text at about 4 characters a token, a hashed chain by its blocks. */
export function promptTokens(f: PromptFields, tokensPerBlock: number): number {
  if (typeof f.prompt === 'string') return Math.max(1, Math.ceil(f.prompt.length / 4));
  if (f.prompt) return Math.max(1, f.prompt.length);
  if (f.blocks) return Math.max(1, f.blocks.length * tokensPerBlock);
  return 1;
}
