import { MAX_DURATION_MS, parseDuration } from '../../../src/mesh/duration';

describe('parseDuration', () => {
  it.each([
    ['24h', 24 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['10s', 10_000],
    ['500ms', 500],
    ['0.5s', 500],
    ['.5s', 500],
    ['1.5h', 90 * 60_000],
    ['2h45m30.5s', (2 * 3600 + 45 * 60 + 30.5) * 1000],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['1000000ns', 1],
    ['0', 0],
    ['+5s', 5_000],
    ['1d', 86_400_000],
    ['30d', 30 * 86_400_000],
    ['10y', 10 * 365 * 86_400_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 6);
  });

  it.each([
    ['', 'empty'],
    ['-1h', 'negative'],
    ['-0.5s', 'negative fraction'],
    ['10', 'a number without a unit'],
    ['h', 'a unit without a number'],
    ['.s', 'a dot without digits'],
    ['1H', 'an upper-case unit'],
    ['1w', 'an unknown unit'],
    ['1 h', 'a space'],
    [' 1h', 'leading space'],
    ['1h ', 'trailing space'],
    ['1.5.3s', 'two dots'],
    ['1e3s', 'an exponent'],
    ['1.5d', 'fractional days (Kuma takes whole days only)'],
    ['1d12h', 'days combined with other units (Kuma rejects it)'],
    ['1y2d', 'years combined with days'],
    ['300y', 'longer than Go can hold'],
    ['9999999999999h', 'far longer than Go can hold'],
    ['forever', 'garbage'],
  ])('rejects %p (%s)', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('accepts the longest duration Go can hold and nothing longer', () => {
    expect(parseDuration('2562047h')).toBeLessThanOrEqual(MAX_DURATION_MS);
    expect(parseDuration('2562048h')).toBeUndefined();
  });

  it('returns undefined, not an exception, for a non-string smuggled in from untyped input', () => {
    expect(parseDuration(42 as unknown as string)).toBeUndefined();
    expect(parseDuration(undefined as unknown as string)).toBeUndefined();
  });
});
