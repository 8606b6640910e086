/**
 * `ca-rotate token --role dataplane|worker|reader --name NAME --out FILE [...]`: has the control plane
 * sign a credential (the CLI itself runs with the admin token) and writes it to FILE with mode 0600.
 * The token is a secret: it is never printed; its id (what `ca-rotate revoke-token ID` takes) is.
 */
import { constants, openSync, writeSync, closeSync } from 'node:fs';
import { TokenIdSchema, type TokenRequest } from '../../controlplane/credentials';
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
  const { token, id } = await onControlPlane(settings, () => controlPlaneClient(settings).issueTokenWithId(request(o)));
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
  process.stdout.write(`${o.role} credential "${o.name}" written to ${o.out} (mode 0600), token id ${id}\n`);
  return 0;
}

/** `ca-rotate revoke-token ID`: that token is refused from now on, and the streams it opened close. */
export async function revokeTokenCommand(id: string, settings: Settings): Promise<number> {
  if (!TokenIdSchema.safeParse(id).success) throw new CliError(`"${id}" is not a token id (a UUID, as \`ca-rotate token\` printed it)`, EXIT_REFUSED);
  await onControlPlane(settings, () => controlPlaneClient(settings).revokeToken(id));
  process.stdout.write(`token ${id} revoked\n`);
  return 0;
}
