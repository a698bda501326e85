// The sidecar's listening side: a node:http server whose connections are read first by
// Http1Connection, which serves the requests of the common shape itself and hands a connection to
// node:http (the server's own connection listener, as if it had just been accepted) at the first
// request that is not. Written by hand because node:http's server side was a quarter of the
// sidecar's CPU a request (bench:proxy-peers: the sidecar's pool behind a bare net server cost
// 0.74x of the same pool behind node:http). Every request outside the common shape, every
// malformed one, and every timer of a request in progress stay node:http's, as before; the
// connections here keep node:http's keep-alive and shutdown behaviour (idle ones close after its
// keepAliveTimeout, and a closing server closes them once idle).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Http1Connection, type ConnectionHost } from './Http1Connection.js';
import type { Http1Response } from './Http1Response.js';
import { RequestHeadReader, type Http1Request } from './RequestHead.js';

/** Options of an Http1Front. */
export interface Http1FrontOptions {
  /** The longest request head read here (a longer one goes to node:http, which answers 431). */
  maxHeaderBytes: number;
  /** The largest body read here, whole, before the request is served (a larger one goes to node:http, read as a stream). */
  maxBodyBytes: number;
}

export class Http1Front implements ConnectionHost {
  readonly reader: RequestHeadReader;
  readonly keepAliveSeconds: number;
  readonly #headersSeconds: number;
  closing = false;
  tick = 0;
  readonly #server: Server;
  readonly #serve: (request: Http1Request, response: Http1Response) => void;
  readonly #nodeListener: (this: Server, socket: Socket) => void;
  readonly #connections = new Set<Http1Connection>();
  #sweep: ReturnType<typeof setInterval> | undefined;

  /**
   * Takes over `server`'s connections (requests of the common shape go to `serve`, the rest to
   * the server's own handlers); undefined when the server's connection listener is not node:http's
   * one alone (nothing is changed then).
   */
  static attach(server: Server, serve: (request: Http1Request, response: Http1Response) => void, options: Http1FrontOptions): Http1Front | undefined {
    const listeners = server.listeners('connection');
    if (listeners.length !== 1) return undefined;
    return new Http1Front(server, serve, listeners[0] as (this: Server, socket: Socket) => void, options);
  }

  private constructor(server: Server, serve: (request: Http1Request, response: Http1Response) => void, nodeListener: (this: Server, socket: Socket) => void, options: Http1FrontOptions) {
    this.#server = server;
    this.#serve = serve;
    this.#nodeListener = nodeListener;
    this.reader = new RequestHeadReader(options.maxHeaderBytes, options.maxBodyBytes);
    this.keepAliveSeconds = Math.max(1, Math.round(server.keepAliveTimeout / 1000));
    this.#headersSeconds = Math.max(1, Math.round(server.headersTimeout / 1000));
    server.removeListener('connection', nodeListener);
    server.on('connection', (socket: Socket) => this.#accept(socket));
  }

  /** Connections read here now (not handed to node:http). */
  get connections(): number {
    return this.#connections.size;
  }

  serve(request: Http1Request, response: Http1Response): void {
    this.#serve(request, response);
  }

  handOff(socket: Socket): void {
    this.#nodeListener.call(this.#server, socket);
  }

  forget(connection: Http1Connection): void {
    this.#connections.delete(connection);
  }

  /** Answers from now on say `connection: close`; idle connections close now, busy ones after their answer. */
  closeIdle(): void {
    this.closing = true;
    for (const c of this.#connections) c.closeWhenIdle();
  }

  /** Ends every connection at once, and the idle sweep. */
  closeAll(): void {
    this.closing = true;
    for (const c of this.#connections) c.socket.destroy();
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  #accept(socket: Socket): void {
    if (this.closing) return this.handOff(socket);
    this.#connections.add(new Http1Connection(socket, this));
    // Idle connections are closed by one sweep a second, as node:http's own checks do: a
    // request costs no timer.
    this.#sweep ??= setInterval(() => this.#sweepIdle(), 1000).unref();
  }

  #sweepIdle(): void {
    const tick = ++this.tick;
    for (const c of this.#connections) {
      // A body not whole a second or two after its head: node:http reads that request, with its timers.
      const since = c.waitingSince;
      if (since !== undefined && tick - since > 1) c.giveUpWaiting();
      // Before its first request a connection has node:http's headersTimeout to send one; after, its keepAliveTimeout.
      const limit = c.served > 0 ? this.keepAliveSeconds : this.#headersSeconds;
      if (c.idle && tick - c.idleSince > limit) c.socket.destroy();
    }
  }
}
