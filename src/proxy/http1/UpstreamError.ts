/** Why an attempt on an upstream connection failed, as failures.ts classifies it. */
export type UpstreamErrorCode =
  /** The connection could not be made within connectMs. */
  | 'CONNECT_TIMEOUT'
  /** No response head within the first-byte timeout. */
  | 'HEADERS_TIMEOUT'
  /** No body byte within the idle timeout. */
  | 'BODY_TIMEOUT'
  /** The endpoint closed the connection before the response was whole. */
  | 'SOCKET_CLOSED'
  /** The endpoint's response broke HTTP/1.1 framing. */
  | 'BAD_RESPONSE'
  /** The request cannot be sent as given (a header that is not a token or holds CR/LF, a body longer or shorter than its length): the client's. */
  | 'BAD_REQUEST'
  /** The pool is closed: the endpoint left the config, or the proxy is stopping. */
  | 'POOL_CLOSED';

/** An upstream attempt's failure; `code` is stable. */
export class UpstreamError extends Error {
  constructor(
    readonly code: UpstreamErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}
