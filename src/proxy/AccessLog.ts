// The sidecar's access log: one JSON line per request, written through sonic-boom (pino's
// asynchronous writer), so a line costs a string and no system call of its own: lines that come
// while a write is under way go out together in the next one.
import type { SonicBoom } from 'sonic-boom';
import { sonicBoom } from '../lazy.js';

// sonic-boom is CommonJS with `module.exports = SonicBoom`: the module is the class at run time,
// though its types declare it as a named class too.
const Boom = () => sonicBoom() as unknown as typeof SonicBoom;

/** One request as the access log records it. */
export interface AccessLogEntry {
  /** When the request arrived (ISO 8601). */
  time: string;
  method: string;
  path: string;
  service: string | undefined;
  /** The endpoint of the last attempt; absent for answers the proxy gave itself before routing. */
  endpoint: string | undefined;
  status: number;
  /** Attempts sent to endpoints (retries included). */
  attempts: number;
  /** Response body bytes sent to the client. */
  bytes: number;
  durationMs: number;
  /** From the last attempt's send to its answer's end. */
  upstreamMs: number | undefined;
  /** Why the proxy answered itself (body-too-large, upstream-timeout, ...); absent for endpoint answers. */
  reason: string | undefined;
  /** The error behind a 5xx the proxy answered, for people. */
  cause?: string;
}

/** Which requests are logged: every one, those answered >= 500, or none (errors still go to the error log). */
export type AccessLogLevel = 'all' | 'errors' | 'off';

export interface AccessLogOptions {
  level: AccessLogLevel;
  /** A file to append to; default standard output. */
  file?: string;
  /** A sink instead of a file (tests, embedding): receives each line without its newline. */
  sink?: (line: string) => void;
  /** The error log: 5xx answers of the proxy's own go there too when the access log is off. */
  errors: (line: string) => void;
}

export class AccessLog {
  readonly level: AccessLogLevel;
  readonly #write: (line: string) => void;
  readonly #errors: (line: string) => void;
  readonly #boom: SonicBoom | undefined;

  constructor(options: AccessLogOptions) {
    this.level = options.level;
    this.#errors = options.errors;
    if (options.sink) this.#write = options.sink;
    else if (options.level === 'off') this.#write = () => {};
    else {
      const boom = (this.#boom = new (Boom())({ dest: options.file ?? 1, append: true, mkdir: true, sync: false }));
      boom.on('error', (error: Error) => this.#errors(`access log: ${error.message}`));
      this.#write = (line) => void boom.write(`${line}\n`);
    }
  }

  /** Whether a request answered with `status` is written anywhere (the access log, or the error log). */
  wants(status: number): boolean {
    return this.level === 'all' || status >= 500;
  }

  /** Records a finished request by the level. */
  record(entry: AccessLogEntry): void {
    const error = entry.status >= 500;
    if (this.level === 'all' || (error && this.level === 'errors')) this.#write(JSON.stringify(entry));
    else if (error && entry.reason !== undefined) this.#errors(`${entry.status} ${entry.reason} ${entry.method} ${entry.path}${entry.endpoint ? ` endpoint ${entry.endpoint}` : ''}${entry.cause ? `: ${entry.cause}` : ''}`);
  }

  /** Writes what is buffered and closes the file. */
  async close(): Promise<void> {
    const boom = this.#boom as (SonicBoom & { destroyed?: boolean; fd?: number }) | undefined;
    if (!boom || boom.destroyed) return;
    await new Promise<void>((resolve) => {
      boom.once('close', () => resolve());
      boom.once('error', () => resolve());
      // Standard output is not ours to close: flush it only.
      if (boom.fd === 1) boom.flush(() => resolve());
      else boom.end();
    });
  }
}
