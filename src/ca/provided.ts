/** `provided`: the user brings the CA certificate (chain, closest first) and its private key as data sources. */
import { ProvidedConfSchema } from '../mesh/backends/provided';
import type { Backend } from '../mesh/schema';
import { Issues } from '../mesh/validate-issues';
import { isSelfSigned } from '../pki/certificate';
import { toPem } from '../pki/pem';
import { CaMaterial, checkCaMaterial } from './ca-material';
import { loadDataSource, loadFailure } from './data-source';
import { CaConfigError } from './errors';
import { leafValidityMs } from './leaf-validity';
import { LocalCaIssuer } from './local-issuer';
import { CaBackend, CaContext, Issuer } from './types';

/**
 * Loads and checks the material, reporting to `issues` (rooted at the backend). Returns it when
 * usable; throws only for a secret store that did not answer (transient).
 */
async function loadMaterial(ctx: CaContext, backend: Backend, issues: Issues): Promise<CaMaterial | undefined> {
  const conf = issues.at('conf').parse(ProvidedConfSchema, backend.conf ?? {});
  if (!conf) return undefined;
  const cert = await loadDataSource(ctx, conf.cert, 'conf.cert', 'the CA certificate');
  const key = await loadDataSource(ctx, conf.key, 'conf.key', 'the CA private key');
  for (const loaded of [cert, key]) {
    if (loaded.ok) continue;
    if (loaded.transient) throw loadFailure(loaded);
    issues.error(loaded.issue.message, loaded.issue.path);
  }
  if (!cert.ok || !key.ok) return undefined;
  return checkCaMaterial(cert.data, key.data, issues.at('conf', 'cert'), issues.at('conf', 'key'));
}

async function requireMaterial(ctx: CaContext, backend: Backend): Promise<CaMaterial> {
  const issues = Issues.collect();
  const material = await loadMaterial(ctx, backend, issues);
  const first = issues.result.errors[0];
  if (!material) throw new CaConfigError(`backend "${backend.name}": ${first ? `${first.path}: ${first.message}` : 'the provided CA cannot be loaded'}`, { path: first?.path });
  return material;
}

export const providedBackend: CaBackend = {
  type: 'provided',

  async validate(ctx, backend, issues) {
    // A secret store that does not answer throws CaUnavailableError: transient, the registry decides.
    await loadMaterial(ctx, backend, issues);
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
    if (!signing) throw new CaConfigError('the provided CA has no certificate');
    // Intermediates go with each leaf so peers can build the path to a trusted root.
    const intermediates = [signing, ...rest].filter((c) => !isSelfSigned(c)).map((c) => toPem('CERTIFICATE', c.der));
    return new LocalCaIssuer(ctx.mesh, signing, key, intermediates, leafValidityMs(backend));
  },
};
