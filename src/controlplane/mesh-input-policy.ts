/**
 * What the API refuses in a Mesh, beyond the validation the CLI shares (src/mesh/validate.ts), because
 * the caller is remote and the control plane acts on its own host with its own credentials:
 * - `file` data sources (the control plane would read its own host's files);
 * - key material or tokens inline (they would be stored and served in the Mesh and its history);
 * - vault `auth` that is not exactly one well-formed method;
 * - lifetimes too short to work, and more backends than any rotation uses.
 * Also: which Secrets the mesh's backends depend on, so they cannot be deleted or spoiled.
 */
import { builtinCertSecretName, builtinKeySecretName } from '../ca/builtin';
import { parseDuration } from '../mesh/duration';
import type { Mesh } from '../mesh/schema';
import type { ErrorCause } from '../mesh/api-error';

export const MAX_BACKENDS = 16;
/** A proxy certificate renewed at 4/5 of its life: below this, renewal would run all the time. */
export const MIN_LEAF_LIFETIME_MS = 10 * 60_000;
export const MIN_CA_LIFETIME_MS = 60 * 60_000;

const DATA_SOURCE_KEYS = new Set(['secret', 'inline', 'inlineString', 'file']);
/** Data sources at these keys hold private keys or credentials. */
const SENSITIVE_KEY = /^(key|token|clientKey|password|secretId)$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface FoundDataSource {
  path: string;
  key: string;
  source: Obj;
}

/** Every data source inside a backend's conf, with its path. */
function dataSources(value: unknown, path: string, key: string, found: FoundDataSource[] = [], depth = 0): FoundDataSource[] {
  if (!isObj(value) || depth > 8) return found;
  const keys = Object.keys(value);
  if (keys.length > 0 && keys.every((k) => DATA_SOURCE_KEYS.has(k))) {
    found.push({ path, key, source: value });
    return found;
  }
  for (const k of keys) dataSources(value[k], `${path}.${k}`, k, found, depth + 1);
  return found;
}

function lifetime(value: unknown): number | undefined {
  return typeof value === 'string' ? parseDuration(value) : undefined;
}

export function apiMeshProblems(mesh: Mesh): ErrorCause[] {
  const causes: ErrorCause[] = [];
  const backends = mesh.mtls?.backends ?? [];
  if (backends.length > MAX_BACKENDS) causes.push({ field: 'mtls.backends', message: `at most ${MAX_BACKENDS} backends` });
  backends.slice(0, MAX_BACKENDS).forEach((backend, i) => {
    const base = `mtls.backends[${i}]`;
    for (const { path, key, source } of dataSources(backend.conf, `${base}.conf`, 'conf')) {
      if (source.file !== undefined) {
        causes.push({ field: `${path}.file`, message: 'file data sources are not accepted over the API (the control plane would read its own host\'s files): store the content in a Secret and use secret: <name>' });
      }
      if (SENSITIVE_KEY.test(key) && (source.inline !== undefined || source.inlineString !== undefined)) {
        causes.push({ field: `${path}.${source.inline !== undefined ? 'inline' : 'inlineString'}`, message: 'key material and tokens are not accepted inline over the API (the Mesh and its history are readable): store it in a Secret and use secret: <name>' });
      }
    }
    if (backend.type === 'vault') causes.push(...vaultAuthProblems(backend.conf, `${base}.conf.fromCp.auth`));
    const leafMs = lifetime(backend.dpCert?.rotation?.expiration);
    if (leafMs !== undefined && leafMs < MIN_LEAF_LIFETIME_MS) {
      causes.push({ field: `${base}.dpCert.rotation.expiration`, message: `a proxy certificate must live at least ${MIN_LEAF_LIFETIME_MS / 60_000} minutes (renewal starts at 4/5 of its life)` });
    }
    const caCert = isObj(backend.conf) && isObj(backend.conf.caCert) ? backend.conf.caCert : undefined;
    const caMs = lifetime(caCert?.expiration);
    if (caMs !== undefined && (caMs < MIN_CA_LIFETIME_MS || (leafMs !== undefined && caMs < leafMs))) {
      causes.push({ field: `${base}.conf.caCert.expiration`, message: `a CA must live at least ${MIN_CA_LIFETIME_MS / 3_600_000} hour and no shorter than the certificates it issues` });
    }
  });
  return causes;
}

function vaultAuthProblems(conf: Obj | undefined, path: string): ErrorCause[] {
  const fromCp = conf?.fromCp;
  const auth = isObj(fromCp) ? fromCp.auth : undefined;
  if (auth === undefined) return [];
  if (!isObj(auth)) return [{ field: path, message: 'must be a mapping with exactly one of token, tls' }];
  const methods = Object.keys(auth);
  if (methods.length !== 1 || !['token', 'tls'].includes(methods[0] as string)) {
    return [{ field: path, message: `must hold exactly one of token, tls (got ${methods.join(', ') || 'none'})` }];
  }
  if (methods[0] === 'token') return isObj(auth.token) ? [] : [{ field: `${path}.token`, message: 'must be a data source (secret: <name>)' }];
  const tls = auth.tls;
  if (!isObj(tls)) return [{ field: `${path}.tls`, message: 'must be a mapping with clientKey and clientCert' }];
  return (['clientKey', 'clientCert'] as const).filter((k) => !isObj(tls[k])).map((k) => ({ field: `${path}.tls.${k}`, message: 'must be a data source (secret: <name>)' }));
}

/** The Secrets the mesh's backends depend on: referenced by a data source, or a builtin CA's own. */
export function secretsInUse(mesh: Mesh | undefined): Map<string, { backend: string; generated: boolean }> {
  const used = new Map<string, { backend: string; generated: boolean }>();
  for (const backend of mesh?.mtls?.backends ?? []) {
    for (const { source } of dataSources(backend.conf, '', 'conf')) {
      if (typeof source.secret === 'string') used.set(source.secret, { backend: backend.name, generated: false });
    }
    if (backend.type === 'builtin') {
      for (const name of [builtinCertSecretName(mesh?.name ?? '', backend.name), builtinKeySecretName(mesh?.name ?? '', backend.name)]) used.set(name, { backend: backend.name, generated: true });
    }
  }
  return used;
}
