/**
 * The Mesh's name: Kuma's API server takes a lowercase RFC 1123 subdomain of at most 253 characters
 * (ValidateMeta), and its mesh manager at most 63 on creation (the name becomes part of DNS names).
 * Kubernetes applies the same subdomain rule to metadata.name. Pure.
 */
import type { Issues } from './validate-issues';

const RFC_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_NAME = 253;
const MAX_MESH_NAME = 63;

export function checkMeshName(name: string, issues: Issues): void {
  if (name === '') {
    issues.error('cannot be empty');
    return;
  }
  const shown = JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
  if (name.length > MAX_NAME) issues.error(`${shown}: value length must less or equal ${MAX_NAME}`);
  else if (!RFC_1123_SUBDOMAIN.test(name)) {
    issues.error(`${shown}: invalid characters. A lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`);
  }
  if (name.length > MAX_MESH_NAME) issues.error(`${shown} cannot be longer than ${MAX_MESH_NAME} characters`);
}
