/**
 * Which roles may call what (docs/security.md): one table by method and path, applied before any
 * handler runs. Data plane credentials are further bound (mesh, host, proxies, services) in the
 * `/dp/v1` handlers, which see the request body.
 */
import type { IncomingMessage } from 'node:http';
import type { Credential, Role, TokenAuthority } from './credentials';
import { ApiError } from './http-util';

const READERS: Role[] = ['admin', 'reader', 'worker'];

interface AccessRule {
  method: string | '*';
  pattern: RegExp;
  /** Undefined: public. */
  roles: (url: URL) => Role[] | undefined;
}

const rule = (method: string, pattern: RegExp, roles: AccessRule['roles']): AccessRule => ({ method, pattern, roles });

/** First match wins; anything not listed is admin-only. */
const RULES: AccessRule[] = [
  // Kuma's index: what kumactl needs to add the control plane; no secrets in it.
  rule('GET', /^\/$/, () => undefined),
  rule('*', /^\/dp\/v1\//, () => ['admin', 'dataplane']),
  rule('GET', /^\/meshes\/[^/]+\/secrets\/[^/]+$/, () => ['admin', 'worker']),
  rule('GET', /^\//, () => READERS),
  // Skipping the gates is an operator's call. A worker may name proxies its rotation's offline policy
  // left out, but the admission leaves them out only while they are offline (mesh-writes.ts).
  rule('PUT', /^\/meshes\/[^/]+$/, (url) => (url.searchParams.get('force') === 'true' ? ['admin'] : ['admin', 'worker'])),
  rule('POST', /^\/meshes\/[^/]+\/certificates\/_reissue$/, () => ['admin', 'worker']),
];

function bearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** The caller's credential, or an ApiError (401 without a valid one, 403 when its role may not). Public: undefined. */
export function authorize(authority: TokenAuthority, req: IncomingMessage, url: URL, options: { publicMetrics: boolean }): Credential | undefined {
  // Metrics are public only when the operator said so (`--public-metrics`); otherwise any reading role.
  if (options.publicMetrics && req.method === 'GET' && url.pathname === '/metrics') return undefined;
  const matched = RULES.find((r) => (r.method === '*' || r.method === req.method) && r.pattern.test(url.pathname));
  const roles = matched ? matched.roles(url) : (['admin'] as Role[]);
  if (!roles) return undefined;
  const credential = authority.authenticate(bearer(req));
  if (!credential) throw new ApiError(401, 'Unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)');
  if (!roles.includes(credential.role)) {
    throw new ApiError(403, 'Forbidden', `a ${credential.role} credential may not ${req.method} ${url.pathname}`, [
      { field: 'Authorization', message: `role "${credential.role}" is not one of ${roles.join(', ')}` },
    ]);
  }
  return credential;
}
