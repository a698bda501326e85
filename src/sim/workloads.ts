// LLM workloads for the simulator: requests as token streams (only their KV block hashes are
// kept), arriving as a Poisson process. Each preset names its source and its parameters; the
// parameters are checked against what the generator makes (test/sim/workloads.test.ts).
import { seededRandom, type Random } from '../mesh/random.js';
import { WasmeshError } from '../core/WasmeshError.js';

/** One request of a workload. */
export interface SimRequest {
  readonly id: number;
  /** Seconds from the start. */
  arrivalS: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
  /** Chain hashes of the prompt's full KV blocks, then of the answer's when it is block-aligned (a chat's next turn reuses them). */
  readonly blocks: Float64Array;
  /** How many of `blocks` are the prompt's. */
  readonly promptBlocks: number;
  /** The sharing group (system prompt, document, problem); -1 when none. */
  readonly group: number;
  /** The affinity key a prefix-keyed ring uses: the first block's hash. */
  readonly key: string;
}

/** A workload's requests, and how they were made. */
export interface Workload {
  readonly name: string;
  readonly requests: SimRequest[];
  /** Offered rate, requests a second (the mean of a ladder's steps). */
  readonly rate: number;
  readonly description: string;
}

/** Options of a preset: how many requests, at what rate, seed. */
export interface WorkloadOptions {
  requests?: number;
  /** Requests a second (Poisson). */
  rate?: number;
  seed?: number;
  /** Tokens a KV block holds. Default 16. */
  blockTokens?: number;
}

/** A preset: its source, defaults, and generator. */
export interface WorkloadPreset {
  readonly source: string;
  readonly defaults: Required<Pick<WorkloadOptions, 'requests' | 'rate'>>;
  /** The fleet its source ran on, when the preset names one. */
  readonly fleet?: string;
  make(o: Required<WorkloadOptions>, random: Random): { prompts: Prompt[]; description: string };
}

/** A prompt under construction: segments of tokens, each shared (by id) or unique. */
interface Prompt {
  segments: { id: number; tokens: number }[];
  outputTokens: number;
  group: number;
  /** A chat turn: the previous turn's prompt and answer come first (built by the preset). */
  session?: number;
  /** Seconds after the previous request of its session (multi-turn think time), else the Poisson arrival is used. */
  thinkS?: number;
  /** The segment id of the answer, which the session's next turn sends back. */
  answerId?: number;
}

// Chain hash of a block: its tokens mixed into the previous block's hash (two 32-bit lanes, 52
// bits kept so the result is an exact float64 key). Equal chains mean equal prefixes.
function chain(prev: number, tokens: Uint32Array, from: number, to: number): number {
  let a = (prev >>> 0) ^ 0x9e3779b1, b = ((prev / 4294967296) >>> 0) ^ 0x85ebca77;
  for (let i = from; i < to; i++) {
    a = Math.imul(a ^ tokens[i]!, 0xcc9e2d51);
    a = (a << 15) | (a >>> 17);
    b = Math.imul(b ^ a, 0x1b873593) + 0xe6546b64;
    b = (b << 13) | (b >>> 19);
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  b ^= a ^ (b >>> 13);
  b = Math.imul(b, 0xc2b2ae35);
  return (b & 0xfffff) * 4294967296 + ((a ^ (b >>> 16)) >>> 0);
}

// Token ids of a segment: a shared segment's are fixed by its id, a unique one's are random.
function segmentTokens(id: number, tokens: number, random: Random): Uint32Array {
  const out = new Uint32Array(tokens);
  if (id < 0) for (let i = 0; i < tokens; i++) out[i] = (random() * 128_000) >>> 0;
  else for (let i = 0; i < tokens; i++) out[i] = (Math.imul(id + 1, 2654435761) ^ Math.imul(i + 1, 40503)) % 128_000;
  return out;
}

const kUnique = -1;

/** The chain hashes of a token stream's full blocks. */
export function blockHashes(tokens: Uint32Array, blockTokens = 16, seed = 0): Float64Array {
  const n = Math.floor(tokens.length / blockTokens);
  const out = new Float64Array(n);
  let h = seed;
  for (let b = 0; b < n; b++) out[b] = h = chain(h, tokens, b * blockTokens, (b + 1) * blockTokens);
  return out;
}

/** Uniform integer in [lo, hi]. */
const between = (random: Random, lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
/** Exponential with the given mean. */
const exponential = (random: Random, mean: number) => -Math.log(1 - random()) * mean;

function shuffle<T>(xs: T[], random: Random): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

const sharedPrefix = (hot: boolean): WorkloadPreset => ({
  source: hot
    ? "SGLang's generated-shared-prefix benchmark (bench_serving --dataset-name generated-shared-prefix: 64 groups x 16 prompts, system 2,048, question 128, output 256 tokens) with one group taking half the requests"
    : "SGLang's generated-shared-prefix benchmark (bench_serving --dataset-name generated-shared-prefix: 64 groups x 16 prompts, system 2,048, question 128, output 256 tokens)",
  defaults: { requests: 1024, rate: 40 },
  make(o, random) {
    const prompts: Prompt[] = [];
    for (let i = 0; i < o.requests; i++) {
      const group = hot && random() < 0.5 ? 0 : i % 64;
      prompts.push({ segments: [{ id: group, tokens: 2048 }, { id: kUnique, tokens: 128 }], outputTokens: 256, group });
    }
    return { prompts: hot ? prompts : shuffle(prompts, random), description: `64 groups, system 2,048 + question 128 tokens, output 256${hot ? '; group 0 takes 50%' : ''}` };
  },
});

export const kWorkloads: Readonly<Record<string, WorkloadPreset>> = Object.freeze({
  'shared-prefix': sharedPrefix(false),
  'hot-spot': sharedPrefix(true),
  'b2b-73': {
    source: "llm-d's prefix-cache-aware routing benchmark (\"KV-cache wins you can see\", llm-d blog): 150 groups with a 6,000-token system prompt, 5 users each with a 1,200-token context, ~220 output tokens, 8 servers of 307,328 KV tokens; the working set 150 x (6,000 + 5 x 1,200) = 1.8 M tokens is 73% of the cluster's KV cache; rate ladder 3 to 60 req/s",
    defaults: { requests: 2000, rate: 30 },
    fleet: 'b2b-73',
    make(o, random) {
      const prompts: Prompt[] = [];
      for (let i = 0; i < o.requests; i++) {
        const group = Math.floor(random() * 150), user = Math.floor(random() * 5);
        prompts.push({ segments: [{ id: 10_000 + group, tokens: 6000 }, { id: 20_000 + group * 5 + user, tokens: 1200 }, { id: kUnique, tokens: 16 }], outputTokens: between(random, 200, 240), group });
      }
      return { prompts, description: '150 groups x 6,000-token prefix, 5 users x 1,200-token context, ~220 output tokens' };
    },
  },
  'multi-turn': {
    source: 'wasmesh: chat sessions of 4 to 15 turns, a 512-token system prompt per session, 64..256-token user turns, 128..256-token answers, 2 s mean think time; each turn sends the whole conversation so far',
    defaults: { requests: 1200, rate: 20 },
    make(o, random) {
      const prompts: Prompt[] = [];
      let session = 0;
      while (prompts.length < o.requests) {
        const turns = between(random, 4, 15);
        const history: { id: number; tokens: number }[] = [{ id: 100_000 + session, tokens: 512 }];
        for (let t = 0; t < turns && prompts.length < o.requests; t++) {
          // Block-aligned turns, so that an answer's blocks are the next prompt's.
          history.push({ id: 200_000 + session * 64 + t * 2, tokens: 16 * between(random, 4, 16) });
          const outputTokens = 16 * between(random, 8, 16);
          prompts.push({ segments: [...history], outputTokens, group: session, session, answerId: 200_000 + session * 64 + t * 2 + 1, ...(t ? { thinkS: exponential(random, 2) } : {}) });
          history.push({ id: 200_000 + session * 64 + t * 2 + 1, tokens: outputTokens });
        }
        session++;
      }
      return { prompts, description: `${session} sessions of 4..15 turns with growing context` };
    },
  },
  'few-shot': {
    source: "Preble (Srivatsa et al., \"Preble: Efficient Distributed Prompt Scheduling for LLM Serving\", 2024): few-shot prompts of 4 examples of 475 tokens from a pool of patterns, Zipf-distributed popularity; here 32 patterns, Zipf 1.1, a 64-token question, 64-token answer",
    defaults: { requests: 1500, rate: 40 },
    make(o, random) {
      const weights = Array.from({ length: 32 }, (_, i) => 1 / (i + 1) ** 1.1);
      const total = weights.reduce((a, b) => a + b, 0);
      const prompts: Prompt[] = [];
      for (let i = 0; i < o.requests; i++) {
        let r = random() * total, p = 0;
        while ((r -= weights[p]!) > 0 && p < 31) p++;
        prompts.push({ segments: [...Array.from({ length: 4 }, (_, e) => ({ id: 300_000 + p * 4 + e, tokens: 475 })), { id: kUnique, tokens: 64 }], outputTokens: 64, group: p });
      }
      return { prompts, description: '32 patterns (Zipf 1.1) x 4 examples of 475 tokens + 64-token question' };
    },
  },
  'long-doc': {
    source: 'wasmesh, after the long-document QA workloads of Preble and SGLang (\"loogle\"): 100 documents of 16K..32K tokens, 8 questions each (64 tokens, 128-token answers)',
    defaults: { requests: 800, rate: 4 },
    make(o, random) {
      const docs = Array.from({ length: 100 }, () => between(random, 16_384, 32_768));
      const prompts: Prompt[] = [];
      for (let i = 0; i < o.requests; i++) {
        const d = Math.floor(i / 8) % 100;
        prompts.push({ segments: [{ id: 400_000 + d, tokens: docs[d]! }, { id: kUnique, tokens: 64 }], outputTokens: 128, group: d });
      }
      return { prompts: shuffle(prompts, random), description: '100 documents of 16K..32K tokens, 8 questions each' };
    },
  },
  'no-sharing': {
    source: 'wasmesh control: random 2,176-token prompts (the shared-prefix length), 256-token answers, nothing shared',
    defaults: { requests: 1024, rate: 40 },
    make(o) {
      return { prompts: Array.from({ length: o.requests }, () => ({ segments: [{ id: kUnique, tokens: 2176 }], outputTokens: 256, group: -1 })), description: 'random 2,176-token prompts' };
    },
  },
  siblings: {
    source: 'wasmesh: best-of-N sampling, 16 problems at a time x 4 samples sent within 10 ms of each other (1,024-token problem, 256-token answers)',
    defaults: { requests: 1024, rate: 20 },
    make(o) {
      const prompts: Prompt[] = [];
      for (let i = 0; i < o.requests; i++) prompts.push({ segments: [{ id: 500_000 + Math.floor(i / 4), tokens: 1024 }], outputTokens: 256, group: Math.floor(i / 4) });
      return { prompts, description: 'problems of 1,024 tokens, 4 samples each within 10 ms' };
    },
  },
});

/** Parses a rate ladder "3:60:6": from 3 to 60 req/s in 6 steps. */
export function ladder(spec: string): number[] {
  const m = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?):(\d+)$/.exec(spec);
  const [from, to, steps] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [NaN, NaN, NaN];
  if (!m || !(from > 0) || !(to >= from) || !(steps >= 1 && steps <= 50)) throw new WasmeshError('INVALID_ARGUMENT', `ladder must be "from:to:steps" with 0 < from <= to and 1..50 steps, got ${JSON.stringify(spec)}`);
  return Array.from({ length: steps }, (_, i) => (steps === 1 ? from : from + ((to - from) * i) / (steps - 1)));
}

/** Makes a preset's requests: token streams hashed into KV blocks, Poisson arrivals at `rate`. */
export function makeWorkload(name: string, options: WorkloadOptions = {}): Workload {
  const preset = kWorkloads[name];
  if (!preset) throw new WasmeshError('INVALID_ARGUMENT', `unknown workload ${JSON.stringify(name)}; known: ${Object.keys(kWorkloads).join(', ')}`);
  const o: Required<WorkloadOptions> = { requests: options.requests ?? preset.defaults.requests, rate: options.rate ?? preset.defaults.rate, seed: options.seed ?? 1, blockTokens: options.blockTokens ?? 16 };
  if (!Number.isInteger(o.requests) || o.requests < 1 || o.requests > 1_000_000) throw new WasmeshError('INVALID_ARGUMENT', `requests must be an integer from 1 to 1000000, got ${o.requests}`);
  if (!(o.rate > 0) || !Number.isFinite(o.rate)) throw new WasmeshError('INVALID_ARGUMENT', `rate must be a number > 0 (requests a second), got ${o.rate}`);
  const random = seededRandom(o.seed);
  const { prompts, description } = preset.make(o, random);
  const shared = new Map<number, Uint32Array>();
  const lastOfSession = new Map<number, SimRequest>();
  let clock = 0;
  const requests = prompts.map((p, id): SimRequest => {
    const length = p.segments.reduce((n, s) => n + s.tokens, 0);
    const tokens = new Uint32Array(length + p.outputTokens);
    let at = 0;
    for (const s of p.segments) {
      let t = s.id === kUnique ? undefined : shared.get(s.id);
      if (!t) {
        t = segmentTokens(s.id, s.tokens, random);
        if (s.id !== kUnique) shared.set(s.id, t);
      }
      tokens.set(t, at);
      at += s.tokens;
    }
    // The answer's tokens, as the next turn of a session will send them back.
    if (p.answerId !== undefined) tokens.set(segmentTokens(p.answerId, p.outputTokens, random), length);
    const aligned = p.session !== undefined && length % o.blockTokens === 0;
    const blocks = blockHashes(aligned ? tokens : tokens.subarray(0, length), o.blockTokens);
    const promptBlocks = Math.floor(length / o.blockTokens);
    clock += exponential(random, 1 / o.rate);
    const prev = p.session === undefined ? undefined : lastOfSession.get(p.session);
    const request: SimRequest = { id, arrivalS: clock, promptTokens: length, outputTokens: p.outputTokens, blocks, promptBlocks, group: p.group, key: String(blocks[0] ?? id) };
    if (prev && p.thinkS !== undefined) request.arrivalS = Math.max(clock, prev.arrivalS + p.thinkS);
    if (p.session !== undefined) lastOfSession.set(p.session, request);
    return request;
  });
  if (name === 'siblings') for (const r of requests) if (r.id % 4) r.arrivalS = requests[r.id - (r.id % 4)]!.arrivalS + random() * 0.01;
  requests.sort((a, b) => a.arrivalS - b.arrivalS || a.id - b.id);
  return { name, requests, rate: o.rate, description };
}
