// Service discovery: where endpoints come from besides the config file. A source delivers
// events; the mesh patches the running balancers with each (no rebuild).
import type { EndpointConfig } from './config.js';

/** One change of membership; `revision` orders it in its source (etcd's revision), when it has one. */
export type DiscoveryEvent =
  | { type: 'add' | 'update'; service: string; endpoint: EndpointConfig; revision?: number }
  | { type: 'remove'; service: string; id: string; revision?: number };

/**
 * A source of endpoint changes (static, etcd, ...). `watch` delivers the current endpoints as
 * add events, then changes as they happen, in order; the function it returns stops delivery.
 */
export interface DiscoverySource {
  watch(onEvent: (event: DiscoveryEvent) => void): () => void;
}

/** A source whose endpoints are given in code; push() delivers more changes to its watchers. */
export class StaticDiscovery implements DiscoverySource {
  readonly #endpoints = new Map<string, { service: string; endpoint: EndpointConfig }>();
  readonly #watchers = new Set<(event: DiscoveryEvent) => void>();

  constructor(endpoints: Readonly<Record<string, readonly EndpointConfig[]>> = {}) {
    for (const [service, list] of Object.entries(endpoints)) for (const endpoint of list) this.#endpoints.set(`${service}\u0000${endpoint.id}`, { service, endpoint });
  }

  watch(onEvent: (event: DiscoveryEvent) => void): () => void {
    for (const { service, endpoint } of this.#endpoints.values()) onEvent({ type: 'add', service, endpoint });
    this.#watchers.add(onEvent);
    return () => void this.#watchers.delete(onEvent);
  }

  /** Records a change and delivers it to every watcher. */
  push(event: DiscoveryEvent): void {
    const key = `${event.service}\u0000${event.type === 'remove' ? event.id : event.endpoint.id}`;
    if (event.type === 'remove') this.#endpoints.delete(key);
    else this.#endpoints.set(key, { service: event.service, endpoint: event.endpoint });
    for (const w of this.#watchers) w(event);
  }
}
