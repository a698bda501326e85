// Path normalization for route matching (Envoy's normalize_path; RFC 3986 6.2.2): percent-encoded
// unreserved characters decoded, dot segments removed (RFC 3986 5.2.4), and encoded slashes or
// backslashes refused, since they would let "/a%2F..%2Fb" match one route and mean another
// path to the endpoint. Only matching uses it: the endpoint receives the path as the client sent it.

const kUnreserved = /%(4[1-9A-F]|5[0-9A]|6[1-9A-F]|7[0-9A]|3[0-9]|2[DE]|5F|7E)/gi;

/** The normalized path (no query), or undefined when the path must be refused (encoded / or \). */
export function normalizePath(target: string): string | undefined {
  const q = target.indexOf('?');
  const raw = q < 0 ? target : target.slice(0, q);
  if (/%(2F|5C)/i.test(raw)) return undefined;
  const decoded = raw.replace(kUnreserved, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return removeDotSegments(decoded);
}

/** RFC 3986 5.2.4 on an absolute path: "/a/./b/../c" is "/a/c"; never above the root. */
export function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === '.' || s === '..') {
      if (s === '..') out.pop();
      // A trailing dot segment leaves a trailing slash: "/a/b/.." is "/a/".
      if (i === segments.length - 1) out.push('');
    } else out.push(s);
  }
  return `/${out.join('/')}`;
}
