// Reading a request body. Bodies up to `bufferBodyBytes` are read whole before routing, as nginx
// does by default (proxy_request_buffering): an endpoint's connection is then held only for the
// time of a fast send, never for a slow client's upload, and the body is at hand for a retry.
// Larger bodies stream to the endpoint after the first part; both ways a pause longer than
// `bodyIdleMs` between two chunks ends the request (408), and a body over `maxBodyBytes` too (413).
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ClientBodyError } from './failures.js';

/** The first part of a body, or all of it (`done`). */
export interface BodyPrefix {
  chunks: Buffer[];
  bytes: number;
  done: boolean;
}

/**
 * Reads a body until it ends or passes `limit` bytes (then the reading pauses, with what was read).
 * Rejects with ClientBodyError `idle` after `idleMs` without a chunk, `aborted` when the client leaves.
 */
export function readBody(req: IncomingMessage, limit: number, idleMs: number): Promise<BodyPrefix> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  if (req.readableEnded) return Promise.resolve({ chunks, bytes, done: true });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new ClientBodyError('idle', `no request body byte within ${idleMs} ms`)), idleMs);
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes > limit) return finish(false);
      timer.refresh();
    };
    const onEnd = () => finish(true);
    const onClose = () => fail(new ClientBodyError('aborted', 'the client left before the end of its body'));
    const stop = () => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onClose).off('close', onClose);
    };
    const finish = (done: boolean) => {
      stop();
      if (!done) req.pause();
      resolve({ chunks, bytes, done });
    };
    const fail = (error: ClientBodyError) => {
      stop();
      reject(error);
    };
    req.on('data', onData).on('end', onEnd).on('error', onClose).on('close', onClose);
  });
}

/**
 * The body as a stream for the upstream pool: the chunks read already, then the rest as the client sends it,
 * counted against `maxBytes` and timed against `idleMs`. It ends with a ClientBodyError when
 * either is passed or the client leaves, which the pool hands back to the exchange (failures.ts).
 */
export function streamBody(req: IncomingMessage, head: readonly Buffer[], bytes: number, maxBytes: number, idleMs: number): Readable {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // While the endpoint is slow to take the body, the client is held back: not its pause.
  let held = false;
  const stream = new Readable({
    read() {
      held = false;
      timer?.refresh();
      req.resume();
    },
    destroy(error, callback) {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onClose).off('close', onClose);
      callback(error);
    },
  });
  const fail = (error: ClientBodyError) => stream.destroy(error);
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > maxBytes) return fail(new ClientBodyError('too-large', `request body exceeds ${maxBytes} bytes`));
    timer?.refresh();
    if (!stream.push(chunk)) {
      held = true;
      req.pause();
    }
  };
  const onEnd = () => {
    clearTimeout(timer);
    stream.push(null);
  };
  const onClose = () => {
    if (!req.complete) fail(new ClientBodyError('aborted', 'the client left before the end of its body'));
  };
  for (const chunk of head) stream.push(chunk);
  if (req.readableEnded) {
    stream.push(null);
    return stream;
  }
  timer = setTimeout(function idle() {
    if (held) timer = setTimeout(idle, idleMs);
    else fail(new ClientBodyError('idle', `no request body byte within ${idleMs} ms`));
  }, idleMs);
  req.on('data', onData).on('end', onEnd).on('error', onClose).on('close', onClose);
  return stream;
}
