/**
 * `builtin` backend conf (Kuma's `BuiltinCertificateAuthorityConfig`) and its rules: Kuma's
 * `ValidateBackend` (the CA secret name it derives from the backend name), what Kuma's CA creation
 * refuses (`caCert.expiration` in Kuma's duration grammar), and our stricter key size. Pure.
 */
import { z } from 'zod';
import type { Backend } from '../schema';
import type { Issues } from '../validate-issues';
import { protoString, protoUint32 } from '../validate-proto';
import type { BackendCheckContext } from './context';
import { checkExpiration } from './lifetime';

export const BuiltinConfSchema = z.looseObject({
  caCert: z.looseObject({ RSAbits: protoUint32, expiration: protoString }).nullish(),
});
export type BuiltinConf = z.infer<typeof BuiltinConfSchema>;

export const MIN_RSA_BITS = 2048;
/** OpenSSL generates RSA keys up to this size. */
export const MAX_RSA_BITS = 16384;
/** Kuma's MaxBackendNameLength, applied to the secret name below. */
const MAX_SECRET_NAME_LENGTH = 255;

export const builtinCertSecretName = (mesh: string, backend: string): string => `${mesh}.ca-builtin-cert-${backend}`;
export const builtinKeySecretName = (mesh: string, backend: string): string => `${mesh}.ca-builtin-key-${backend}`;

/** govalidator.IsDNSName, which Kuma applies to the secret name (an IP address cannot occur: the name holds "ca-builtin-cert-"). */
const GOVALIDATOR_DNS_NAME = /^([a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$/;

function isDnsName(text: string): boolean {
  return text !== '' && text.replace(/\./g, '').length <= 255 && GOVALIDATOR_DNS_NAME.test(text);
}

export function checkBuiltinBackend(backend: Backend, issues: Issues, context: BackendCheckContext): void {
  const secretName = builtinCertSecretName(context.meshName, backend.name);
  if (secretName.length > MAX_SECRET_NAME_LENGTH) {
    issues.error(`Backend name is too long. Max length: ${MAX_SECRET_NAME_LENGTH} (for the secret "${context.meshName}.ca-builtin-cert-<name>" Kuma stores the CA in)`, 'name');
  }
  if (!isDnsName(secretName) || secretName !== secretName.toLowerCase()) {
    issues.error(
      `${JSON.stringify(backend.name)} name must be valid dns name: Kuma stores the CA in the secret "${context.meshName}.ca-builtin-cert-<name>", so use lowercase letters, digits, '-', '_' and '.', with at most ${63 - 'ca-builtin-cert-'.length} characters before a first '.'`,
      'name',
    );
  }
  const conf = issues.at('conf').parse(BuiltinConfSchema, backend.conf ?? {});
  if (!conf?.caCert) return;
  const bits = conf.caCert.RSAbits;
  if (bits !== undefined && bits !== null && bits !== 0 && (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS)) {
    issues.stricter(
      bits < MIN_RSA_BITS
        ? `${bits} bits is too weak: use at least ${MIN_RSA_BITS} (stricter than Kuma on purpose: a rotation to a weak CA would be refused by peers that require 2048-bit keys)`
        : `${bits} bits is more than OpenSSL can generate: use at most ${MAX_RSA_BITS} (stricter than Kuma, which would spend hours on such a key)`,
      'conf',
      'caCert',
      'RSAbits',
    );
  }
  checkExpiration(conf.caCert.expiration, issues.at('conf', 'caCert', 'expiration'), 'the CA');
}
