// etcd-backed discovery, config distribution and registration (npm etcd3 over real etcd).
//
// Layout under a prefix (default "/wasmesh"):
//   <prefix>/services/<service>/<endpoint-id>  JSON endpoint (address, zone, resources, ...), on a lease
//   <prefix>/config                            the mesh config, YAML or JSON
//
// Reading follows one rule: read the range, then watch from the revision after it, and drop any
// event at or below the last revision delivered. That gives no missed write (a watcher started
// alone while etcd is down can miss writes made before it connects) and no duplicate after the
// client reconnects and resumes. Two things make a watch read everything again: an error it
// cannot recover from (its start revision was compacted), and a reconnect to an etcd whose store
// started over (wiped, or restored from an older backup), whose revisions are then below ours.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import type { IBackoff } from 'cockatiel';
import type { Etcd3, IKeyValue, Lease, Watcher } from 'etcd3';
import { parse as parseYaml } from 'yaml';
import { messageOf, show, WasmeshError } from '../core/WasmeshError.js';
import { validateConfig, validateEndpoint, type EndpointConfig, type MeshConfig } from './config.js';
import type { DiscoveryEvent, DiscoverySource } from './discovery.js';

// etcd3 (gRPC, protobufjs) and cockatiel (its resilience policies, which etcd3 depends on too) are
// optional peer dependencies: only wasmesh/etcd needs them, so they are loaded here, and their
// absence is said when they are used rather than when the package is imported.
const etcd3 = await import('etcd3').catch(() => undefined);
const cockatiel = await import('cockatiel').catch(() => undefined);

function etcd3Module(): typeof import('etcd3') {
  if (!etcd3) throw new WasmeshError('MISSING_DEPENDENCY', 'wasmesh/etcd needs the etcd3 package, an optional peer dependency: npm install etcd3');
  return etcd3;
}

function cockatielModule(): typeof import('cockatiel') {
  if (!cockatiel) throw new WasmeshError('MISSING_DEPENDENCY', 'wasmesh/etcd needs the cockatiel package (etcd3 installs it): npm install etcd3');
  return cockatiel;
}

/** Where wasmesh keeps its keys in etcd. */
export const kDefaultEtcdPrefix = '/wasmesh';

/**
 * An etcd3 client tuned for a sidecar: its default host circuit breaker blocks every call for
 * 5 s after three failures and its watch backoff grows to 30 s, so recovering from a short
 * outage took seconds. Here the breaker half-opens after 200 ms and watches retry within 1 s.
 */
export function etcdClient(hosts: string | readonly string[]): Etcd3 {
  const { Etcd3, isRecoverableError } = etcd3Module();
  const { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry } = cockatielModule();
  const list = (typeof hosts === 'string' ? hosts.split(',') : [...hosts]).map((h) => (/^https?:\/\//.test(h.trim()) ? h.trim() : `http://${h.trim()}`));
  return new Etcd3({
    hosts: list,
    dialTimeout: 2000,
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 200, breaker: new ConsecutiveBreaker(3) }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }) }),
      // etcd3 types this as a backoff but calls .next() on it first, as on its own default (a
      // factory, like this one).
      watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }) as unknown as IBackoff<unknown>,
    },
  });
}

const servicesPrefix = (prefix: string) => `${prefix}/services/`;

/**
 * Cancels a watch, waiting at most a second for etcd to confirm. etcd3 waits for the
 * confirmation on the watch stream, which never comes while the stream reconnects (to a store
 * restarted or wiped): a close must not hang on it.
 */
async function cancelWatch(watcher: Watcher | undefined): Promise<void> {
  if (!watcher) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([watcher.cancel().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
  clearTimeout(timer);
}

/**
 * Runs `sync` again until it succeeds: 100 ms after schedule(), then doubling to 2 s apart. One
 * run at a time; schedule() while one is pending does nothing.
 */
function resyncer(sync: () => Promise<void>, onFailure: (error: unknown) => void): { schedule(): void; stop(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const attempt = (delay: number) => {
    timer = setTimeout(() => {
      sync().then(
        () => (timer = undefined),
        (error: unknown) => {
          onFailure(error);
          if (!stopped) attempt(Math.min(delay * 2, 2000));
        },
      );
    }, delay);
  };
  return {
    schedule: () => void (stopped || timer !== undefined || attempt(100)),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Whether etcd's store started over below `revision` (a reconnect then needs a full read). */
async function storeWentBack(client: Etcd3, key: string, revision: number): Promise<boolean> {
  const { header } = await client.get(key).exec();
  return Number(header.revision) < revision;
}

/** The etcd key of an endpoint. */
export function endpointKey(service: string, id: string, prefix = kDefaultEtcdPrefix): string {
  return `${servicesPrefix(prefix)}${service}/${id}`;
}

/** State of a source that follows etcd. */
export type EtcdState = 'starting' | 'synced' | 'degraded' | 'closed';

/** Options of EtcdDiscovery. */
export interface EtcdDiscoveryOptions {
  /** A client from etcdClient() (or any Etcd3); closed by close() only if this source made it. */
  client?: Etcd3;
  /** etcd hosts ("127.0.0.1:2379"), when no client is given. */
  hosts?: string | readonly string[];
  /** Key prefix. Default "/wasmesh". */
  prefix?: string;
  /**
   * A file holding the last endpoints seen (written after every change). When etcd cannot be
   * reached at start, the source starts from it, degraded, and catches up once etcd answers.
   */
  snapshotFile?: string;
  /** Called on every change of state, with the error that caused a degraded state. */
  onState?: (state: EtcdState, error?: unknown) => void;
  /** Called for a key under the prefix that is not a valid endpoint (it is skipped). */
  onInvalid?: (key: string, error: unknown) => void;
}

interface Known {
  readonly service: string;
  readonly endpoint: EndpointConfig;
}

/**
 * Endpoints registered in etcd as a DiscoverySource: `mesh.attach(new EtcdDiscovery(...))`.
 * Delivers the current endpoints, then every put and delete under the prefix, in revision order.
 */
export class EtcdDiscovery implements DiscoverySource {
  readonly prefix: string;
  readonly #client: Etcd3;
  readonly #ownsClient: boolean;
  readonly #options: EtcdDiscoveryOptions;
  readonly #known = new Map<string, Known>();
  readonly #watchers = new Set<(event: DiscoveryEvent) => void>();
  #watcher?: Watcher;
  #revision = 0;
  #state: EtcdState = 'starting';
  #started?: Promise<void>;
  readonly #resync = resyncer(
    () => this.#sync(),
    (error) => this.#setState('degraded', error),
  );

  constructor(options: EtcdDiscoveryOptions) {
    if (!options.client && !options.hosts) throw new WasmeshError('INVALID_OPTION', 'EtcdDiscovery needs options.client or options.hosts');
    this.#options = options;
    this.prefix = options.prefix ?? kDefaultEtcdPrefix;
    this.#ownsClient = !options.client;
    this.#client = options.client ?? etcdClient(options.hosts!);
  }

  /** 'synced' while following etcd, 'degraded' while serving the last endpoints seen. */
  get state(): EtcdState {
    return this.#state;
  }

  /** The etcd revision of the last change delivered (0 before the first read). */
  get revision(): number {
    return this.#revision;
  }

  /**
   * Resolves once the endpoints are read (from etcd, or from the snapshot file when etcd is
   * unreachable); rejects with UNAVAILABLE when neither can be read.
   */
  ready(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  watch(onEvent: (event: DiscoveryEvent) => void): () => void {
    for (const { service, endpoint } of this.#known.values()) onEvent({ type: 'add', service, endpoint, revision: this.#revision });
    this.#watchers.add(onEvent);
    void this.ready().catch(() => {});
    return () => void this.#watchers.delete(onEvent);
  }

  /** Stops following etcd and ends the client it made; nothing keeps the process alive after. */
  async close(): Promise<void> {
    this.#setState('closed');
    this.#resync.stop();
    this.#watchers.clear();
    await cancelWatch(this.#watcher);
    this.#watcher = undefined;
    if (this.#ownsClient) this.#client.close();
  }

  async #start(): Promise<void> {
    try {
      await this.#sync();
    } catch (error) {
      if (!this.#options.snapshotFile) throw unavailable(error, this.#options.hosts);
      let saved: { revision: number; endpoints: Known[] };
      try {
        saved = JSON.parse(readFileSync(this.#options.snapshotFile, 'utf8'));
      } catch (fileError) {
        throw unavailable(error, this.#options.hosts, `and the snapshot file ${this.#options.snapshotFile} cannot be read (${messageOf(fileError)})`);
      }
      this.#replace(new Map(saved.endpoints.map((k) => [endpointKey(k.service, k.endpoint.id, this.prefix), k])), saved.revision, false);
      this.#setState('degraded', error);
      this.#resync.schedule();
    }
  }

  /** Reads the range, delivers what differs from what is known, then watches from the next revision. */
  async #sync(): Promise<void> {
    const response = await this.#client.getAll().prefix(servicesPrefix(this.prefix)).exec();
    if (this.#state === 'closed') return;
    // A store that started over counts its revisions again from below ours: take them as they come.
    if (Number(response.header.revision) < this.#revision) this.#revision = 0;
    const next = new Map<string, Known>();
    for (const kv of response.kvs) {
      const known = this.#parse(kv);
      if (known) next.set(kv.key.toString(), known);
    }
    this.#replace(next, Number(response.header.revision), true);
    await this.#follow(Number(response.header.revision) + 1);
    this.#setState('synced');
  }

  async #follow(fromRevision: number): Promise<void> {
    await cancelWatch(this.#watcher);
    const watcher = await this.#client.watch().prefix(servicesPrefix(this.prefix)).startRevision(String(fromRevision)).create();
    if (this.#state === 'closed') {
      await cancelWatch(watcher);
      return;
    }
    this.#watcher = watcher;
    watcher
      .on('put', (kv) => this.#change(kv, false))
      .on('delete', (kv) => this.#change(kv, true))
      .on('disconnected', (error) => this.#setState('degraded', error))
      // Back after an outage: the watch resumed by itself, unless the store started over.
      .on('connected', () => {
        storeWentBack(this.#client, servicesPrefix(this.prefix), this.#revision).then(
          (reset) => (reset ? this.#resync.schedule() : this.#setState('synced')),
          () => this.#resync.schedule(),
        );
      })
      // Non-recoverable (a compacted start revision, a cancelled watch): read everything again.
      .on('error', (error) => {
        this.#setState('degraded', error);
        this.#resync.schedule();
      });
  }

  #change(kv: IKeyValue, deleted: boolean): void {
    const revision = Number(kv.mod_revision);
    // Already delivered (a watch resumed after a reconnect, or a range read saw it).
    if (revision <= this.#revision) return;
    this.#revision = revision;
    const key = kv.key.toString();
    const before = this.#known.get(key);
    if (deleted) {
      if (!before) return;
      this.#known.delete(key);
      this.#emit({ type: 'remove', service: before.service, id: before.endpoint.id, revision });
    } else {
      const known = this.#parse(kv);
      if (!known) return;
      this.#known.set(key, known);
      this.#emit({ type: before ? 'update' : 'add', service: known.service, endpoint: known.endpoint, revision });
    }
    this.#save();
  }

  /** Makes `next` the known set, delivering the difference as events. */
  #replace(next: Map<string, Known>, revision: number, save: boolean): void {
    const events: DiscoveryEvent[] = [];
    for (const [key, old] of this.#known) if (!next.has(key)) events.push({ type: 'remove', service: old.service, id: old.endpoint.id, revision });
    for (const [key, k] of next) {
      const old = this.#known.get(key);
      if (!old) events.push({ type: 'add', service: k.service, endpoint: k.endpoint, revision });
      else if (JSON.stringify(old.endpoint) !== JSON.stringify(k.endpoint)) events.push({ type: 'update', service: k.service, endpoint: k.endpoint, revision });
    }
    this.#known.clear();
    for (const [key, k] of next) this.#known.set(key, k);
    this.#revision = Math.max(this.#revision, revision);
    for (const e of events) this.#emit(e);
    if (save) this.#save();
  }

  #parse(kv: IKeyValue): Known | undefined {
    const key = kv.key.toString();
    try {
      const [service, id, ...rest] = key.slice(servicesPrefix(this.prefix).length).split('/');
      if (!service || !id || rest.length) throw new WasmeshError('INVALID_CONFIG', `key ${show(key)} is not <prefix>/services/<service>/<endpoint-id>`);
      const value = JSON.parse(kv.value.toString()) as Record<string, unknown>;
      if (value.id !== undefined && value.id !== id) throw new WasmeshError('INVALID_CONFIG', `key ${show(key)} holds endpoint id ${show(value.id)}`);
      return { service, endpoint: validateEndpoint({ ...value, id }, key) };
    } catch (error) {
      this.#options.onInvalid?.(key, error);
      return undefined;
    }
  }

  #emit(event: DiscoveryEvent): void {
    for (const w of this.#watchers) w(event);
  }

  #save(): void {
    const file = this.#options.snapshotFile;
    if (!file) return;
    // Written whole and renamed, so a crash never leaves half a file to start from.
    writeFileSync(`${file}.tmp`, JSON.stringify({ revision: this.#revision, endpoints: [...this.#known.values()] }));
    renameSync(`${file}.tmp`, file);
  }

  #setState(state: EtcdState, error?: unknown): void {
    if (this.#state === state || this.#state === 'closed') return;
    this.#state = state;
    this.#options.onState?.(state, error);
  }
}

/** Options of watchEtcdConfig. */
export interface EtcdConfigOptions {
  client: Etcd3;
  prefix?: string;
  /** A valid config at a revision; apply it (mesh.apply). */
  onConfig: (config: MeshConfig, revision: number) => void;
  /** A config that failed validation or parsing: the old one keeps serving. */
  onInvalid?: (error: unknown, revision: number) => void;
}

/**
 * Follows `<prefix>/config`: the current value, then every change, parsed (YAML or JSON) and
 * validated before onConfig sees it. Resolves once the current value is read (to a stop
 * function); rejects with UNAVAILABLE when etcd cannot be reached.
 */
export async function watchEtcdConfig(options: EtcdConfigOptions): Promise<() => Promise<void>> {
  const { client } = options;
  const key = `${options.prefix ?? kDefaultEtcdPrefix}/config`;
  let revision = 0;
  let watcher: Watcher | undefined;
  let stopped = false;
  const deliver = (text: string, at: number) => {
    if (at <= revision) return;
    revision = at;
    try {
      options.onConfig(validateConfig(parseYaml(text)), at);
    } catch (error) {
      options.onInvalid?.(error, at);
    }
  };
  // The rule of this module: read, then watch from the revision after the read.
  const sync = async () => {
    const response = await client.get(key).exec();
    const at = Number(response.header.revision);
    if (at < revision) revision = 0;
    const kv = response.kvs[0];
    if (kv) deliver(kv.value.toString(), Number(kv.mod_revision));
    revision = Math.max(revision, at);
    await cancelWatch(watcher);
    const next = await client.watch().key(key).startRevision(String(at + 1)).create();
    if (stopped) return void (await cancelWatch(next));
    watcher = next;
    next
      .on('put', (kv) => deliver(kv.value.toString(), Number(kv.mod_revision)))
      .on('connected', () => void storeWentBack(client, key, revision).then((reset) => reset && resync.schedule(), () => resync.schedule()))
      .on('error', () => resync.schedule());
  };
  const resync = resyncer(sync, () => {});
  try {
    await sync();
  } catch (error) {
    throw unavailable(error);
  }
  return async () => {
    stopped = true;
    resync.stop();
    await cancelWatch(watcher);
  };
}

/** Options of registerEndpoint. */
export interface RegisterOptions {
  client: Etcd3;
  service: string;
  endpoint: EndpointConfig;
  prefix?: string;
  /** Lease TTL in seconds (etcd's minimum is 2). Default 10. */
  ttlSeconds?: number;
  /** Called when the lease was lost, before the endpoint registers again under a new one (retried until it does). */
  onRenew?: (error: unknown) => void;
}

/** A live registration: the key stays while the process keeps the lease alive. */
export interface Registration {
  readonly key: string;
  /** Deletes the key at once (revokes the lease) and stops renewing. */
  close(): Promise<void>;
}

/**
 * Registers an endpoint under a lease with keep-alive, so that a crashed process's endpoint
 * disappears after the TTL. etcd3 does not re-create a lease it lost (an outage longer than the
 * TTL): this registers again, with a new lease, on `lost` or a failed put.
 */
export async function registerEndpoint(options: RegisterOptions): Promise<Registration> {
  const endpoint = validateEndpoint(options.endpoint, `endpoint ${show(options.endpoint?.id)}`);
  const key = endpointKey(options.service, endpoint.id, options.prefix);
  const ttl = options.ttlSeconds ?? 10;
  if (!Number.isInteger(ttl) || ttl < 2) throw new WasmeshError('INVALID_OPTION', `ttlSeconds must be an integer >= 2 (etcd's minimum lease), got ${show(ttl)}`);
  const value = JSON.stringify(endpoint);
  let lease: Lease | undefined;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const grant = async (): Promise<void> => {
    const next = options.client.lease(ttl);
    next.on('lost', (error) => {
      if (closed || lease !== next) return;
      options.onRenew?.(error);
      again(0);
    });
    lease = next;
    try {
      await next.put(key).value(value).exec();
    } catch (error) {
      next.release();
      throw error;
    }
  };
  const again = (delay: number) => {
    lease?.release();
    timer = setTimeout(() => {
      if (closed) return;
      grant().catch(() => again(Math.min(Math.max(delay * 2, 100), 2000)));
    }, delay);
  };
  try {
    await grant();
  } catch (error) {
    lease?.release();
    throw unavailable(error);
  }
  return {
    key,
    async close() {
      closed = true;
      clearTimeout(timer);
      await lease?.revoke().catch(() => lease?.release());
    },
  };
}

function unavailable(error: unknown, hosts?: string | readonly string[], more = ''): WasmeshError {
  const where = hosts === undefined ? 'etcd' : `etcd at ${typeof hosts === 'string' ? hosts : hosts.join(',')}`;
  return new WasmeshError('UNAVAILABLE', `${where} cannot be reached (${messageOf(error)})${more ? ` ${more}` : ''}`, { cause: error });
}
