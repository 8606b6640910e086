import { CliError, EXIT_REFUSED } from '../../../src/cli/errors';
import { parseOfflinePolicy } from '../../../src/cli/commands/start';

describe('start --offline-proxies', () => {
  it('waits for offline proxies by default', () => {
    expect(parseOfflinePolicy(undefined)).toEqual({ mode: 'wait' });
    expect(parseOfflinePolicy('wait')).toEqual({ mode: 'wait' });
  });

  it('excludes proxies offline for longer than the duration', () => {
    expect(parseOfflinePolicy('exclude-after=5m')).toEqual({ mode: 'exclude', afterMs: 5 * 60_000 });
    expect(parseOfflinePolicy('exclude-after=90s')).toEqual({ mode: 'exclude', afterMs: 90_000 });
  });

  it.each(['maybe', 'exclude-after=', 'exclude-after=soon', 'exclude-after=0s', 'exclude-after=-5m', 'exclude'])('refuses %s with exit 2 and an example', (text) => {
    let error: unknown;
    try {
      parseOfflinePolicy(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT_REFUSED);
    expect((error as CliError).message).toMatch(/--offline-proxies .*(use "wait" or "exclude-after=DURATION"|not a duration)/);
  });
});
