import { TokenAuthority } from '../../../src/controlplane/credentials';

describe('signed credentials', () => {
  const authority = new TokenAuthority(Buffer.alloc(32, 1), 'admin-token');

  test('a token stops working when it expires', () => {
    const now = Date.UTC(2026, 0, 1);
    const { token, id } = authority.issue({ role: 'reader', name: 'ops', validForSeconds: 3600 }, now);
    expect(authority.authenticate(token, now + 3_599_000)).toEqual({ role: 'reader', id, subject: 'reader:ops' });
    expect(authority.authenticate(token, now + 3_600_000)).toBeUndefined();
  });

  test('a token signed with another key is refused; the admin token is admin', () => {
    const other = new TokenAuthority(Buffer.alloc(32, 2), 'admin-token');
    expect(authority.authenticate(other.issue({ role: 'worker', name: 'w' }).token)).toBeUndefined();
    expect(authority.authenticate('admin-token')).toEqual({ role: 'admin', subject: 'admin' });
    expect(authority.authenticate('admin-token ')).toBeUndefined();
  });
});
