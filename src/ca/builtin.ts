/**
 * `builtin`: the CA is generated once and stored as the secrets `<mesh>.ca-builtin-cert-<backend>` and
 * `<mesh>.ca-builtin-key-<backend>` (Kuma's names).
 *
 * Key type: Kuma generates RSA (`conf.caCert.RSAbits`, default 2048). We honour RSAbits when it is
 * given, but default to ECDSA P-256, which signs identity certificates faster than RSA (figures in
 * docs/performance.md).
 *
 * Each CA gets its own subject (`<mesh>-<backend> CA <random>`) and a random 126-bit serial: Kuma's
 * identical subjects and serial 0 confuse chain building while two builtin CAs are trusted together.
 */
import { BuiltinConfSchema, builtinCertSecretName, builtinKeySecretName, checkBuiltinBackend, type BuiltinConf } from '../mesh/backends/builtin';
import { parseKumaDuration } from '../mesh/duration';
import type { Backend } from '../mesh/schema';
import { Issues } from '../mesh/validate-issues';
import { TEN_YEARS_MS, caCommonName, generateCa } from '../pki/ca-certificate';
import { ECDSA_P256, KeySpec, generateKeyPair, parsePrivateKey, privateKeyToPem, rsa } from '../pki/keys';
import { toPem } from '../pki/pem';
import { CaMaterial, checkCaMaterial } from './ca-material';
import { CaConfigError, CaUnavailableError } from './errors';
import { leafValidityMs } from './leaf-validity';
import { LocalCaIssuer } from './local-issuer';
import { CaBackend, CaContext } from './types';

export { builtinCertSecretName, builtinKeySecretName };

/** The conf, checked by the same rules as the static validation (a CA is generated from it only once). */
function confOf(ctx: CaContext, backend: Backend): BuiltinConf {
  const issues = Issues.collect();
  checkBuiltinBackend(backend, issues, { meshName: ctx.mesh, knownSecrets: undefined });
  const first = issues.result.errors[0];
  const conf = BuiltinConfSchema.safeParse(backend.conf ?? {});
  if (first || !conf.success) throw new CaConfigError(`backend "${backend.name}": ${first ? `${first.path}: ${first.message}` : 'invalid conf'}`, { path: first?.path });
  return conf.data;
}

function keySpecOf(conf: BuiltinConf): KeySpec {
  const bits = conf.caCert?.RSAbits;
  return bits ? rsa(bits) : ECDSA_P256;
}

function caValidityMs(conf: BuiltinConf): number {
  const parsed = parseKumaDuration(conf.caCert?.expiration ?? '');
  return parsed && parsed > 0 ? parsed : TEN_YEARS_MS;
}

async function readSecret(ctx: CaContext, name: string): Promise<Buffer | undefined> {
  try {
    return await ctx.secrets.get(ctx.mesh, name);
  } catch (error) {
    throw new CaUnavailableError(`cannot read secret "${name}" of mesh "${ctx.mesh}": ${(error as Error).message}`);
  }
}

/** The stored CA, checked; undefined when none is stored yet. */
async function storedMaterial(ctx: CaContext, backend: Backend, issues: Issues = Issues.collect()): Promise<CaMaterial | undefined> {
  const certName = builtinCertSecretName(ctx.mesh, backend.name);
  const keyName = builtinKeySecretName(ctx.mesh, backend.name);
  const cert = await readSecret(ctx, certName);
  const key = await readSecret(ctx, keyName);
  if (!cert || !key) return undefined;
  const material = checkCaMaterial(cert, key, issues, issues);
  const first = issues.result.errors[0] ?? issues.result.warnings[0];
  if (!material) throw new CaConfigError(`the stored builtin CA of backend "${backend.name}" (secrets ${certName}, ${keyName}) is unusable: ${first?.message ?? 'unknown'}`);
  return material;
}

/**
 * Generates and stores the CA unless it exists. Concurrent callers agree: the key is stored first
 * (first writer wins), then whoever finds no certificate certifies *the stored key*, so every
 * certificate that could win matches it.
 */
async function ensureMaterial(ctx: CaContext, backend: Backend): Promise<CaMaterial> {
  const existing = await storedMaterial(ctx, backend);
  if (existing) return existing;
  const conf = confOf(ctx, backend);

  const keyName = builtinKeySecretName(ctx.mesh, backend.name);
  const certName = builtinCertSecretName(ctx.mesh, backend.name);
  let storedKeyPem = await readSecret(ctx, keyName);
  if (!storedKeyPem) {
    const candidate = await generateKeyPair(keySpecOf(conf));
    storedKeyPem = await storeSecret(ctx, keyName, Buffer.from(privateKeyToPem(candidate.privateKey)));
  }
  if (!(await readSecret(ctx, certName))) {
    let privateKey;
    try {
      privateKey = parsePrivateKey(storedKeyPem);
    } catch {
      throw new CaConfigError(`the stored builtin CA key of backend "${backend.name}" cannot be parsed`);
    }
    const ca = await generateCa({
      commonName: caCommonName(ctx.mesh, backend.name),
      organization: 'Kuma',
      privateKey,
      validityMs: caValidityMs(conf),
      uris: [`spiffe://${ctx.mesh}`],
    });
    await storeSecret(ctx, certName, Buffer.from(ca.certificatePem));
  }
  const material = await storedMaterial(ctx, backend);
  if (!material) throw new CaUnavailableError(`the builtin CA of backend "${backend.name}" was not stored`);
  return material;
}

async function storeSecret(ctx: CaContext, name: string, data: Buffer): Promise<Buffer> {
  try {
    return await ctx.secrets.putIfAbsent(ctx.mesh, name, data);
  } catch (error) {
    throw new CaUnavailableError(`cannot store secret "${name}" of mesh "${ctx.mesh}": ${(error as Error).message}`);
  }
}

export const builtinBackend: CaBackend = {
  type: 'builtin',

  /** A stored CA (from an earlier run) must still be usable; none stored yet is fine: ensure creates it. */
  async validate(ctx, backend, issues) {
    const found = Issues.collect();
    try {
      await storedMaterial(ctx, backend, found);
    } catch (error) {
      // An unusable stored CA is in `found` already; a secret store that does not answer
      // (CaUnavailableError) is transient: the registry decides what that means for the caller.
      if (!(error instanceof CaConfigError)) throw error;
    }
    const stored = `the stored CA (secrets ${builtinCertSecretName(ctx.mesh, backend.name)}, ${builtinKeySecretName(ctx.mesh, backend.name)})`;
    for (const issue of found.result.errors) issues.error(`${stored}: ${issue.message}`);
    for (const issue of found.result.warnings) issues.warn(`${stored}: ${issue.message}`);
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
    if (!ca) throw new CaConfigError(`the builtin CA of backend "${backend.name}" has no certificate`);
    return new LocalCaIssuer(ctx.mesh, ca, key, [], leafValidityMs(backend));
  },
};
