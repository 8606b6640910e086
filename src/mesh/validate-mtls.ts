/**
 * `mtls`: the rules across backends (Kuma's `validateMtls` and the CA managers' dispatch by type),
 * each backend's own rules coming from src/mesh/backends. Pure.
 */
import { BACKEND_CHECKS, type BackendCheckContext, checkExpiration } from './backends';
import { parseGoDuration } from './duration';
import { BACKEND_TYPES, type Backend, type BackendType, type Mesh } from './schema';
import type { Issues } from './validate-issues';

/** Kong Mesh backend types this project cannot rotate to. */
const KONG_MESH_ONLY_TYPES = ['acmpca', 'certmanager'];

export function checkMtls(mesh: Mesh, issues: Issues, context: BackendCheckContext): void {
  const mtls = mesh.mtls;
  if (!mtls) return;
  const backends = mtls.backends ?? [];
  // Kuma OSS allows one backend (AllowedMTLSBackends = 1); Kong Mesh, whose rotation this is, allows several.
  const firstIndex = new Map<string, number>();
  backends.forEach((backend, index) => {
    const at = issues.at('backends', index);
    const earlier = firstIndex.get(backend.name);
    if (earlier !== undefined) at.error(`${JSON.stringify(backend.name)} name is already used for another backend (mtls.backends[${earlier}])`, 'name');
    else firstIndex.set(backend.name, index);
    if (backend.name === '') at.warn('a backend without a name can be neither enabled nor rotated to', 'name');
    checkBackendFields(backend, at);
    checkBackendType(backend, at, context, mtls.skipValidation === true);
  });
  checkEnabledBackend(mtls.enabledBackend, backends, issues);
}

function checkBackendFields(backend: Backend, at: Issues): void {
  // Kuma parses the expiration whenever dpCert is present, so a dpCert without one is refused too.
  if (backend.dpCert !== undefined && backend.dpCert !== null) {
    const expiration = backend.dpCert.rotation?.expiration;
    if (expiration === undefined || expiration === null || expiration === '') {
      at.error('has to be a valid format: dpCert is set, so Kuma needs rotation.expiration (e.g. 24h)', 'dpCert', 'rotation', 'expiration');
    } else {
      checkExpiration(expiration, at.at('dpCert', 'rotation', 'expiration'), 'data plane certificates');
    }
  }
  checkRequestTimeout(backend.dpCert?.requestTimeout, at.at('dpCert', 'requestTimeout'));
  checkRequestTimeout(backend.rootChain?.requestTimeout, at.at('rootChain', 'requestTimeout'));
}

/** A google.protobuf.Duration: Kuma's decoder reads it with Go's time.ParseDuration. */
function checkRequestTimeout(text: string | undefined, at: Issues): void {
  if (text === undefined) return;
  const ms = parseGoDuration(text);
  if (ms === undefined) at.error(`${JSON.stringify(text)} is not a duration: use Go's form, e.g. 10s, 1m30s or 500ms`);
  else if (ms <= 0) at.warn(`${JSON.stringify(text)} is not a positive duration: requests would time out at once`);
}

function checkBackendType(backend: Backend, at: Issues, context: BackendCheckContext, skipValidation: boolean): void {
  if (!(BACKEND_TYPES as readonly string[]).includes(backend.type)) {
    const why = KONG_MESH_ONLY_TYPES.includes(backend.type)
      ? 'a Kong Mesh type mesh-ca-rotator cannot issue with'
      : 'could not find installed plugin for this type';
    at.error(`${JSON.stringify(backend.type)}: ${why}; use one of ${BACKEND_TYPES.join(', ')}`, 'type');
    return;
  }
  // Kuma skips the CA managers' ValidateBackend under skipValidation; our stricter rules still hold.
  const backendIssues = skipValidation ? at.notEnforced('mtls.skipValidation is true') : at;
  BACKEND_CHECKS[backend.type as BackendType](backend, backendIssues, context);
}

function checkEnabledBackend(enabledBackend: string | undefined, backends: readonly Backend[], issues: Issues): void {
  if (enabledBackend === undefined || enabledBackend === '') {
    if (backends.length > 0) issues.warn('mTLS is disabled: backends are defined but none is enabled', 'enabledBackend');
    return;
  }
  const names = backends.map((backend) => backend.name).filter((name) => name !== '');
  if (!names.includes(enabledBackend)) {
    const choices = names.length > 0 ? `one of ${names.map((n) => `"${n}"`).join(', ')}` : 'defined in mtls.backends, which is empty';
    issues.error(`"${enabledBackend}" has to be set to one of the backends in the mesh: ${choices}`, 'enabledBackend');
  }
}
