/**
 * The Go library functions Kuma's Mesh validator calls, ported for what they decide there:
 * net.SplitHostPort, url.ParseRequestURI (+ URL.Port) and regexp.Compile (RE2). Pure.
 */

/** net.SplitHostPort: `host:port` or `[host]:port`; undefined when Go returns an error. */
export function splitHostPort(address: string): { host: string; port: string } | undefined {
  const lastColon = address.lastIndexOf(':');
  if (lastColon < 0) return undefined; // missing port
  let host: string;
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    if (end + 1 !== lastColon) return undefined; // no ']', nothing or too many colons after it
    host = address.slice(1, end);
  } else {
    host = address.slice(0, lastColon);
    if (host.includes(':')) return undefined; // too many colons
  }
  const port = address.slice(lastColon + 1);
  if (/[[\]]/.test(host) || /[[\]]/.test(port)) return undefined; // unexpected '[' or ']'
  return { host, port };
}

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;
/** Characters Go's url package lets through in a host (shouldEscape in encodeHost mode). */
const HOST_CHARS = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:[\]<>"]|%[0-9A-Fa-f]{2})*$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/**
 * url.ParseRequestURI followed by URL.Port(): `{ port }` ('' when none is given) for an acceptable
 * URI, undefined when Go refuses it.
 */
export function requestUriPort(raw: string): { port: string } | undefined {
  // eslint-disable-next-line no-control-regex
  if (raw === '' || /[\u0000-\u001f\u007f]/.test(raw)) return undefined;
  if (raw === '*') return { port: '' };
  let rest = raw;
  if (raw.startsWith(':')) return undefined; // missing protocol scheme
  const scheme = SCHEME.exec(raw);
  if (scheme) rest = raw.slice(scheme[0].length);
  rest = rest.split('?')[0] as string;
  if (!rest.startsWith('/')) return scheme ? { port: '' } : undefined; // opaque, or "invalid URI for request"
  if (!scheme || !rest.startsWith('//')) return BAD_ESCAPE.test(rest) ? undefined : { port: '' };
  const afterSlashes = rest.slice(2);
  const slash = afterSlashes.indexOf('/');
  const authority = slash < 0 ? afterSlashes : afterSlashes.slice(0, slash);
  const path = slash < 0 ? '' : afterSlashes.slice(slash);
  if (BAD_ESCAPE.test(path)) return undefined;
  const at = authority.lastIndexOf('@');
  const host = at < 0 ? authority : authority.slice(at + 1);
  if (at >= 0 && !/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(authority.slice(0, at))) return undefined;
  return hostPort(host);
}

function hostPort(host: string): { port: string } | undefined {
  let portPart = '';
  if (host.startsWith('[')) {
    const end = host.lastIndexOf(']');
    if (end < 0) return undefined;
    portPart = host.slice(end + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) portPart = host.slice(colon);
  }
  if (portPart !== '' && !/^:\d*$/.test(portPart)) return undefined;
  if (!HOST_CHARS.test(host) || BAD_ESCAPE.test(host)) return undefined;
  return { port: portPart.slice(1) };
}

const RE2_MAX_REPEAT = 1000;

/**
 * Whether Go's regexp.Compile (RE2 syntax) takes `pattern`, or why not. RE2 has no look-around and no
 * backreferences, and repeats at most 1000 times; its `(?P<name>...)`, `\A`, `\z`, `(?flags)`, `(?flags:...)`
 * and `[[:class:]]` are rewritten
 * into their JavaScript equivalents before the JavaScript engine checks the rest.
 */
export function re2Problem(pattern: string): string | undefined {
  if (/\(\?<?[=!]/.test(pattern)) return 'invalid or unsupported Perl syntax: look-around is not supported by RE2';
  if (/(^|[^\\])(\\\\)*\\[1-9]/.test(pattern)) return 'invalid escape sequence: backreferences are not supported by RE2';
  for (const repeat of pattern.matchAll(/\{(\d+)(?:,(\d*))?\}/g)) {
    if (Number(repeat[1]) > RE2_MAX_REPEAT || Number(repeat[2] || 0) > RE2_MAX_REPEAT) return `invalid repeat count: ${repeat[0]} (RE2 allows at most ${RE2_MAX_REPEAT})`;
  }
  const translated = pattern
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$')
    .replace(/\(\?[imsU-]+\)/g, '')
    .replace(/\(\?[imsU-]+:/g, '(?:')
    .replace(/\[:\^?[a-z]+:\]/g, 'a');
  try {
    new RegExp(translated);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.replace(/^Invalid regular expression: /, '') : 'invalid regular expression';
  }
}
