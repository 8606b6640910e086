/**
 * `builtin`: the CA is generated once and stored as the secrets `<mesh>.ca-builtin-cert-<backend>` and
 * `<mesh>.ca-builtin-key-<backend>` (Kuma's names).
 *
 * Key type: Kuma generates RSA (`conf.caCert.RSAbits`, default 2048). We honour RSAbits when it is
 * given, but default to ECDSA P-256. Measured with bench/issue.ts on the shared 2-core box (CSR
 * verification included, two signing threads): ECDSA P-256 CA 4,400-6,500 certificates/s, RSA-2048 CA
 * about 2,900/s, below the 5,000/s target for re-issuing 10,000 proxies.
 *
 * Each CA gets its own subject (`<mesh>-<backend> CA <random>`) and a random 126-bit serial: Kuma's
 * identical subjects and serial 0 confuse chain building while two builtin CAs are trusted together.
 */
import { parseDuration } from '../mesh/duration';
import type { Backend, ValidationIssue } from '../mesh/schema';
import { TEN_YEARS_MS, caCommonName, generateCa } from '../pki/ca-certificate';
import { ECDSA_P256, KeySpec, generateKeyPair, parsePrivateKey, privateKeyToPem, rsa } from '../pki/keys';
import { toPem } from '../pki/pem';
import { CaMaterial, MIN_RSA_BITS, checkCaMaterial } from './ca-material';
import { issueMessage } from './data-source';
import { leafValidityIssue, leafValidityMs } from './leaf-validity';
import { LocalCaIssuer } from './local-issuer';
import { CaBackend, CaConfigurationError, CaContext } from './types';

export const builtinCertSecretName = (mesh: string, backend: string): string => `${mesh}.ca-builtin-cert-${backend}`;
export const builtinKeySecretName = (mesh: string, backend: string): string => `${mesh}.ca-builtin-key-${backend}`;

interface CaCertConf {
  RSAbits?: unknown;
  expiration?: unknown;
}

function caCertConf(backend: Backend): CaCertConf {
  const value = backend.conf?.caCert;
  return value && typeof value === 'object' ? (value as CaCertConf) : {};
}

function confIssues(backend: Backend, pathPrefix: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { RSAbits, expiration } = caCertConf(backend);
  if (RSAbits !== undefined && (typeof RSAbits !== 'number' || !Number.isInteger(RSAbits) || RSAbits < MIN_RSA_BITS || RSAbits > 8192)) {
    issues.push({ path: `${pathPrefix}.conf.caCert.RSAbits`, message: `must be a whole number of bits between ${MIN_RSA_BITS} and 8192` });
  }
  const expirationMs = typeof expiration === 'string' ? parseDuration(expiration) : undefined;
  if (expiration !== undefined && !(expirationMs !== undefined && expirationMs > 0)) {
    issues.push({ path: `${pathPrefix}.conf.caCert.expiration`, message: 'must be a positive duration (e.g. 10y, 8760h)' });
  }
  const validity = leafValidityIssue(backend, pathPrefix);
  if (validity) issues.push(validity);
  return issues;
}

function keySpecOf(backend: Backend): KeySpec {
  const { RSAbits } = caCertConf(backend);
  return typeof RSAbits === 'number' ? rsa(RSAbits) : ECDSA_P256;
}

function caValidityMs(backend: Backend): number {
  const { expiration } = caCertConf(backend);
  const parsed = typeof expiration === 'string' ? parseDuration(expiration) : undefined;
  return parsed && parsed > 0 ? parsed : TEN_YEARS_MS;
}

async function storedMaterial(ctx: CaContext, backend: Backend): Promise<CaMaterial | undefined> {
  const cert = await ctx.secrets.get(ctx.mesh, builtinCertSecretName(ctx.mesh, backend.name));
  const key = await ctx.secrets.get(ctx.mesh, builtinKeySecretName(ctx.mesh, backend.name));
  if (!cert || !key) return undefined;
  const checked = checkCaMaterial(cert, key, `secret ${builtinCertSecretName(ctx.mesh, backend.name)}`, `secret ${builtinKeySecretName(ctx.mesh, backend.name)}`);
  const first = checked.errors[0];
  if (first || !checked.material) throw new CaConfigurationError(`the stored builtin CA of backend "${backend.name}" is unusable: ${first ? issueMessage(first) : 'unknown'}`);
  return checked.material;
}

/**
 * Generates and stores the CA unless it exists. Concurrent callers agree: the key is stored first
 * (first writer wins), then whoever finds no certificate certifies *the stored key*, so every
 * certificate that could win matches it.
 */
async function ensureMaterial(ctx: CaContext, backend: Backend): Promise<CaMaterial> {
  const existing = await storedMaterial(ctx, backend);
  if (existing) return existing;
  const problems = confIssues(backend, `backend "${backend.name}"`);
  if (problems[0]) throw new CaConfigurationError(issueMessage(problems[0]), problems[0].path);

  const keyName = builtinKeySecretName(ctx.mesh, backend.name);
  const certName = builtinCertSecretName(ctx.mesh, backend.name);
  let storedKeyPem = await ctx.secrets.get(ctx.mesh, keyName);
  if (!storedKeyPem) {
    const candidate = await generateKeyPair(keySpecOf(backend));
    storedKeyPem = await ctx.secrets.putIfAbsent(ctx.mesh, keyName, Buffer.from(privateKeyToPem(candidate.privateKey)));
  }
  if (!(await ctx.secrets.get(ctx.mesh, certName))) {
    let privateKey;
    try {
      privateKey = parsePrivateKey(storedKeyPem);
    } catch {
      throw new CaConfigurationError(`the stored builtin CA key of backend "${backend.name}" cannot be parsed`);
    }
    const ca = await generateCa({
      commonName: caCommonName(ctx.mesh, backend.name),
      organization: 'Kuma',
      privateKey,
      validityMs: caValidityMs(backend),
      uris: [`spiffe://${ctx.mesh}`],
    });
    await ctx.secrets.putIfAbsent(ctx.mesh, certName, Buffer.from(ca.certificatePem));
  }
  const material = await storedMaterial(ctx, backend);
  if (!material) throw new CaConfigurationError(`the builtin CA of backend "${backend.name}" was not stored`);
  return material;
}

export const builtinBackend: CaBackend = {
  type: 'builtin',

  async validate(ctx, backend, pathPrefix) {
    const errors = confIssues(backend, pathPrefix);
    try {
      await storedMaterial(ctx, backend);
    } catch (error) {
      errors.push({ path: `${pathPrefix}`, message: (error as Error).message });
    }
    return { errors, warnings: [] };
  },

  async ensure(ctx, backend) {
    await ensureMaterial(ctx, backend);
  },

  async rootCertificates(ctx, backend) {
    const { chain } = await ensureMaterial(ctx, backend);
    return chain.map((c) => toPem('CERTIFICATE', c.der));
  },

  async openIssuer(ctx, backend) {
    const { chain, key } = await ensureMaterial(ctx, backend);
    const [ca] = chain;
    if (!ca) throw new CaConfigurationError(`the builtin CA of backend "${backend.name}" has no certificate`);
    return new LocalCaIssuer(ctx.mesh, ca, key, [], leafValidityMs(backend));
  },
};
