/**
 * TLS for the control plane's API. Either a certificate you give (PEM files), or one the control
 * plane generates on first start next to its store: a CA of its own (its private key is dropped once
 * the server certificate is signed) and a server certificate for the names it is reached by. Clients
 * trust the CA file (`CA_ROTATE_CP_CA_FILE`).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { generateServingCertificate } from '../pki/ca-certificate';
import { readPrivateFile, refuseSymlink, writePrivateFileExclusive } from './private-files';

export type ApiTlsOption =
  /** Plain HTTP (tests of other rooms, or a TLS-terminating proxy in front). */
  | false
  /** Generate on first start; `names` are the host names and addresses clients use (127.0.0.1, localhost and ::1 always). */
  | { generate: true; names?: string[] }
  | { certFile: string; keyFile: string; caFile?: string };

export interface ApiTls {
  cert: string;
  key: string;
  /** The CA clients should trust, when known. */
  caPem: string | undefined;
  caFile: string | undefined;
}

const VALIDITY_MS = 10 * 365 * 24 * 3600 * 1000;
const ALWAYS = ['localhost', '127.0.0.1', '::1'];

export function apiTlsFiles(dbFile: string): { cert: string; key: string; ca: string } {
  return { cert: `${dbFile}.api.crt`, key: `${dbFile}.api.key`, ca: `${dbFile}.api-ca.crt` };
}

export async function loadApiTls(dbFile: string, option: Exclude<ApiTlsOption, false>): Promise<ApiTls> {
  if ('certFile' in option) {
    const key = readPrivateFile(option.keyFile);
    if (key === undefined) throw new Error(`TLS key ${option.keyFile} does not exist`);
    return { cert: readFileSync(option.certFile, 'utf8'), key, caPem: option.caFile ? readFileSync(option.caFile, 'utf8') : undefined, caFile: option.caFile };
  }
  const files = apiTlsFiles(dbFile);
  const key = readPrivateFile(files.key);
  if (key !== undefined) return { cert: readFileSync(files.cert, 'utf8'), key, caPem: readFileSync(files.ca, 'utf8'), caFile: files.ca };
  const names = [...new Set([...(option.names ?? []), ...ALWAYS])];
  const server = await generateServingCertificate({
    commonName: `mesh-ca-rotator control plane API ${names[0]}`,
    dnsNames: names.filter((n) => isIP(n) === 0),
    ipAddresses: names.filter((n) => isIP(n) !== 0),
    validityMs: VALIDITY_MS,
  });
  for (const file of [files.cert, files.ca]) refuseSymlink(file, 'TLS file');
  writePrivateFileExclusive(files.ca, server.caPem);
  writePrivateFileExclusive(files.cert, `${server.certificatePem}${server.caPem}`);
  writePrivateFileExclusive(files.key, server.privateKeyPem);
  return { cert: `${server.certificatePem}${server.caPem}`, key: server.privateKeyPem, caPem: server.caPem, caFile: files.ca };
}
