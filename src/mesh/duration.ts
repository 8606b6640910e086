/**
 * The two duration grammars a Kuma Mesh uses, exactly as Kuma 2.14 reads them, and the one our CLI
 * flags accept. Pure.
 *
 * - Kuma's own `ParseDuration` (pkg/core/resources/apis/mesh/mesh_helpers.go), for the string fields
 *   `dpCert.rotation.expiration` and the builtin backend's `caCert.expiration`: `0`, or ONE whole
 *   number with ONE unit of y (365 days), w, d, h, m, s or ms. `1h30m`, `0.5s` and `10us` are refused.
 * - Go's `time.ParseDuration`, which Kuma's protobuf JSON decoder (golang/protobuf jsonpb) applies to
 *   `google.protobuf.Duration` fields (`dpCert.requestTimeout`, `rootChain.requestTimeout`): a sign,
 *   then components like `1h`, `30.5s`, `250us`; at most about 292 years either way.
 */

/** Go stores durations as int64 nanoseconds: about 292 years. */
export const MAX_DURATION_MS = 9_223_372_036_854.775;
const MAX_NANOSECONDS = 2n ** 63n;

const KUMA_MS_PER_UNIT: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};
const KUMA_DURATION = /^(\d+)(y|w|d|h|m|s|ms)$/;

/**
 * Milliseconds for a Kuma duration string, or undefined when Kuma's parser refuses it. The result may
 * exceed MAX_DURATION_MS: Kuma accepts such values (its int64 arithmetic wraps), callers decide.
 */
export function parseKumaDuration(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  if (text === '0') return 0;
  const match = KUMA_DURATION.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (KUMA_MS_PER_UNIT[match[2] as string] as number);
}

const GO_NANOSECONDS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const GO_COMPONENT = /(\d*)(?:\.(\d*))?([^\d.]+)/y;

/** Milliseconds (signed, possibly fractional) for a Go duration, or undefined when time.ParseDuration refuses it. */
export function parseGoDuration(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const negative = text.startsWith('-');
  const unsigned = text.startsWith('-') || text.startsWith('+') ? text.slice(1) : text;
  if (unsigned === '0') return 0;
  if (unsigned === '') return undefined;
  let total = 0n;
  for (let position = 0; position < unsigned.length; ) {
    GO_COMPONENT.lastIndex = position;
    const match = GO_COMPONENT.exec(unsigned);
    if (!match) return undefined;
    const [whole, integer = '', fraction, unit = ''] = match;
    const perUnit = GO_NANOSECONDS_PER_UNIT[unit];
    if (perUnit === undefined || (integer === '' && !fraction)) return undefined;
    total += BigInt(integer || '0') * perUnit;
    // Go adds the fraction in floating point, truncated to whole nanoseconds.
    if (fraction) total += BigInt(Math.floor(Number(`0.${fraction}`) * Number(perUnit)));
    if (total > MAX_NANOSECONDS) return undefined;
    position += whole.length;
  }
  if (!negative && total === MAX_NANOSECONDS) return undefined;
  const ms = Number(total) / 1e6;
  return negative ? -ms : ms;
}

/**
 * Our CLI flags (`--step-timeout 10m`, `exclude-after=1h30m`): a positive Go duration or a Kuma one
 * (so `1d` works too), at most MAX_DURATION_MS. Undefined otherwise.
 */
export function parseDuration(text: unknown): number | undefined {
  const ms = parseKumaDuration(text) ?? parseGoDuration(text);
  return ms !== undefined && ms >= 0 && ms <= MAX_DURATION_MS ? ms : undefined;
}
