// The header lines of an HTTP/1.1 head, scanned byte by byte for the hand-written parsers of both
// directions (ResponseParser for the endpoints' answers, RequestHead for the clients' requests).
// Where each name and value lies is recorded as offsets: the caller makes its strings from one
// decode of the whole head.
import { kClass, kToken, kValue } from './chars.js';

const CR = 13, LF = 10, SP = 32, HTAB = 9, COLON = 58;

/** The head's bytes ended before its blank line. */
export const kPartial = -1;
/** A line that is not `name: value` CRLF (its description is in `FieldSpans.problem`). */
export const kMalformed = -2;

/** Where a head's fields lie, reused from head to head. */
export class FieldSpans {
  /** nameStart, nameEnd, valueStart, valueEnd (trimmed) of each field, from the scan's `from` (the first 4 * count are this head's). */
  readonly spans: number[] = [];
  /** Whether each field's name has upper-case letters (only those are lower-cased). */
  readonly upper: boolean[] = [];
  /** How many fields were scanned (the arrays are reused, not cut: entries past it are stale). */
  count = 0;
  /** What was wrong, after kMalformed. */
  problem = '';
}

/**
 * Scans header lines from `i` up to and past the blank line that ends the head: the offset after
 * it, kPartial when `b` ends first, kMalformed on a line that is not a field (bare CR or LF, no
 * colon, a blank or a non-token in the name, obs-fold, a control in the value), or kPartial/
 * kMalformed as soon as the head passes `maxBytes` from `from` (`problem` says which).
 */
export function scanFields(b: Buffer, from: number, i: number, maxBytes: number, out: FieldSpans): number {
  const n = b.length;
  const { spans, upper } = out;
  let count = 0;
  out.count = 0;
  for (;;) {
    if (i + 1 >= n) return tooLong(i - from, maxBytes, out);
    if (b[i] === CR) {
      if (b[i + 1] !== LF) return malformed(out, 'head not ended by CRLF');
      out.count = count;
      return i + 2;
    }
    const nameStart = i;
    let hasUpper = false;
    for (let c = b[i]!; i < n && kClass[c]! & kToken; c = b[++i]!) if (c >= 65 && c <= 90) hasUpper = true;
    if (i >= n) return tooLong(i - from, maxBytes, out);
    if (b[i] !== COLON || i === nameStart) return malformed(out, `malformed header line ${JSON.stringify(latin1(b, nameStart, Math.min(n, nameStart + 40)))}`);
    const nameEnd = i++;
    while (i < n && (b[i] === SP || b[i] === HTAB)) i++;
    const valueStart = i;
    while (i < n && kClass[b[i]!]! & kValue) i++;
    if (i + 1 >= n) return tooLong(i - from, maxBytes, out);
    if (b[i] !== CR || b[i + 1] !== LF) return malformed(out, `header ${latin1(b, nameStart, nameEnd)} has a bare CR, LF or NUL`);
    let valueEnd = i;
    while (valueEnd > valueStart && (b[valueEnd - 1] === SP || b[valueEnd - 1] === HTAB)) valueEnd--;
    i += 2;
    const at = count * 4;
    spans[at] = nameStart - from;
    spans[at + 1] = nameEnd - from;
    spans[at + 2] = valueStart - from;
    spans[at + 3] = valueEnd - from;
    upper[count++] = hasUpper;
    if (i - from > maxBytes) return malformed(out, `head longer than ${maxBytes} bytes`);
  }
}

function tooLong(bytes: number, maxBytes: number, out: FieldSpans): number {
  return bytes > maxBytes ? malformed(out, `head longer than ${maxBytes} bytes`) : kPartial;
}

function malformed(out: FieldSpans, problem: string): number {
  out.problem = problem;
  return kMalformed;
}

/** Bytes as latin1 text (a head's bytes are its characters). */
export const latin1 = (b: Buffer, from: number, to: number): string => b.toString('latin1', from, to);
