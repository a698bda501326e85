// What the proxy reads from a request before it picks an endpoint: the service (by Host or path
// prefix) and the affinity key (a header, a cookie, or a field of a JSON body), and what it
// forwards: the request headers without hop-by-hop ones, with x-forwarded-*, and what it answers
// with: the response headers without hop-by-hop ones.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { MeshConfig, ProxyConfig, ServiceConfig } from '../mesh/config.js';

export type ProxyRoute = NonNullable<ProxyConfig['routes']>[number];
export type HashKeySource = NonNullable<ServiceConfig['hashKey']>;

/**
 * What the proxy reads of a request's head: node:http's IncomingMessage has it, and so has the
 * fast path's Http1Request, which carries its body too, read whole (`body`).
 */
export type RequestHead = Pick<IncomingMessage, 'method' | 'url' | 'headers' | 'rawHeaders' | 'socket' | 'complete'> & { readonly body?: Buffer };

/**
 * The service a request is for: the first route whose host, path prefix and model all match (a
 * route's model matches a body asking for it, or for an adapter on it: "base:adapter").
 */
export function serviceOf(config: Readonly<MeshConfig>, host: string | undefined, path: string, model?: string): string | undefined {
  const routes = config.proxy?.routes;
  if (!routes) return config.services.length === 1 ? config.services[0]!.name : undefined;
  const bare = host?.replace(/:\d+$/, '').toLowerCase();
  for (const r of routes) {
    if (r.host !== undefined && r.host.toLowerCase() !== bare) continue;
    if (r.pathPrefix !== undefined && !path.startsWith(r.pathPrefix)) continue;
    if (r.model !== undefined && (model === undefined || (model !== r.model && !model.startsWith(`${r.model}:`)))) continue;
    return r.service;
  }
  return undefined;
}

/** A header or cookie key, or undefined when absent (body keys: keyFromBody). */
export function keyFromHeaders(source: HashKeySource | undefined, headers: IncomingHttpHeaders): string | undefined {
  if (!source) return undefined;
  if ('header' in source) {
    const v = headers[source.header.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }
  if ('cookie' in source) {
    for (const part of (headers.cookie ?? '').split(';')) {
      const at = part.indexOf('=');
      if (at > 0 && part.slice(0, at).trim() === source.cookie) return decodeURIComponent(part.slice(at + 1).trim());
    }
  }
  return undefined;
}

/**
 * The key from a JSON body read whole: the field at a dotted path ("messages.0.content"), as a
 * string, cut to prefixChars (prompt-prefix affinity for KV caches). When the body is not JSON
 * or the field is absent, the body's own first prefixChars characters are the key, so requests
 * that share a prefix still meet on one endpoint.
 */
export function keyFromBody(source: Extract<HashKeySource, { jsonField: string }>, body: Buffer): string {
  const limit = source.prefixChars ?? Infinity;
  try {
    let v: unknown = JSON.parse(body.toString('utf8'));
    for (const step of source.jsonField.split('.')) v = v === null || typeof v !== 'object' ? undefined : (v as Record<string, unknown>)[step];
    if (v !== undefined) return (typeof v === 'string' ? v : JSON.stringify(v)).slice(0, limit);
  } catch {
    // Not JSON: fall through to the raw prefix.
  }
  return body.toString('utf8').slice(0, limit);
}

// RFC 9110 7.6.1: meaningful for one connection only, never forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Header names a Connection header lists (those are hop-by-hop too), or undefined when none. */
function connectionNamed(value: string | string[] | undefined): Set<string> | undefined {
  // keep-alive and close, on nearly every message, name no header.
  if (value === undefined || (typeof value === 'string' && /^\s*(keep-alive|close)\s*$/i.test(value))) return undefined;
  const named = new Set<string>();
  for (const v of Array.isArray(value) ? value : [value]) for (const h of v.split(',')) named.add(h.trim().toLowerCase());
  return named;
}

/** The value of `name` (lower case) in a [name, value, ...] list with lower-case names; repeated, joined with ", ". */
export function headerOf(headers: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) value = value === undefined ? headers[i + 1]! : `${value}, ${headers[i + 1]!}`;
  return value;
}

/**
 * The end-to-end headers of a response (the pool's [name, value, ...] list, lower-case names) as
 * the flat list writeHead takes: without hop-by-hop ones and those the Connection header names.
 */
export function endToEnd(headers: readonly string[]): string[] {
  const named = connectionNamed(headerOf(headers, 'connection'));
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out.push(name, headers[i + 1]!);
  }
  return out;
}

/** How client address headers are forwarded (proxy.forwarding). */
export interface ForwardingPolicy {
  readonly xForwardedFor: 'append' | 'overwrite' | 'pass' | 'strip';
  readonly forwarded: 'append' | 'overwrite' | 'pass' | 'strip';
  readonly xRealIp: 'overwrite' | 'pass' | 'strip';
}

export const kDefaultForwarding: ForwardingPolicy = Object.freeze({ xForwardedFor: 'append', forwarded: 'append', xRealIp: 'overwrite' });

/**
 * What makes a request one the proxy must refuse before routing (RFC 9112 3.2: more than one
 * Host), or undefined: the proxy and the endpoint could each take another Host as the one.
 */
export function malformation(req: RequestHead): string | undefined {
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts++;
  return hosts > 1 ? 'duplicate-host' : undefined;
}

// Set by the proxy only: a client's own would mislead the endpoint's deduplication.
const kProxyOwned = new Set(['expect', 'x-forwarded-host', 'x-forwarded-proto', 'x-wasmesh-attempt']);

/** `for=` of a Forwarded element (RFC 7239 6: an IPv6 address quoted in brackets). */
const forwardedFor = (ip: string) => (ip.includes(':') ? `"[${ip}]"` : ip);

/**
 * The headers sent upstream, from the request's raw list in one pass: end-to-end ones (and no
 * expect: the proxy has answered 100-continue to the client already) plus x-forwarded-for,
 * Forwarded and x-real-ip by the policy, and x-forwarded-host/-proto.
 */
export function forwardHeaders(req: RequestHead, policy: ForwardingPolicy = kDefaultForwarding): string[] {
  const raw = req.rawHeaders;
  const named = connectionNamed(req.headers.connection);
  const out: string[] = [];
  let xff: string | undefined, fwd: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || kProxyOwned.has(lower)) continue;
    const value = raw[i + 1]!;
    if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
    else if (lower === 'forwarded') fwd = fwd === undefined ? value : `${fwd}, ${value}`;
    else if (lower !== 'x-real-ip' || policy.xRealIp === 'pass') out.push(name, value);
  }
  const client = req.socket.remoteAddress ?? 'unknown';
  const host = req.headers.host;
  const xffOut = policy.xForwardedFor === 'append' ? (xff === undefined ? client : `${xff}, ${client}`) : policy.xForwardedFor === 'overwrite' ? client : policy.xForwardedFor === 'pass' ? xff : undefined;
  if (xffOut !== undefined) out.push('x-forwarded-for', xffOut);
  if (policy.forwarded !== 'strip') {
    const mine = `for=${forwardedFor(client)}${host ? `;host="${host.replace(/["\\]/g, '')}"` : ''};proto=http`;
    const value = policy.forwarded === 'append' ? (fwd === undefined ? mine : `${fwd}, ${mine}`) : policy.forwarded === 'overwrite' ? mine : fwd;
    if (value !== undefined) out.push('forwarded', value);
  }
  if (policy.xRealIp === 'overwrite') out.push('x-real-ip', client);
  if (host) out.push('x-forwarded-host', host);
  out.push('x-forwarded-proto', 'http');
  return out;
}
