import { UpstreamError } from './http1/UpstreamError.js';

// Whose fault an attempt's failure is, from the error the upstream pool (or the proxy's own body
// stream) ended it with. The answer decides everything after: the client's mistakes get a 4xx and
// never touch the endpoint's health or a retry; an endpoint's failures are reported and may be
// retried by the rule their kind falls under (retry.ts); a client that left gets nothing.

/** An error the proxy's request body stream ends an upload with: the client's doing, not the endpoint's. */
export class ClientBodyError extends Error {
  constructor(
    /** `too-large` (413), `idle` (408: no byte within bodyIdleMs), `aborted` (the client left mid-body). */
    readonly reason: 'too-large' | 'idle' | 'aborted',
    message: string,
  ) {
    super(message);
  }
}

/** What ended an attempt before its answer was complete. */
export type AttemptFailure =
  /** The client's request or body is at fault: answered with this status, the endpoint not blamed. */
  | { kind: 'client'; status: number; reason: string }
  /** The client went away. */
  | { kind: 'gone' }
  /** Nothing was sent: the connection could not be made. */
  | { kind: 'connect' }
  /** The request was written (at least in part), then the connection closed before the answer. */
  | { kind: 'reset' }
  /** No answer within the first-byte timeout. */
  | { kind: 'timeout' };

/**
 * Classifies the error of an attempt that had no response status yet. `sent`: the pool had started
 * writing the request (onRequestStart), so the endpoint may have received it.
 */
export function classify(error: Error, sent: boolean): AttemptFailure {
  if (error instanceof ClientBodyError) {
    if (error.reason === 'aborted') return { kind: 'gone' };
    return error.reason === 'too-large' ? { kind: 'client', status: 413, reason: 'body-too-large' } : { kind: 'client', status: 408, reason: 'body-timeout' };
  }
  // The pool refuses a request it cannot send as given (a header that would split the head, a
  // body that does not match its declared length): the client's request, not the endpoint.
  if (error instanceof UpstreamError && error.code === 'BAD_REQUEST') return { kind: 'client', status: 400, reason: 'bad-request' };
  if (error instanceof UpstreamError && error.code === 'HEADERS_TIMEOUT') return { kind: 'timeout' };
  return sent ? { kind: 'reset' } : { kind: 'connect' };
}
