// Budgets shared by every sidecar replica: each bucket is one Redis key holding its TAT, updated
// by one Lua script (atomic: two replicas charging one bucket at once are serialized by Redis).
// The script reads Redis's own clock unless the caller passes one, so replicas with skewed
// clocks still agree; the key expires when the bucket is full again.
//
// ioredis (an optional peer dependency, loaded only when a store is made) reconnects by itself
// with backoff; commands are not queued while it is down (enableOfflineQueue: false) and time
// out after `timeoutMs`, so a request never waits on a dead Redis longer than that: the caller's
// failure policy (open or closed) decides. A script lost in a Redis restart is sent again
// (defineCommand's EVALSHA falls back to EVAL).
import type { Redis as RedisClient } from 'ioredis';
import { WasmeshError } from '../../core/WasmeshError.js';
import type { BucketShape, GcraResult } from './gcra.js';
import type { BudgetStore } from './store.js';

// KEYS[1] the bucket; ARGV: ms a token, tolerance ms, tokens, mode, now ms ('' for Redis TIME).
// Numbers go back as strings: Redis turns a Lua number into an integer reply, cutting fractions.
export const kGcraScript = `
local now = tonumber(ARGV[5])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local ok = 1
if ARGV[4] == 'reserve' then
  local nextTat = tat + tokens * interval
  if nextTat - now > tolerance then ok = 0 else tat = nextTat end
else
  tat = tat + tokens * interval
  if tat < now then tat = now end
end
if ok == 1 then
  local ttl = math.ceil(tat - now)
  if ttl > 0 then redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', ttl) else redis.call('DEL', KEYS[1]) end
end
return { ok, string.format('%.17g', tat), string.format('%.17g', now) }
`;

type WithScript = RedisClient & { wasmeshGcra(key: string, interval: string, tolerance: string, tokens: string, mode: string, now: string): Promise<[number, string, string]> };

export interface RedisStoreOptions {
  url: string;
  /** Key prefix. Default "wasmesh:budget:". */
  prefix?: string;
  /** A call without an answer this long fails. Default 100. */
  timeoutMs?: number;
  /** Told when Redis goes down or comes back. */
  onState?: (state: 'up' | 'down', error?: Error) => void;
}

export class RedisBudgetStore implements BudgetStore {
  readonly #redis: WithScript;
  readonly #prefix: string;

  private constructor(redis: WithScript, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /** Connects (in the background: a store made while Redis is down works once it is up). */
  static async open(options: RedisStoreOptions): Promise<RedisBudgetStore> {
    let Redis: typeof import('ioredis').Redis;
    try {
      ({ Redis } = await import('ioredis'));
    } catch (error) {
      throw new WasmeshError('MISSING_DEPENDENCY', `budgets in Redis need the ioredis package: npm install ioredis (${(error as Error).message})`, { cause: error });
    }
    const redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs ?? 100,
      connectTimeout: 1000,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
      lazyConnect: false,
    }) as WithScript;
    redis.defineCommand('wasmeshGcra', { numberOfKeys: 1, lua: kGcraScript });
    let up = false;
    redis.on('ready', () => {
      if (!up) options.onState?.('up');
      up = true;
    });
    redis.on('error', (error: Error) => {
      if (up) options.onState?.('down', error);
      up = false;
    });
    redis.on('end', () => {
      if (up) options.onState?.('down');
      up = false;
    });
    return new RedisBudgetStore(redis, options.prefix ?? 'wasmesh:budget:');
  }

  async update(key: string, tokens: number, mode: 'reserve' | 'adjust', shape: BucketShape, now?: number): Promise<GcraResult> {
    const [ok, tat, at] = await this.#redis.wasmeshGcra(this.#prefix + key, String(shape.intervalMs), String(shape.toleranceMs), String(tokens), mode, now === undefined ? '' : String(now));
    return { ok: ok === 1, tat: Number(tat), now: Number(at) };
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
