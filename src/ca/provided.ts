/** `provided`: the user brings the CA certificate (chain, closest first) and its private key as data sources. */
import { isSelfSigned } from '../pki/certificate';
import { toPem } from '../pki/pem';
import type { Backend, ValidationIssue, ValidationResult } from '../mesh/schema';
import { CaMaterial, checkCaMaterial } from './ca-material';
import { loadDataSource, issueMessage } from './data-source';
import { leafValidityIssue, leafValidityMs } from './leaf-validity';
import { LocalCaIssuer } from './local-issuer';
import { CaBackend, CaConfigurationError, CaContext, Issuer } from './types';

async function loadMaterial(ctx: CaContext, backend: Backend, pathPrefix: string): Promise<ValidationResult & { material?: CaMaterial }> {
  const confPath = `${pathPrefix}.conf`;
  const conf = backend.conf ?? {};
  const cert = await loadDataSource(ctx, conf.cert, `${confPath}.cert`, 'the CA certificate');
  const key = await loadDataSource(ctx, conf.key, `${confPath}.key`, 'the CA private key');
  const errors: ValidationIssue[] = [];
  if (!cert.ok) errors.push(cert.issue);
  if (!key.ok) errors.push(key.issue);
  if (!cert.ok || !key.ok) return { errors, warnings: [] };
  return checkCaMaterial(cert.data, key.data, `${confPath}.cert`, `${confPath}.key`);
}

async function requireMaterial(ctx: CaContext, backend: Backend): Promise<CaMaterial> {
  const checked = await loadMaterial(ctx, backend, `backend "${backend.name}"`);
  const first = checked.errors[0];
  if (first || !checked.material) throw new CaConfigurationError(first ? issueMessage(first) : 'the provided CA cannot be loaded', first?.path);
  return checked.material;
}

export const providedBackend: CaBackend = {
  type: 'provided',

  async validate(ctx, backend, pathPrefix) {
    const result = await loadMaterial(ctx, backend, pathPrefix);
    const validity = leafValidityIssue(backend, pathPrefix);
    return { errors: validity ? [...result.errors, validity] : result.errors, warnings: result.warnings };
  },

  async ensure(ctx, backend) {
    await requireMaterial(ctx, backend);
  },

  async rootCertificates(ctx, backend) {
    // Like Kuma: proxies trust the whole provided chain.
    const { chain } = await requireMaterial(ctx, backend);
    return chain.map((c) => toPem('CERTIFICATE', c.der));
  },

  async openIssuer(ctx, backend): Promise<Issuer> {
    const { chain, key } = await requireMaterial(ctx, backend);
    const [signing, ...rest] = chain;
    if (!signing) throw new CaConfigurationError('the provided CA has no certificate');
    // Intermediates go with each leaf so peers can build the path to a trusted root.
    const intermediates = [signing, ...rest].filter((c) => !isSelfSigned(c)).map((c) => toPem('CERTIFICATE', c.der));
    return new LocalCaIssuer(ctx.mesh, signing, key, intermediates, leafValidityMs(backend));
  },
};
