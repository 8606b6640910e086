/**
 * `provided` backend conf (Kuma's `ProvidedCertificateAuthorityConfig`): the CA certificate (chain,
 * closest first) and its private key, as data sources. The static half of Kuma's `ValidateBackend`;
 * the certificate checks need crypto and live in src/ca/provided.ts. Pure.
 */
import { z } from 'zod';
import type { Backend } from '../schema';
import type { Issues } from '../validate-issues';
import type { BackendCheckContext } from './context';
import { DataSourceSchema, checkDataSource } from './data-source';

export const ProvidedConfSchema = z.looseObject({ cert: DataSourceSchema.nullish(), key: DataSourceSchema.nullish() });
export type ProvidedConf = z.infer<typeof ProvidedConfSchema>;

export function checkProvidedBackend(backend: Backend, issues: Issues, context: BackendCheckContext): void {
  const conf = issues.at('conf');
  const raw = backend.conf ?? {};
  checkDataSource(raw.cert, conf.at('cert'), { ...context, what: 'the CA certificate (PEM)', sensitive: false });
  checkDataSource(raw.key, conf.at('key'), { ...context, what: 'the CA private key (PEM)', sensitive: true });
}
