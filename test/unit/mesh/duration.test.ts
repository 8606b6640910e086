import { MAX_DURATION_MS, parseDuration, parseGoDuration, parseKumaDuration } from '../../../src/mesh/duration';

describe("parseKumaDuration (Kuma's mesh.ParseDuration)", () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['250ms', 250],
    ['10s', 10_000],
    ['90m', 90 * 60_000],
    ['24h', 24 * 3_600_000],
    ['1d', 86_400_000],
    ['2w', 14 * 86_400_000],
    ['10y', 10 * 365 * 86_400_000],
    ['300y', 300 * 365 * 86_400_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseKumaDuration(text)).toBe(ms);
  });

  it.each(['', '1h30m', '0.5s', '1.5d', '10us', '10ns', '-1h', '+1h', '1H', '1 h', ' 1h', '10', 'h', '2e', 'forever'])('refuses %p', (text) => {
    expect(parseKumaDuration(text)).toBeUndefined();
  });

  it('returns undefined for a non-string', () => {
    expect(parseKumaDuration(42)).toBeUndefined();
    expect(parseKumaDuration(undefined)).toBeUndefined();
  });
});

describe("parseGoDuration (Go's time.ParseDuration, used for protobuf Durations)", () => {
  it.each([
    ['24h', 24 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['0.5s', 500],
    ['.5s', 500],
    ['1.5h', 90 * 60_000],
    ['2h45m30.5s', (2 * 3600 + 45 * 60 + 30.5) * 1000],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['250μs', 0.25],
    ['1000000ns', 1],
    ['0', 0],
    ['-0', 0],
    ['+5s', 5_000],
    ['-1.5s', -1_500],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 6);
  });

  it.each(['', '-', '+', '10', 'h', '.s', '1H', '1d', '1w', '1 h', ' 1h', '1.5.3s', '1e3s', 'forever'])('refuses %p', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });

  it('holds int64 nanoseconds: 2562047h47m16.854775807s is the longest, one nanosecond more overflows; the negative side has one more', () => {
    expect(parseGoDuration('2562047h47m16.854775807s')).toBeLessThanOrEqual(MAX_DURATION_MS);
    expect(parseGoDuration('2562047h47m16.854775808s')).toBeUndefined();
    expect(parseGoDuration('-2562047h47m16.854775808s')).toBeLessThan(0);
    expect(parseGoDuration('9999999999999h')).toBeUndefined();
  });
});

describe('parseDuration (our CLI flags)', () => {
  it.each([
    ['10m', 600_000],
    ['1h30m', 90 * 60_000],
    ['1d', 86_400_000],
    ['2w', 14 * 86_400_000],
  ])('reads %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['-1h', '300y', '', 'soon'])('refuses %p', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
