// A client connection whose requests the sidecar reads itself, while they have the common shape
// (RequestHead). One request at a time: bytes that come while one is answered (a pipelined
// request) wait, and are read once it ends, so answers go out in order. A request is served once
// its body is read whole; a body still incomplete at the next sweep (a slow client) is not waited
// for here. At the first request that is not of that shape, whose head the bytes read so far do
// not hold whole, or whose body is slow, the connection is handed to node:http at that request's
// first byte, and stays there.
import type { Socket } from 'node:net';
import { Http1Response, type ResponseOwner } from './Http1Response.js';
import { kIncomplete, kUnusual, type Http1Request, type RequestHeadReader } from './RequestHead.js';

/** What a connection needs from the server it belongs to (Http1Front). */
export interface ConnectionHost {
  readonly reader: RequestHeadReader;
  readonly closing: boolean;
  readonly keepAliveSeconds: number;
  /** The sweep's count of seconds (idle connections and slow bodies are timed by it: no clock read a request). */
  readonly tick: number;
  serve(request: Http1Request, response: Http1Response): void;
  /** node:http takes the socket (its unread bytes were put back first). */
  handOff(socket: Socket): void;
  forget(connection: Http1Connection): void;
}

// Bytes held while a request is answered (pipelined requests) before the socket stops reading.
const kMaxHeldBytes = 65_536;

export class Http1Connection implements ResponseOwner {
  readonly socket: Socket;
  readonly #host: ConnectionHost;
  // Bytes read and not yet taken: the start of the next request.
  #held: Buffer | undefined;
  #response: Http1Response | undefined;
  // A request whose body is still coming: its bytes so far (head included), how many, how many it needs.
  #waiting: { request: Http1Request; chunks: Buffer[]; bytes: number; need: number; since: number } | undefined;
  #ended = false;
  #closeAfter = false;
  /** The sweep tick at which the connection last became idle; requests served. */
  idleSince: number;
  served = 0;
  readonly #onData = (chunk: Buffer) => this.#data(chunk);
  readonly #onEnd = () => this.#end();
  readonly #onClose = () => this.#close();

  constructor(socket: Socket, host: ConnectionHost) {
    this.socket = socket;
    this.#host = host;
    this.idleSince = host.tick;
    socket.on('data', this.#onData).on('end', this.#onEnd).on('close', this.#onClose).on('error', noop);
  }

  get closing(): boolean {
    return this.#host.closing;
  }

  get keepAliveSeconds(): number {
    return this.#host.keepAliveSeconds;
  }

  /** No request is being answered or read. */
  get idle(): boolean {
    return this.#response === undefined && this.#waiting === undefined;
  }

  /** The tick since which a body has been awaited, or undefined. */
  get waitingSince(): number | undefined {
    return this.#waiting?.since;
  }

  /** The awaited body is slow: node:http reads the request from its first byte, with its own timers. */
  giveUpWaiting(): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    this.#waiting = undefined;
    this.#handOff(Buffer.concat(waiting.chunks, waiting.bytes));
  }

  /** Closes the connection once the request under way is answered (now, when none is). */
  closeWhenIdle(): void {
    if (this.#response) this.#closeAfter = true;
    else this.socket.destroy();
  }

  #data(chunk: Buffer): void {
    const waiting = this.#waiting;
    if (waiting) {
      waiting.chunks.push(chunk);
      waiting.bytes += chunk.length;
      if (waiting.bytes < waiting.need) return;
      this.#waiting = undefined;
      return this.#start(waiting.request, Buffer.concat(waiting.chunks, waiting.bytes), waiting.need);
    }
    const held = this.#held;
    if (this.#response) {
      this.#held = held ? Buffer.concat([held, chunk]) : chunk;
      if (this.#held.length > kMaxHeldBytes) this.socket.pause();
      return;
    }
    this.#held = undefined;
    this.#read(held ? Buffer.concat([held, chunk]) : chunk);
  }

  // The next request from `bytes`: served, or the connection handed to node:http with them.
  #read(bytes: Buffer): void {
    const host = this.#host;
    const request = host.reader.read(bytes, this.socket);
    if (request === kIncomplete || request === kUnusual) return this.#handOff(bytes);
    const need = host.reader.end + request.bodyLength;
    if (bytes.length < need) {
      this.#waiting = { request, chunks: [bytes], bytes: bytes.length, need, since: host.tick };
      return;
    }
    this.#start(request, bytes, need);
  }

  // Serves a request whose head and body end at `end` in `bytes` (what follows is the next one's).
  #start(request: Http1Request, bytes: Buffer, end: number): void {
    const host = this.#host;
    if (request.bodyLength > 0) request.body = bytes.subarray(end - request.bodyLength, end);
    if (end < bytes.length) this.#held = bytes.subarray(end);
    const response = new Http1Response(this, request);
    this.#response = response;
    this.served++;
    host.serve(request, response);
  }

  finished(response: Http1Response, close: boolean): void {
    if (this.#response !== response) return;
    this.#response = undefined;
    response.closed();
    const socket = this.socket;
    if (close || this.#closeAfter || (this.#ended && !this.#held)) {
      (socket as Socket & { destroySoon(): void }).destroySoon();
      return;
    }
    this.idleSince = this.#host.tick;
    if (socket.isPaused()) socket.resume();
    // A pipelined request: read once this answer's turn is over.
    if (this.#held) process.nextTick(() => this.#next());
  }

  #next(): void {
    const held = this.#held;
    if (this.#response || !held || this.socket.destroyed) return;
    this.#held = undefined;
    this.#read(held);
  }

  #end(): void {
    this.#ended = true;
    // The client stopped before its body's end: nothing to answer.
    if (this.#waiting) return void this.socket.destroy();
    // Answered all it asked: close (a request still held is read and answered first).
    if (!this.#response && !this.#held) this.socket.end();
  }

  #close(): void {
    this.#host.forget(this);
    const response = this.#response;
    this.#response = undefined;
    response?.closed();
  }

  #handOff(bytes: Buffer): void {
    const socket = this.socket;
    socket.off('data', this.#onData).off('end', this.#onEnd).off('close', this.#onClose).off('error', noop);
    this.#host.forget(this);
    if (this.#ended) return void socket.destroy();
    if (bytes.length > 0) socket.unshift(bytes);
    // node:http reads through 'data' (the bytes put back) and then the handle: a paused socket would hold both.
    if (socket.isPaused()) socket.resume();
    this.#host.handOff(socket);
  }
}

function noop(): void {}
