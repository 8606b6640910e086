/**
 * Who may call the control plane, by role (Kuma's model: admin/user tokens for the API, data plane
 * tokens signed by the control plane and bound to a mesh and to the proxies' identities):
 * - admin: the token in the token file (or given); everything, including Secrets and forced edits;
 * - reader: reads of meshes, history, insights and proxies (Secret names, never Secret data);
 * - worker: what a rotation uses: reads, Secret reads (the target backend's preflight), unforced
 *   mesh writes and `_reissue`;
 * - dataplane: only `/dp/v1`, for the one mesh, host, proxy names and services it is bound to.
 * Signed tokens are `cart1.<base64url claims>.<base64url HMAC-SHA256>` with a key kept next to the
 * store (mode 0600); rotating that key revokes every signed token at once. One token is revoked by
 * its id: the id goes to a file next to the key (appended, synced to disk before the answer), and
 * streams opened with that token are closed at once.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { type DataplaneBinding, DataplaneBindingSchema } from '../mesh/dataplane-api';
import { appendPrivateFile, readPrivateFile, writePrivateFileExclusive } from './private-files';

export type Role = 'admin' | 'reader' | 'worker' | 'dataplane';
export type { DataplaneBinding };

const SubjectName = z.string().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'letters, digits and "." "_" "@" "-"');

/** `POST /tokens`: what an admin asks the control plane to sign. */
export const TokenRequestSchema = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['reader', 'worker']), name: SubjectName, validForSeconds: z.number().int().min(60).max(10 * 365 * 86_400).optional() }),
  z.object({
    role: z.literal('dataplane'),
    name: SubjectName,
    validForSeconds: z.number().int().min(60).max(10 * 365 * 86_400).optional(),
    dataplane: DataplaneBindingSchema,
  }),
]);
export type TokenRequest = z.infer<typeof TokenRequestSchema>;

const ClaimsSchema = z.object({
  v: z.literal(1),
  jti: z.string(),
  role: z.enum(['reader', 'worker', 'dataplane']),
  sub: SubjectName,
  iat: z.number().int(),
  exp: z.number().int().optional(),
  dataplane: DataplaneBindingSchema.optional(),
});
type Claims = z.infer<typeof ClaimsSchema>;

/** A signed token's id (its `jti`), as `POST /tokens` answers it and `DELETE /tokens/{id}` takes it. */
export const TokenIdSchema = z.uuid();

export interface Credential {
  role: Role;
  /** The signed token's id; undefined for the admin token. */
  id?: string;
  /** Who, as history records it: `admin`, `worker:<name>`, ... */
  subject: string;
  dataplane?: DataplaneBinding;
}

/** Also read (unverified) by a data plane host for its host id: src/dataplane/credential.ts. */
export const TOKEN_PREFIX = 'cart1';
export const SIGNING_KEY_BYTES = 32;

export class TokenAuthority {
  private readonly revoked = new Set<string>();
  private readonly revocationListeners = new Map<string, Set<() => void>>();

  /** `revokedFile`: where revoked token ids are kept (one per line); without it, revocations last until a restart. */
  constructor(
    private readonly signingKey: Buffer,
    private readonly adminToken: string,
    private readonly revokedFile?: string,
  ) {
    const text = revokedFile ? readPrivateFile(revokedFile) : undefined;
    for (const line of text?.split('\n') ?? []) if (TokenIdSchema.safeParse(line.trim()).success) this.revoked.add(line.trim());
  }

  /** Revokes one signed token by id; true when it was not revoked before. Streams it opened are closed. */
  revoke(id: string): boolean {
    const valid = TokenIdSchema.parse(id);
    if (this.revoked.has(valid)) return false;
    if (this.revokedFile) appendPrivateFile(this.revokedFile, `${valid}\n`);
    this.revoked.add(valid);
    for (const close of this.revocationListeners.get(valid) ?? []) close();
    this.revocationListeners.delete(valid);
    return true;
  }

  /** Calls `close` if the credential's token is revoked while it lasts; returns how to stop listening. */
  whenRevoked(credential: Credential | undefined, close: () => void): () => void {
    const id = credential?.id;
    if (!id) return () => undefined;
    let listeners = this.revocationListeners.get(id);
    if (!listeners) this.revocationListeners.set(id, (listeners = new Set()));
    listeners.add(close);
    return () => {
      listeners.delete(close);
      if (listeners.size === 0) this.revocationListeners.delete(id);
    };
  }

  issue(request: TokenRequest, nowMs = Date.now()): { token: string; id: string } {
    const iat = Math.floor(nowMs / 1000);
    const claims: Claims = {
      v: 1,
      jti: randomUUID(),
      role: request.role,
      sub: request.name,
      iat,
      ...(request.validForSeconds ? { exp: iat + request.validForSeconds } : {}),
      ...(request.role === 'dataplane' ? { dataplane: request.dataplane } : {}),
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: `${TOKEN_PREFIX}.${payload}.${this.sign(payload)}`, id: claims.jti };
  }

  /** The credential a bearer token stands for, or undefined (unknown, forged, expired). */
  authenticate(token: string | undefined, nowMs = Date.now()): Credential | undefined {
    if (!token) return undefined;
    if (equalSecrets(token, this.adminToken)) return { role: 'admin', subject: 'admin' };
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX) return undefined;
    const [, payload, signature] = parts as [string, string, string];
    if (!equalSecrets(signature, this.sign(payload))) return undefined;
    let claims: Claims;
    try {
      claims = ClaimsSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    } catch {
      return undefined;
    }
    if (claims.exp !== undefined && claims.exp * 1000 <= nowMs) return undefined;
    if (claims.role === 'dataplane' && !claims.dataplane) return undefined;
    if (this.revoked.has(claims.jti)) return undefined;
    return { role: claims.role, id: claims.jti, subject: `${claims.role}:${claims.sub}`, ...(claims.dataplane ? { dataplane: claims.dataplane } : {}) };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.signingKey).update(`${TOKEN_PREFIX}.${payload}`).digest('base64url');
  }
}

export function bindingAllowsProxy(binding: DataplaneBinding, mesh: string, name: string): boolean {
  if (mesh !== binding.mesh) return false;
  if (binding.names?.includes(name)) return true;
  return binding.namePrefix !== undefined && name.startsWith(binding.namePrefix);
}

function equalSecrets(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The signing key next to the store, created on first start. A lost key only voids the tokens it signed. */
export function loadOrCreateSigningKey(keyFile: string): Buffer {
  const text = readPrivateFile(keyFile);
  if (text !== undefined) {
    const key = Buffer.from(text.trim(), 'hex');
    if (key.length !== SIGNING_KEY_BYTES) throw new Error(`token signing key ${keyFile} must hold ${SIGNING_KEY_BYTES} bytes as hex`);
    return key;
  }
  const key = randomBytes(SIGNING_KEY_BYTES);
  writePrivateFileExclusive(keyFile, `${key.toString('hex')}\n`);
  return key;
}
