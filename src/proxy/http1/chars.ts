// Byte classes of HTTP/1.1 heads, for the hand-written paths (checked char by char: a regex a
// header cost several times as much on this path).
const SP = 32, HTAB = 9;

/** tchar (RFC 9110 5.6.2): a header name or method is made of these. */
export const kToken = 1;
/** field-vchar, obs-text, SP and HTAB (RFC 9110 5.5): a header value is made of these. */
export const kValue = 2;

/** The classes of each byte value, or-ed. */
export const kClass = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if ((c >= 0x21 && c <= 0x7e) || c >= 0x80 || c === SP || c === HTAB) kClass[c] = kValue;
  if (/[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(String.fromCharCode(c))) kClass[c] = kClass[c]! | kToken;
}

/** A non-empty run of tchar. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || !(kClass[c]! & kToken)) return false;
  }
  return true;
}

/** A header value that cannot split a head: no CR, LF, NUL or other control but HTAB, nothing past U+00FF. */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || !(kClass[c]! & kValue)) return false;
  }
  return true;
}

/** 1 to 15 decimal digits: a content-length that Number() reads exactly. */
export function isDigits(s: string): boolean {
  if (s.length === 0 || s.length > 15) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
