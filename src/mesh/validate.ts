/**
 * Static validation of a Mesh: everything Kuma / Kong Mesh would reject that needs no crypto and no
 * network (the CA backends add their own checks in src/ca/). Every issue has an exact path in the
 * Universal form, e.g. `mtls.backends[1].conf.cert.secret`. Pure.
 */
import { isBase64 } from './base64';
import { parseDocuments } from './documents';
import { parseDuration } from './duration';
import { BACKEND_TYPES, type Backend, type Mesh, type Secret, type ValidationIssue, type ValidationResult } from './schema';
import { isPlainObject, type DocumentFormat } from './yaml';

export const DATA_SOURCE_KEYS = ['secret', 'inline', 'inlineString', 'file'] as const;
export const BACKEND_MODES = ['STRICT', 'PERMISSIVE'] as const;

/** Kubernetes' DNS-1123 label: what Kuma accepts as a backend name (it becomes part of resource names). */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_LABEL_MAX = 63;
const MIN_RSA_BITS = 2048;
const DURATION_EXAMPLES = 'e.g. 24h, 1h30m, 10s, 500ms, 1d or 10y';

/** Collects issues for one mesh; `knownSecrets` undefined means "do not check secret references". */
class Checker {
  readonly errors: ValidationIssue[] = [];
  readonly warnings: ValidationIssue[] = [];

  constructor(
    readonly meshName: string,
    readonly knownSecrets: ReadonlySet<string> | undefined,
  ) {}

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }
}

export function validateMesh(mesh: Mesh, knownSecretNames: ReadonlySet<string> | undefined): ValidationResult {
  const check = new Checker(mesh.name, knownSecretNames);
  checkMeshName(check, mesh.name);
  const mtls = mesh.mtls;
  if (mtls === undefined) return { errors: check.errors, warnings: check.warnings };
  if (!isPlainObject(mtls)) {
    check.error('mtls', 'must be a mapping with enabledBackend and backends');
    return { errors: check.errors, warnings: check.warnings };
  }
  const backends: unknown = mtls.backends ?? [];
  if (!Array.isArray(backends)) check.error('mtls.backends', 'must be a list of backends');
  const list = Array.isArray(backends) ? backends : [];
  list.forEach((backend: unknown, index) => checkBackend(check, backend, `mtls.backends[${index}]`));
  checkUniqueNames(check, list);
  checkEnabledBackend(check, mtls.enabledBackend, list);
  return { errors: check.errors, warnings: check.warnings };
}

/** Kuma's resource-name rule; the mesh name also ends up in every SPIFFE ID (spiffe://<mesh>/<service>). */
const MESH_NAME = /^[a-z0-9._-]+$/;
const MESH_NAME_MAX = 253;

function checkMeshName(check: Checker, name: unknown): void {
  if (typeof name !== 'string' || name === '') check.error('name', 'is required: the name of the mesh');
  else if (name.length > MESH_NAME_MAX || !MESH_NAME.test(name)) {
    check.error('name', `${JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name)} is not a valid mesh name: use at most ${MESH_NAME_MAX} lowercase letters, digits, '.', '-' and '_'`);
  }
}

function backendNames(backends: readonly unknown[]): string[] {
  return backends.map((backend) => (isPlainObject(backend) && typeof backend.name === 'string' ? backend.name : ''));
}

function checkUniqueNames(check: Checker, backends: readonly unknown[]): void {
  const firstIndex = new Map<string, number>();
  backendNames(backends).forEach((name, index) => {
    const earlier = firstIndex.get(name);
    if (name !== '' && earlier !== undefined) {
      check.error(`mtls.backends[${index}].name`, `"${name}" is already the name of mtls.backends[${earlier}]: backend names must be unique`);
    } else if (earlier === undefined) {
      firstIndex.set(name, index);
    }
  });
}

function checkEnabledBackend(check: Checker, enabledBackend: unknown, backends: readonly unknown[]): void {
  if (enabledBackend === undefined || enabledBackend === '') {
    if (backends.length > 0) check.warn('mtls.enabledBackend', 'mTLS is disabled: backends are defined but none is enabled');
    return;
  }
  if (typeof enabledBackend !== 'string') {
    check.error('mtls.enabledBackend', 'must be the name of one of the backends');
    return;
  }
  const names = backendNames(backends).filter((name) => name !== '');
  if (!names.includes(enabledBackend)) {
    const choices = names.length > 0 ? `one of ${names.map((n) => `"${n}"`).join(', ')}` : 'defined in mtls.backends, which is empty';
    check.error('mtls.enabledBackend', `"${enabledBackend}" is not a backend of this mesh: it has to be ${choices}`);
  }
}

function checkBackend(check: Checker, value: unknown, path: string): void {
  if (!isPlainObject(value)) {
    check.error(path, 'must be a mapping with name, type and conf');
    return;
  }
  const backend = value as Backend;
  checkBackendName(check, backend.name, `${path}.name`);
  checkDurations(check, backend, path);
  if (backend.mode !== undefined && !(BACKEND_MODES as readonly unknown[]).includes(backend.mode)) {
    check.error(`${path}.mode`, `${JSON.stringify(backend.mode)} is not a mode: use STRICT or PERMISSIVE`);
  }
  if (backend.conf !== undefined && !isPlainObject(backend.conf)) {
    check.error(`${path}.conf`, 'must be a mapping');
    return;
  }
  switch (backend.type) {
    case 'builtin':
      return checkBuiltinConf(check, backend.conf, `${path}.conf`);
    case 'provided':
      return checkProvidedConf(check, backend.conf, `${path}.conf`);
    case 'vault':
      return checkVaultConf(check, backend.conf, `${path}.conf`);
    default:
      check.error(`${path}.type`, `unknown backend type ${JSON.stringify(backend.type)}: use one of ${BACKEND_TYPES.join(', ')}`);
  }
}

function checkBackendName(check: Checker, name: unknown, path: string): void {
  if (typeof name !== 'string' || name === '') {
    check.error(path, 'is required: a backend needs a name');
  } else if (name.length > DNS_1123_LABEL_MAX || !DNS_1123_LABEL.test(name)) {
    check.error(path, `"${name}" is not a valid backend name: use at most ${DNS_1123_LABEL_MAX} lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. ca-2)`);
  }
}

function checkDuration(check: Checker, value: unknown, path: string): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || parseDuration(value) === undefined) {
    check.error(path, `${JSON.stringify(value)} is not a duration: use a positive number with a unit, ${DURATION_EXAMPLES}`);
  }
}

function checkDurations(check: Checker, backend: Backend, path: string): void {
  const dpCert: unknown = backend.dpCert;
  if (isPlainObject(dpCert)) {
    if (isPlainObject(dpCert.rotation)) checkDuration(check, dpCert.rotation.expiration, `${path}.dpCert.rotation.expiration`);
    checkDuration(check, dpCert.requestTimeout, `${path}.dpCert.requestTimeout`);
  }
  const rootChain: unknown = backend.rootChain;
  if (isPlainObject(rootChain)) checkDuration(check, rootChain.requestTimeout, `${path}.rootChain.requestTimeout`);
}

function checkBuiltinConf(check: Checker, conf: Record<string, unknown> | undefined, path: string): void {
  const caCert = conf?.caCert;
  if (caCert === undefined) return;
  if (!isPlainObject(caCert)) {
    check.error(`${path}.caCert`, 'must be a mapping with RSAbits and expiration');
    return;
  }
  const bits = caCert.RSAbits;
  if (bits !== undefined && (typeof bits !== 'number' || !Number.isInteger(bits) || bits < MIN_RSA_BITS)) {
    check.error(`${path}.caCert.RSAbits`, `${JSON.stringify(bits)} is not a usable RSA key size: use a whole number of at least ${MIN_RSA_BITS} (e.g. 2048 or 4096)`);
  }
  checkDuration(check, caCert.expiration, `${path}.caCert.expiration`);
}

function checkProvidedConf(check: Checker, conf: Record<string, unknown> | undefined, path: string): void {
  if (conf === undefined) {
    check.error(path, 'a provided backend needs conf.cert and conf.key: the CA certificate and its private key');
    return;
  }
  requireDataSource(check, conf.cert, `${path}.cert`, 'the CA certificate (PEM)', false);
  requireDataSource(check, conf.key, `${path}.key`, 'the CA private key (PEM)', true);
}

/** Kong Mesh's vault backend: the control plane (`fromCp`) asks Vault's PKI to sign. */
function checkVaultConf(check: Checker, conf: Record<string, unknown> | undefined, path: string): void {
  const fromCp = conf?.fromCp;
  if (!isPlainObject(fromCp)) {
    check.error(`${path}.fromCp`, 'a vault backend needs conf.fromCp with address, pki, role and auth');
    return;
  }
  const at = `${path}.fromCp`;
  checkVaultAddress(check, fromCp.address, `${at}.address`);
  requireText(check, fromCp.pki, `${at}.pki`, 'the path of the PKI secrets engine in Vault (e.g. kuma-pki-default)');
  requireText(check, fromCp.role, `${at}.role`, 'the PKI role that signs data plane certificates (e.g. dataplane-proxies)');
  checkVaultTls(check, fromCp.tls, `${at}.tls`);
  checkVaultAuth(check, fromCp.auth, `${at}.auth`);
}

function checkVaultAddress(check: Checker, address: unknown, path: string): void {
  if (!requireText(check, address, path, 'the Vault server URL (e.g. https://vault.example.com:8200)')) return;
  if (!/^https?:\/\/[^/\s]+/.test(address as string)) {
    check.error(path, `${JSON.stringify(address)} is not a Vault URL: write it as http(s)://host:port`);
  }
}

function checkVaultTls(check: Checker, tls: unknown, path: string): void {
  if (tls === undefined) return;
  if (!isPlainObject(tls)) {
    check.error(path, 'must be a mapping (caCert, skipVerify, serverName)');
    return;
  }
  if (tls.caCert !== undefined) requireDataSource(check, tls.caCert, `${path}.caCert`, 'the CA that signed the Vault server certificate', false);
}

const VAULT_AUTH_METHODS = ['token', 'tls', 'aws'] as const;

function checkVaultAuth(check: Checker, auth: unknown, path: string): void {
  const present = isPlainObject(auth) ? VAULT_AUTH_METHODS.filter((method) => auth[method] !== undefined && auth[method] !== null) : [];
  if (!isPlainObject(auth) || present.length === 0) {
    check.error(path, `a vault backend needs auth: one of ${VAULT_AUTH_METHODS.join(', ')} (e.g. auth.token.secret naming a Secret that holds a Vault token)`);
    return;
  }
  if (present.length > 1) {
    check.error(path, `has ${present.join(' and ')}: use exactly one auth method`);
    return;
  }
  if (auth.token !== undefined) requireDataSource(check, auth.token, `${path}.token`, 'a Vault token', true);
  if (auth.tls !== undefined) {
    if (!isPlainObject(auth.tls)) {
      check.error(`${path}.tls`, 'must be a mapping with clientKey and clientCert');
      return;
    }
    requireDataSource(check, auth.tls.clientKey, `${path}.tls.clientKey`, 'the client private key (PEM)', true);
    requireDataSource(check, auth.tls.clientCert, `${path}.tls.clientCert`, 'the client certificate (PEM)', false);
  }
}

function requireText(check: Checker, value: unknown, path: string, what: string): boolean {
  if (typeof value === 'string' && value.trim() !== '') return true;
  check.error(path, value === undefined ? `is required: ${what}` : `must be a non-empty string: ${what}`);
  return false;
}

/**
 * A Kuma data source: exactly one of secret / inline (base64) / inlineString / file.
 * `sensitive` sources (private keys, tokens) should live in Secrets: inline ones end up in every
 * copy of the Mesh, including the rotation's workflow history.
 */
function requireDataSource(check: Checker, value: unknown, path: string, what: string, sensitive: boolean): void {
  if (value === undefined || value === null) {
    check.error(path, `is required: ${what}, as a data source (secret, inline, inlineString or file)`);
    return;
  }
  if (!isPlainObject(value)) {
    check.error(path, `must be a data source: a mapping with exactly one of ${DATA_SOURCE_KEYS.join(', ')}`);
    return;
  }
  const present = DATA_SOURCE_KEYS.filter((key) => value[key] !== undefined && value[key] !== null);
  if (present.length === 0) {
    check.error(path, `has none of ${DATA_SOURCE_KEYS.join(', ')}: say where ${what} comes from (e.g. secret: <name of a Secret>)`);
    return;
  }
  if (present.length > 1) {
    check.error(path, `has both ${present.join(' and ')}: use exactly one of ${DATA_SOURCE_KEYS.join(', ')}`);
    return;
  }
  const key = present[0] as (typeof DATA_SOURCE_KEYS)[number];
  checkDataSourceValue(check, key, value[key], `${path}.${key}`);
  if (sensitive && (key === 'inline' || key === 'inlineString')) {
    check.warn(`${path}.${key}`, `${what} is written into the Mesh itself: anyone who can read the Mesh can read it; prefer secret: <name>`);
  }
}

function checkDataSourceValue(check: Checker, key: (typeof DATA_SOURCE_KEYS)[number], value: unknown, path: string): void {
  if (typeof value !== 'string' || value === '') {
    check.error(path, 'must be a non-empty string');
    return;
  }
  if (key === 'inline' && !isBase64(value)) {
    check.error(path, 'is not valid base64: inline holds base64-encoded bytes (use inlineString for PEM text)');
  }
  if (key === 'secret' && check.knownSecrets && !check.knownSecrets.has(value)) {
    check.error(path, `no Secret named "${value}" in mesh "${check.meshName}": define it (a Secret document in the same file) before the Mesh uses it`);
  }
}

export interface DocumentsValidation {
  valid: boolean;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
  format?: DocumentFormat;
  mesh?: Mesh;
  secrets?: Secret[];
}

/** What `ca-rotate validate -f FILE` checks before the CA backends' own crypto checks. Never throws. */
export function validateDocuments(text: string): DocumentsValidation {
  const parsed = parseDocuments(text);
  if (!parsed.ok) return { valid: false, errors: parsed.errors, warnings: parsed.warnings };
  const known = new Set(parsed.secrets.filter((secret) => secret.mesh === parsed.mesh.name).map((secret) => secret.name));
  const result = validateMesh(parsed.mesh, known);
  return {
    valid: result.errors.length === 0,
    errors: result.errors,
    warnings: [...parsed.warnings, ...result.warnings],
    format: parsed.format,
    mesh: parsed.mesh,
    secrets: parsed.secrets,
  };
}
