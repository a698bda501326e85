// MeshConfig: the control plane's input, validated in one place with zod, every problem
// reported with its path (`services[2].endpoints[0].resources.count: expected integer >= 1`).
import { readFile } from 'node:fs/promises';
import type * as Z from 'zod';
import { yaml, zod } from '../lazy.js';
import { kAcceleratorCatalog } from './catalog.js';
import { WasmeshError } from '../core/WasmeshError.js';
import { isPrime } from '../core/Maglev.js';

/** Inference engines whose Prometheus metrics the sidecar reads (src/gateway/engineMetrics.ts). */
export const kEngineKinds = ['vllm', 'sglang', 'tgi', 'trtllm'] as const;

// The schemas are built on first use, when zod loads (it is most of a cold import otherwise);
// `z` is zod's namespace, as `import * as z from 'zod'` would give it.
function schemas(z: typeof Z) {
  const positive = (what: string) => z.number({ error: `expected ${what}` }).finite({ error: `expected ${what}` }).positive({ error: `expected ${what}` });
  // Names are echoed in headers (x-wasmesh-endpoint, x-wasmesh-model) and metric labels: no control characters.
  const id = z
    .string({ error: 'expected a non-empty string' })
    .min(1, { error: 'expected a non-empty string' })
    .regex(/^[^\x00-\x1f\x7f]*$/, { error: 'expected a name without control characters' });
  const intFrom = (min: number, max?: number) => {
    const error = max === undefined ? `expected integer >= ${min}` : `expected integer from ${min} to ${max}`;
    const n = z.number({ error }).int({ error }).min(min, { error });
    return max === undefined ? n : n.max(max, { error });
  };
  const atLeast = (min: number) => z.number({ error: `expected number >= ${min}` }).min(min, { error: `expected number >= ${min}` });
  const percent = () => {
    const error = 'expected number from 0 to 100';
    return z.number({ error }).min(0, { error }).max(100, { error });
  };

  const engineKind = z.enum(kEngineKinds, { error: 'expected one of "vllm", "sglang", "tgi", "trtllm"' });

  const resources = z.strictObject({
    accelerator: id,
    count: intFrom(1),
    memoryGiB: positive('number > 0').optional(),
    /** Measured throughput of the whole endpoint, in capacity units: overrides count x catalog. */
    throughput: positive('number > 0').optional(),
  });

  const endpointSchema = z.strictObject({
    id,
    address: z.string({ error: 'expected "host:port"' }).regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/, { error: 'expected "host:port"' }),
    zone: id.optional(),
    labels: z.record(z.string(), z.string({ error: 'expected a string' })).optional(),
    resources,
    /** Admission control: the most in-flight cost the endpoint takes; unlimited when absent. */
    maxInflight: positive('number > 0').optional(),
    /** Circuit breaker: the most requests in flight at once on the endpoint. */
    maxRequests: intFrom(1).optional(),
    /** Models it serves: base models ("llama-3-70b") and LoRA adapters on them ("llama-3-70b:lora-sql"); every model when absent. */
    models: z.array(id, { error: 'expected an array of model names' }).optional(),
    /** Where its engine metrics are scraped when not its own address and the service's metrics path, and its engine when not the service's. */
    metrics: z
      .strictObject({
        address: z.string({ error: 'expected "host:port"' }).regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/, { error: 'expected "host:port"' }).optional(),
        path: z.string().startsWith('/', { error: 'expected a path starting with "/"' }).optional(),
        engine: engineKind.optional(),
      })
      .optional(),
  });

  const hashKey = z.union(
    [
      z.strictObject({ header: id }),
      z.strictObject({ cookie: id }),
      z.strictObject({ jsonField: id, prefixChars: intFrom(1, 1 << 20).optional() }),
    ],
    { error: 'expected one of { header }, { cookie }, { jsonField, prefixChars? }' },
  );

  const service = z.strictObject({
    name: id,
    policy: z.enum(['ring-hash', 'swrr', 'p2c', 'prefix-cache', 'ttft', 'maglev'], { error: 'expected one of "ring-hash", "swrr", "p2c", "prefix-cache", "ttft", "maglev"' }),
    hashKey: hashKey.optional(),
    ring: z
      .strictObject({
        vnodes: intFrom(1, 10000).optional(),
        /** envoy: Envoy's ring_hash exactly (64-bit points; endpoints go in by id; an endpoint's id is its Envoy hash key). */
        hash: z.enum(['xxh32', 'ketama', 'sha1', 'envoy'], { error: 'expected one of "xxh32", "ketama", "sha1", "envoy"' }).optional(),
        /** hash envoy: Envoy's minimum_ring_size and maximum_ring_size. Defaults 1024 and 8388608. */
        minRingSize: intFrom(1, 8_388_608).optional(),
        maxRingSize: intFrom(1, 8_388_608).optional(),
        /** Bounded loads: an endpoint takes at most c times its fair share of the in-flight cost. */
        boundedLoad: atLeast(1).optional(),
        /** Capacity units per unit of ring weight (default: from the listed endpoints or the catalog). */
        unit: z.number({ error: 'expected a number > 0' }).positive({ error: 'expected a number > 0' }).optional(),
      })
      .optional(),
    /** maglev: Envoy's Maglev table (a prime size) and bounded loads (Envoy's hash_balance_factor / 100; 0 for none). */
    maglev: z
      .strictObject({
        tableSize: z.number({ error: 'expected a prime from 7 to 16777213' }).refine((v) => isPrime(v) && v >= 7 && v <= 16_777_213, { error: 'expected a prime from 7 to 16777213' }).optional(),
        boundedLoad: z.number({ error: 'expected 0 (none) or a number >= 1' }).refine((v) => v === 0 || v >= 1, { error: 'expected 0 (none) or a number >= 1' }).optional(),
      })
      .optional(),
    /** swrr: weights from the endpoints' load reports, as gRPC's weighted round robin does. */
    weights: z
      .strictObject({
        blackoutMs: atLeast(0).optional(),
        expiryMs: positive('number > 0').optional(),
        updateMs: positive('number > 0').optional(),
        errorPenalty: atLeast(0).optional(),
      })
      .optional(),
    /** swrr: a new or recovered endpoint's weight ramps up over windowMs (Envoy's slow start). */
    slowStart: z
      .strictObject({
        windowMs: atLeast(0).optional(),
        aggression: positive('number > 0').optional(),
        minWeightPercent: percent().optional(),
      })
      .optional(),
    /** prefix-cache and ttft: how prompts become KV blocks, how many each endpoint holds, when the best match wins. */
    prefix: z
      .strictObject({
        /** approximate: the router records its own decisions; precise: engines' KV events (observe) feed the index, the router's decisions only a short-lived side index. Default approximate. */
        mode: z.enum(['approximate', 'precise'], { error: 'expected one of "approximate", "precise"' }).optional(),
        blockChars: intFrom(1, 1 << 20).optional(),
        blockTokens: intFrom(1, 1 << 16).optional(),
        /** Blocks each endpoint holds; default from its memory, the model's weights and its KV bytes a token. */
        capacityBlocks: intFrom(1, 1 << 26).optional(),
        /** Weights of the served model, GiB (default 16: Llama-3.1-8B in BF16). */
        modelGiB: atLeast(0).optional(),
        /** KV cache bytes a token (default 131072: Llama-3.1-8B). */
        kvBytesPerToken: positive('number > 0').optional(),
        /** A block untouched this long is forgotten; 0 never. Default 600000 (10 min). */
        ttlMs: intFrom(0, 2 ** 31).optional(),
        /** precise mode: how long the router's own decisions count before the engine's events confirm them. Default 5000. */
        recentMs: intFrom(1, 2 ** 31).optional(),
        /** prefix-cache: least share of a prompt's blocks cached for the best match to win. Default 0.3. */
        minMatch: z.number({ error: 'expected number from 0 to 1' }).min(0, { error: 'expected number from 0 to 1' }).max(1, { error: 'expected number from 0 to 1' }).optional(),
        /** prefix-cache: the best match is overloaded when its in-flight tokens (on an average endpoint's scale) exceed the least loaded one's by this many and by balanceRel times. Defaults 16384 and 1.5. */
        balanceAbs: atLeast(0).optional(),
        balanceRel: atLeast(1).optional(),
        /** prefix-cache: score instead, as llm-d's scheduler does: the weighted sum of prefix (cached share), queue (fewest waiting) and kvUsage (most free KV cache) scores. */
        scorers: z.strictObject({ prefix: atLeast(0).optional(), queue: atLeast(0).optional(), kvUsage: atLeast(0).optional() }).optional(),
      })
      .optional(),
    /** ttft: predicted time to first token per endpoint, fitted online from reported TTFTs. */
    ttft: z
      .strictObject({
        /** Prefill tokens a second per capacity unit before any TTFT is reported. Default 31 (an 8B model at 50% of dense BF16 peak). */
        prefillRate: positive('number > 0').optional(),
        /** Fixed part of a TTFT before any is reported, ms. Default 20. */
        baseMs: atLeast(0).optional(),
        /** Forgetting factor of the fit (recursive least squares): 1 remembers everything. Default 0.995. */
        forgetting: z.number({ error: 'expected number from 0.5 to 1' }).min(0.5, { error: 'expected number from 0.5 to 1' }).max(1, { error: 'expected number from 0.5 to 1' }).optional(),
        /** 0 picks the least predicted TTFT; above 0, a softmax over predictions (relative to the best) against herding. Default 0. */
        temperature: atLeast(0).optional(),
        /** Affinity gate: the endpoint holding the longest prefix takes the request while its predicted TTFT is within this SLO; 0 turns it off. Default 2000. */
        sloMs: atLeast(0).optional(),
        /** Extra predicted ms at full KV cache (from load reports' kvUsage), growing from 80% use. Default 2000. */
        kvPenaltyMs: atLeast(0).optional(),
      })
      .optional(),
    /** Circuit breaker of the service: requests in flight, waiting, retrying; beyond, OVERLOADED at once. */
    circuit: z
      .strictObject({
        maxRequests: intFrom(1).optional(),
        maxPending: intFrom(0).optional(),
        maxRetries: intFrom(0).optional(),
      })
      .optional(),
    /** Retries: on what, how many per request, within which budget, with which backoff. */
    retry: z
      .strictObject({
        retryOn: z.array(z.enum(['connect-failure', 'reset', 'timeout', '5xx', '429'], { error: 'expected "connect-failure", "reset", "timeout", "5xx" or "429"' })).optional(),
        /** Methods retried on every retryOn condition; others only on connect failures. Default GET HEAD OPTIONS PUT DELETE TRACE. */
        methods: z.array(z.string().regex(/^[A-Z]+$/, { error: 'expected an upper-case method name such as "POST"' })).optional(),
        /** A retry may go back to the endpoint that failed when no other is eligible. Default false. */
        sameEndpoint: z.boolean({ error: 'expected true or false' }).optional(),
        maxRetries: intFrom(0).optional(),
        budgetPercent: percent().optional(),
        minConcurrent: intFrom(0).optional(),
        baseMs: positive('number > 0').optional(),
        maxMs: positive('number > 0').optional(),
      })
      .optional(),
    /** Outlier detection and panic threshold (Envoy's defaults when absent). */
    outlier: z
      .strictObject({
        consecutiveFailures: intFrom(1).optional(),
        baseEjectionMs: positive('number > 0').optional(),
        maxEjectionMs: positive('number > 0').optional(),
        maxEjectionPercent: percent().optional(),
        panicThresholdPercent: percent().optional(),
        successRate: z.strictObject({ intervalMs: positive('number > 0'), minRequests: positive('number > 0'), stdevFactor: positive('number > 0') }).optional(),
      })
      .optional(),
    /** The sidecar scrapes each endpoint's engine metrics (queue, KV cache usage, loaded LoRA adapters) and routes on them. */
    metrics: z
      .strictObject({
        engine: engineKind.optional(),
        /** Default /metrics. */
        path: z.string().startsWith('/', { error: 'expected a path starting with "/"' }).optional(),
        /** Between two scrapes of an endpoint (jittered +-10%). Default 200. */
        intervalMs: intFrom(10, 3_600_000).optional(),
        /** A scrape without an answer this long fails. Default 1000. */
        timeoutMs: intFrom(1, 60_000).optional(),
        /** Scrapes under way at once, over the whole service. Default 16. */
        maxConcurrent: intFrom(1, 1024).optional(),
      })
      .optional(),
    /** Engine reports (scraped or reportLoad): how old is stale, what stale means, and when an endpoint is saturated. */
    engines: z
      .strictObject({
        /** A report older than this is stale. Default 5 scrape intervals (at least 1000) when scraping, else 5000. */
        staleMs: intFrom(1, 2 ** 31).optional(),
        /** saturated: an endpoint with stale reports is skipped as saturated ones are; ignore: routed as if it never reported. Default saturated. */
        stale: z.enum(['saturated', 'ignore'], { error: 'expected one of "saturated", "ignore"' }).optional(),
        /** Saturated above this many requests waiting (llm-d's queue threshold). Default 5. */
        maxQueue: atLeast(0).optional(),
        /** Saturated above this share of the KV cache in use. Default 0.8. */
        maxKvUsage: z.number({ error: 'expected number from 0 to 1' }).min(0, { error: 'expected number from 0 to 1' }).max(1, { error: 'expected number from 0 to 1' }).optional(),
      })
      .optional(),
    /** The model its endpoints serve: requests naming it in their body come here (proxy), and a fallback here asks for it. */
    model: id.optional(),
    /** Services tried in order when this one refuses (429, 503, no endpoint, overloaded, circuit open). */
    fallback: z.array(id, { error: 'expected an array of service names' }).optional(),
    /** When every endpoint is at its limit: wait in a bounded queue (routeAsync) instead of failing. */
    admission: z
      .strictObject({
        queue: intFrom(0).optional(),
        timeoutMs: positive('number > 0').optional(),
      })
      .optional(),
    endpoints: z.array(endpointSchema, { error: 'expected an array of endpoints' }).optional(),
  });

  const catalogEntry = z.strictObject({ capacity: positive('number > 0'), memoryGiB: atLeast(0) });

  const listen = z.strictObject({ host: id.optional(), port: intFrom(0, 65535).optional() });

  /** The sidecar proxy (wasmesh proxy): where it listens, how requests map to services, its limits. */
  const proxy = z.strictObject({
    /** Data plane listener. Default 127.0.0.1:15001. */
    listen: listen.optional(),
    /** Admin server (/metrics, /healthz, /ready, /config, /endpoints). Default 127.0.0.1:15000. */
    admin: listen.optional(),
    /** First match wins: a Host header (port ignored) and/or a path prefix. */
    routes: z
      .array(
        z.strictObject({
          host: id.optional(),
          pathPrefix: z.string().startsWith('/', { error: 'expected a path starting with "/"' }).optional(),
          /** The model an OpenAI-style body asks for (its `model` field; "base:adapter" matches "base" too). */
          model: id.optional(),
          service: id,
        }),
        { error: 'expected an array of routes' },
      )
      .optional(),
    timeouts: z
      .strictObject({
        connectMs: positive('number > 0').optional(),
        firstByteMs: positive('number > 0').optional(),
        idleMs: positive('number > 0').optional(),
        /** Longest pause between two chunks of a request body (nginx client_body_timeout): then 408. */
        bodyIdleMs: positive('number > 0').optional(),
        /** After an early answer, how long the rest of a body is read and dropped before the close (lingering close). */
        lingerMs: atLeast(0).optional(),
      })
      .optional(),
    limits: z
      .strictObject({
        maxHeaderBytes: intFrom(1024, 1 << 20).optional(),
        maxBodyBytes: intFrom(0).optional(),
        /** Most request body bytes parsed to read a hashKey.jsonField. */
        maxKeyBodyBytes: intFrom(0, 1 << 26).optional(),
        /** Bodies up to this size are read whole before routing (no endpoint waits on a slow client; a retry can resend them). */
        bufferBodyBytes: intFrom(0, 1 << 28).optional(),
        /** Larger bodies stream to the endpoint: at most this many at once per endpoint. */
        maxUploadsPerEndpoint: intFrom(1).optional(),
        /** Connections per endpoint, and requests that may wait for one; beyond, another endpoint or 503. */
        connectionsPerEndpoint: intFrom(1).optional(),
        maxQueuedPerEndpoint: intFrom(0).optional(),
        /** Most body bytes read and dropped in a lingering close. */
        lingerBytes: intFrom(0).optional(),
      })
      .optional(),
    /** Response header naming the endpoint that served (false: none). Default x-wasmesh-endpoint. */
    endpointHeader: z.union([id, z.literal(false)]).optional(),
    /** Client address headers: x-forwarded-for and Forwarded appended to (default), overwritten, passed or stripped; x-real-ip overwritten (default), passed or stripped. */
    forwarding: z
      .strictObject({
        xForwardedFor: z.enum(['append', 'overwrite', 'pass', 'strip'], { error: 'expected one of "append", "overwrite", "pass", "strip"' }).optional(),
        forwarded: z.enum(['append', 'overwrite', 'pass', 'strip'], { error: 'expected one of "append", "overwrite", "pass", "strip"' }).optional(),
        xRealIp: z.enum(['overwrite', 'pass', 'strip'], { error: 'expected one of "overwrite", "pass", "strip"' }).optional(),
      })
      .optional(),
    /** Match routes on the normalized path (dot segments resolved, unreserved characters decoded, encoded slashes refused). The raw path is forwarded either way. Default false. */
    normalizePath: z.boolean({ error: 'expected true or false' }).optional(),
    /** The AI gateway: who a request is for (tenant), its token budgets, how usage is read. */
    gateway: z
      .strictObject({
        /** The tenant is this header's value; else a hash of apiKeyHeader's; else "anonymous". Default x-tenant-id. */
        tenantHeader: id.optional(),
        /** Default authorization (only its SHA-256 is kept). */
        apiKeyHeader: id.optional(),
        /** Add stream_options.include_usage to streamed chat and completion requests, so that their last chunk carries usage. Default false. */
        includeUsage: z.boolean({ error: 'expected true or false' }).optional(),
        /** A request's tokens are estimated as its prompt's characters / 4 plus its max_tokens, or this many when it sets none. Default 256. */
        defaultMaxTokens: intFrom(0, 1 << 24).optional(),
        /** Token budgets: the first rule matching a request's tenant and model ("*" or absent: any) applies; none matching, no budget. */
        budgets: z
          .array(
            z.strictObject({
              tenant: id.optional(),
              model: id.optional(),
              /** Refill rate of the tenant's bucket for the model. */
              tokensPerMinute: positive('number > 0'),
              /** Bucket size. Default tokensPerMinute. */
              burstTokens: positive('number > 0').optional(),
            }),
            { error: 'expected an array of budget rules' },
          )
          .optional(),
        /** Where budgets live: this process (default), or Redis shared by every sidecar. */
        budgetStore: z
          .strictObject({
            redis: z.string().regex(/^rediss?:\/\//, { error: 'expected a redis:// or rediss:// URL' }).optional(),
            /** When Redis cannot answer: open admits (and counts it), closed refuses with 503. Default open. */
            onFailure: z.enum(['open', 'closed'], { error: 'expected one of "open", "closed"' }).optional(),
            /** A Redis call without an answer this long has failed. Default 100. */
            timeoutMs: intFrom(1, 60_000).optional(),
            /** Key prefix. Default "wasmesh:budget:". */
            prefix: id.optional(),
          })
          .optional(),
      })
      .optional(),
    /** One JSON line per request: all, errors only (status >= 500), or off; on stdout or to a file. Default all on stdout. */
    accessLog: z
      .strictObject({
        level: z.enum(['all', 'errors', 'off'], { error: 'expected one of "all", "errors", "off"' }).optional(),
        file: id.optional(),
      })
      .optional(),
  });

  const meshConfigSchema = z
    .strictObject({
      version: z.literal(1, { error: 'expected 1' }).optional(),
      engine: z.enum(['wasm', 'ts'], { error: 'expected one of "wasm", "ts"' }).optional(),
      catalog: z.record(z.string(), catalogEntry).optional(),
      services: z.array(service, { error: 'expected an array of services' }),
      proxy: proxy.optional(),
    });
  return { endpointSchema, meshConfigSchema };
}

type Schemas = ReturnType<typeof schemas>;
let built: Schemas | undefined;
const schemasNow = (): Schemas => (built ??= schemas(zod() as unknown as typeof Z));

/**
 * What a per-field schema cannot see: names unique, accelerators known. Written against the
 * raw input, tolerant of its shape, so these problems are reported together with the schema's
 * (zod runs refinements only on input that already parsed).
 */
function crossChecks(input: unknown): { path: PropertyKey[]; message: string }[] {
  const problems: { path: PropertyKey[]; message: string }[] = [];
  const config = input as { catalog?: unknown; services?: unknown };
  if (!config || typeof config !== 'object' || !Array.isArray(config.services)) return problems;
  const extra = config.catalog && typeof config.catalog === 'object' ? Object.keys(config.catalog) : [];
  const known = new Set([...Object.keys(kAcceleratorCatalog), ...extra]);
  const names = new Set<unknown>();
  config.services.forEach((s: { name?: unknown; endpoints?: unknown }, i) => {
    if (!s || typeof s !== 'object') return;
    if (typeof s.name === 'string' && names.has(s.name)) problems.push({ path: ['services', i, 'name'], message: `duplicate service name "${s.name}"` });
    names.add(s.name);
    if (!Array.isArray(s.endpoints)) return;
    const ids = new Set<unknown>();
    s.endpoints.forEach((e: { id?: unknown; resources?: { accelerator?: unknown } }, j) => {
      if (!e || typeof e !== 'object') return;
      if (typeof e.id === 'string' && ids.has(e.id)) problems.push({ path: ['services', i, 'endpoints', j, 'id'], message: `duplicate endpoint id "${e.id}"` });
      ids.add(e.id);
      const acc = e.resources?.accelerator;
      if (typeof acc === 'string' && acc !== '' && !known.has(acc)) {
        problems.push({ path: ['services', i, 'endpoints', j, 'resources', 'accelerator'], message: `unknown accelerator "${acc}"; known: ${[...known].join(', ')}` });
      }
    });
  });
  config.services.forEach((s: { fallback?: unknown; name?: unknown }, i) => {
    if (!s || !Array.isArray(s.fallback)) return;
    s.fallback.forEach((f, j) => {
      if (typeof f === 'string' && (!names.has(f) || f === s.name)) problems.push({ path: ['services', i, 'fallback', j], message: f === s.name ? 'a service is not its own fallback' : `no service "${f}"` });
    });
  });
  const routes = (config as { proxy?: { routes?: unknown } }).proxy?.routes;
  if (Array.isArray(routes)) {
    routes.forEach((r: { service?: unknown }, i) => {
      if (r && typeof r.service === 'string' && !names.has(r.service)) problems.push({ path: ['proxy', 'routes', i, 'service'], message: `no service "${r.service}"` });
    });
  }
  return problems;
}

/** A mesh configuration, as written in a file or in code. */
export type MeshConfig = Z.input<Schemas['meshConfigSchema']>;
/** One service of a MeshConfig. */
export type ServiceConfig = MeshConfig['services'][number];
/** One endpoint of a service. */
export type EndpointConfig = NonNullable<ServiceConfig['endpoints']>[number];
export type ProxyConfig = NonNullable<MeshConfig['proxy']>;

/** Document order: indexes numerically, so services[2] comes before services[10]. */
function comparePaths(a: readonly PropertyKey[], b: readonly PropertyKey[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!, y = b[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

/** Validates one endpoint (a discovery event's): INVALID_CONFIG naming each problem. */
export function validateEndpoint(input: unknown, where: string): EndpointConfig {
  const result = schemasNow().endpointSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${where}${issue.path.length ? '.' + pathOf(issue.path) : ''}: ${issue.message}`);
    throw new WasmeshError('INVALID_CONFIG', `invalid endpoint (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`, { cause: { problems } });
  }
  return deepFreeze(structuredClone(input as EndpointConfig));
}

/** `services[2].endpoints[0].resources.count` */
function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(root)';
}

/**
 * Validates a configuration and returns it frozen (deeply). Throws INVALID_CONFIG listing every
 * problem, one line each, with its path; the list is also on `error.cause.problems`.
 */
export function validateConfig(input: unknown): Readonly<MeshConfig> {
  const result = schemasNow().meshConfigSchema.safeParse(input);
  const issues = [...(result.success ? [] : result.error.issues), ...crossChecks(input)];
  if (issues.length) {
    const problems = [...issues].sort((a, b) => comparePaths(a.path, b.path)).map((issue) => `${pathOf(issue.path)}: ${issue.message}`);
    throw new WasmeshError('INVALID_CONFIG', `invalid mesh config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`, { cause: { problems } });
  }
  return deepFreeze(structuredClone(input as MeshConfig));
}

/** Reads a config file (YAML, or JSON, which is YAML too) and validates it. */
export async function loadConfigFile(file: string): Promise<Readonly<MeshConfig>> {
  return parseConfigText(await readConfigText(file), file);
}

/** The text of a config file; INVALID_CONFIG naming the file when it cannot be read. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new WasmeshError('INVALID_CONFIG', `cannot read mesh config ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** A config from YAML or JSON text (`source` names it in errors), validated. */
export function parseConfigText(text: string, source: string): Readonly<MeshConfig> {
  let data: unknown;
  try {
    data = yaml().parse(text, { prettyErrors: true });
  } catch (error) {
    throw new WasmeshError('INVALID_CONFIG', `mesh config ${source} is not valid YAML/JSON: ${(error as Error).message}`, { cause: error });
  }
  return validateConfig(data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
