/**
 * Stable error codes. A code never changes meaning between releases; match on it, not on the
 * message text.
 */
export type WasmeshErrorCode =
  | 'INVALID_OPTION' // a constructor or method option is out of range or unknown
  | 'INVALID_ID' // a node id is not a non-empty, well-formed string of at most 1024 UTF-8 bytes
  | 'INVALID_WEIGHT' // a weight is not a finite number > 0, or gives too many points
  | 'INVALID_KEY' // a routing key is not a string
  | 'INVALID_ARGUMENT' // any other argument out of range (counts, batch sizes, buffers)
  | 'DUPLICATE_NODE' // add() of an id that is already present
  | 'UNKNOWN_NODE' // an operation names an id that is not present
  | 'CAPACITY' // the table would exceed its documented maximum size
  | 'INVALID_CONFIG' // a mesh configuration failed validation
  | 'OVERLOADED' // a circuit or admission limit refused the request
  | 'NO_ENDPOINT' // no eligible endpoint for a request
  | 'UNKNOWN_MODEL' // no endpoint of the service serves the model (or adapter) the request names
  | 'WORKER_FAILED' // a worker thread crashed or threw on a batch twice (the retry failed too)
  | 'CLOSED' // the object was closed and takes no more work
  | 'UNAVAILABLE' // a store the object depends on (etcd) cannot be reached
  | 'MISSING_DEPENDENCY'; // an optional peer dependency the feature needs is not installed (etcd3 for wasmesh/etcd)

/**
 * The one error class of wasmesh. `code` is stable; `message` names the bad value and what is
 * allowed. An operation that throws it leaves its object exactly as it was.
 */
export class WasmeshError extends Error {
  readonly code: WasmeshErrorCode;

  constructor(code: WasmeshErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WasmeshError';
    this.code = code;
  }
}

/** Renders a bad value for an error message: strings quoted, everything else as JSON would. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 77) + '...' : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** The message of a thrown value, whatever was thrown: for logs and for wrapping errors. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
