/** The Go functions Kuma's validator calls, ported: what they accept and refuse. */
import { re2Problem, requestUriPort, splitHostPort } from '../../../src/mesh/validate-network';

describe('splitHostPort (net.SplitHostPort)', () => {
  it.each([
    ['kibana:1234', { host: 'kibana', port: '1234' }],
    ['[::1]:80', { host: '::1', port: '80' }],
    [':80', { host: '', port: '80' }],
    ['host:', { host: 'host', port: '' }],
  ])('splits %s', (address, expected) => {
    expect(splitHostPort(address)).toEqual(expected);
  });

  it.each(['kibana', 'wrong-format:234:234', '[::1]80', '[::1', 'a]:80', '[a]b:80'])('refuses %s', (address) => {
    expect(splitHostPort(address)).toBeUndefined();
  });
});

describe('requestUriPort (url.ParseRequestURI, then Port)', () => {
  it.each([
    ['http://zipkin.local:9411/v2/spans', '9411'],
    ['http://zipkin-us.local/v2/spans', ''],
    ['http://user:pw@host:1/x?q=1', '1'],
    ['https://[::1]:9411/api', '9411'],
    ['/v2/spans', ''],
    ['http:opaque', ''],
    ['zipkin:9411', ''], // a scheme "zipkin" and an opaque rest, to Go
  ])('reads %s', (url, port) => {
    expect(requestUriPort(url)).toEqual({ port });
  });

  it.each(['', 'invalid-url', '://x', 'http://host:port/', 'http://ho st:1/', 'http://host:1/%zz', 'http://[::1/'])('refuses %p', (url) => {
    expect(requestUriPort(url)).toBeUndefined();
  });
});

describe('re2Problem (regexp.Compile)', () => {
  it.each(['', '^server[0-9]+', '(?P<name>a)', '\\Aa\\z', '(?i)abc', '[[:alpha:]]+'])('accepts %p', (pattern) => {
    expect(re2Problem(pattern)).toBeUndefined();
  });

  it.each(['a(?=b)', 'a(?<!b)', '(a)\\1', '(', '[a-', '*a'])('refuses %p', (pattern) => {
    expect(re2Problem(pattern)).toEqual(expect.any(String));
  });
});

describe('re2Problem, where kuma-cp taught us', () => {
  it('takes flag groups and refuses repeats above 1000, as RE2 does', () => {
    expect(re2Problem('(?i:a)')).toBeUndefined();
    expect(re2Problem('a(?-i)b')).toBeUndefined();
    expect(re2Problem('x{1000}')).toBeUndefined();
    expect(re2Problem('x{1001}')).toMatch(/invalid repeat count/);
    expect(re2Problem('x{2,1001}')).toMatch(/invalid repeat count/);
  });
});
