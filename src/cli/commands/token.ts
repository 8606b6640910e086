/**
 * `ca-rotate token --role dataplane|worker|reader --name NAME --out FILE [...]`: has the control plane
 * sign a credential (the CLI itself runs with the admin token) and writes it to FILE with mode 0600.
 * The token is a secret: it is never printed.
 */
import { constants, openSync, writeSync, closeSync } from 'node:fs';
import type { TokenRequest } from '../../controlplane/credentials';
import { controlPlaneClient, onControlPlane } from '../control-plane';
import { CliError, EXIT_REFUSED } from '../errors';
import type { Settings } from '../settings';

export interface TokenCommandOptions {
  role: 'dataplane' | 'worker' | 'reader';
  name: string;
  out: string;
  validFor?: number;
  mesh?: string;
  host?: string;
  namePrefix?: string;
  proxy?: string[];
  service?: string[];
}

function request(o: TokenCommandOptions): TokenRequest {
  const validForSeconds = o.validFor;
  if (o.role !== 'dataplane') return { role: o.role, name: o.name, ...(validForSeconds ? { validForSeconds } : {}) };
  const missing = [!o.mesh && '--mesh', !o.host && '--host', !o.service?.length && '--service', !o.namePrefix && !o.proxy?.length && '--name-prefix or --proxy'].filter(Boolean);
  if (missing.length > 0) throw new CliError(`a data plane credential is bound to a mesh, a host, its proxies and services: ${missing.join(', ')} required`, EXIT_REFUSED);
  return {
    role: 'dataplane',
    name: o.name,
    ...(validForSeconds ? { validForSeconds } : {}),
    dataplane: {
      mesh: o.mesh as string,
      host: o.host as string,
      services: o.service as string[],
      ...(o.namePrefix ? { namePrefix: o.namePrefix } : {}),
      ...(o.proxy?.length ? { names: o.proxy } : {}),
    },
  };
}

export async function tokenCommand(o: TokenCommandOptions, settings: Settings): Promise<number> {
  const token = await onControlPlane(settings, () => controlPlaneClient(settings).issueToken(request(o)));
  let fd: number;
  try {
    fd = openSync(o.out, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw new CliError(`cannot create ${o.out} (it must not exist yet): ${(err as Error).message}`, EXIT_REFUSED);
  }
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  process.stdout.write(`${o.role} credential "${o.name}" written to ${o.out} (mode 0600)\n`);
  return 0;
}
