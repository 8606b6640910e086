/** SPIFFE identities of mesh workloads: `spiffe://<mesh>/<service>`, carried as URI SANs. */
import type { X509Certificate } from 'node:crypto';

export function spiffeId(mesh: string, service: string): string {
  return `spiffe://${mesh}/${service}`;
}

/**
 * URI entries of a certificate's subjectAltName as Node renders it (`URI:a, DNS:b`). Node quotes
 * values holding separators as JSON strings, so a crafted SAN cannot smuggle in a second entry.
 */
export function uriSubjectAltNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const uris: string[] = [];
  let rest = subjectAltName;
  while (rest.length > 0) {
    const colon = rest.indexOf(':');
    if (colon < 0) break;
    const kind = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
    let value: string;
    if (rest.startsWith('"')) {
      const end = findClosingQuote(rest);
      value = JSON.parse(rest.slice(0, end + 1)) as string;
      rest = rest.slice(end + 1);
    } else {
      const comma = rest.indexOf(', ');
      value = comma < 0 ? rest : rest.slice(0, comma);
      rest = comma < 0 ? '' : rest.slice(comma);
    }
    if (kind === 'URI') uris.push(value);
    rest = rest.replace(/^, /, '');
  }
  return uris;
}

function findClosingQuote(quoted: string): number {
  for (let i = 1; i < quoted.length; i++) {
    if (quoted[i] === '\\') i++;
    else if (quoted[i] === '"') return i;
  }
  throw new Error('unterminated quoted subjectAltName value');
}

export function spiffeIdsOf(certificate: X509Certificate | undefined): string[] {
  return uriSubjectAltNames(certificate?.subjectAltName).filter((uri) => uri.startsWith('spiffe://'));
}

/** Server side: the peer must be a workload of this mesh (any service). */
export function isWorkloadOfMesh(certificate: X509Certificate | undefined, mesh: string): boolean {
  const prefix = `spiffe://${mesh}/`;
  return spiffeIdsOf(certificate).some((id) => id.startsWith(prefix) && id.length > prefix.length && !id.slice(prefix.length).includes('/'));
}
