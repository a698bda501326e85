// An LLM answer as it passes through: when its first and last chunks came (TTFT, time per output
// token), how many events a token stream held (its tokens, when it carries no usage), and its
// last bytes, where its usage is.
import { usageOf, type Usage } from '../proxy/openai.js';

// The last bytes kept: a usage chunk with prompt_tokens_details fits several times over.
const kTailBytes = 4096;
const kData = Buffer.from('data:');
const kDone = Buffer.from('data: [DONE]');

/** Usage as the gateway counts it: the answer's own, or its stream's events counted when it has none. */
export interface MeteredUsage extends Partial<Usage> {
  /** completionTokens counts stream events: the answer had no usage. */
  estimated: boolean;
}

export class UsageMeter {
  /** ms (performance.now) of the first and last chunk of a stream. */
  firstAt: number | undefined;
  lastAt: number | undefined;
  #events = 0;
  #done = false;
  #tail: Buffer | undefined;
  readonly #sse: boolean;

  constructor(sse: boolean) {
    this.#sse = sse;
  }

  chunk(chunk: Buffer, now: number): void {
    if (this.#sse) {
      this.firstAt ??= now;
      this.lastAt = now;
      for (let at = chunk.indexOf(kData); at >= 0; at = chunk.indexOf(kData, at + kData.length)) this.#events++;
      if (!this.#done && chunk.includes(kDone)) this.#done = true;
    }
    const tail = this.#tail;
    if (chunk.length >= kTailBytes || !tail) this.#tail = Buffer.from(chunk.subarray(-kTailBytes));
    else this.#tail = Buffer.concat([tail, chunk]).subarray(-kTailBytes);
  }

  /** What the answer used: its usage, or for a stream without one its content events (neither [DONE] nor a usage chunk). */
  usage(): MeteredUsage | undefined {
    const usage = this.#tail && usageOf(this.#tail.toString('latin1'));
    if (usage) return { ...usage, estimated: false };
    if (!this.#sse) return undefined;
    return { completionTokens: Math.max(0, this.#events - (this.#done ? 1 : 0)), estimated: true };
  }
}
