/** `metrics`: Kuma's validateMetrics and validatePrometheusConfig. Pure. */
import { z } from 'zod';
import type { Issues } from './validate-issues';
import { re2Problem } from './validate-network';
import { protoBool, protoEnum, protoList, protoString, protoStringMap, protoStruct, protoUint32 } from './validate-proto';

const MetricsBackendSchema = z.looseObject({ name: protoString, type: protoString, conf: protoStruct });
export const MetricsSchema = z.looseObject({ enabledBackend: protoString, backends: protoList(MetricsBackendSchema) });

const PrometheusSchema = z.looseObject({
  port: protoUint32,
  path: protoString,
  tags: protoStringMap,
  skipMTLS: protoBool,
  aggregate: protoList(z.looseObject({ name: protoString, port: protoUint32, path: protoString, enabled: protoBool, address: protoString })),
  envoy: z.looseObject({ filterRegex: protoString, usedOnly: protoBool }).nullish(),
  tls: z.looseObject({ mode: protoEnum(['activeMTLSBackend', 'providedTLS', 'disabled']) }).nullish(),
});
type Prometheus = z.infer<typeof PrometheusSchema>;

export function checkMetrics(value: unknown, issues: Issues): void {
  const metrics = issues.parse(MetricsSchema, value);
  if (!metrics) return;
  const used = new Set<string>();
  (metrics.backends ?? []).forEach((backend, index) => {
    const at = issues.at('backends', index);
    const name = backend.name ?? '';
    if (used.has(name)) at.error(`${JSON.stringify(name)} name is already used for another backend`, 'name');
    if (backend.type !== 'prometheus') at.error('unknown backend type. Available backends: "prometheus"', 'type');
    else {
      const conf = at.at('conf');
      const prometheus = conf.parse(PrometheusSchema, backend.conf ?? {});
      if (prometheus) checkPrometheus(prometheus, conf);
    }
    used.add(name);
  });
  if (metrics.enabledBackend && !used.has(metrics.enabledBackend)) issues.error('has to be set to one of the backends in the mesh', 'enabledBackend');
}

/** Kuma stops at the first of these three problems. */
function checkPrometheus(conf: Prometheus, issues: Issues): void {
  if (conf.skipMTLS !== undefined && conf.skipMTLS !== null && conf.tls && !skipMtlsAgreesWithTls(conf.skipMTLS, conf.tls.mode ?? 'activeMTLSBackend')) {
    issues.error('skipMTLS and tls configuration cannot be defined together');
    return;
  }
  const regexProblem = re2Problem(conf.envoy?.filterRegex ?? '');
  if (regexProblem) {
    issues.error(`provided regexp isn't correct: ${regexProblem}`, 'envoy', 'filterRegex');
    return;
  }
  const seen = new Set<string>();
  (conf.aggregate ?? []).forEach((entry, index) => {
    const name = entry.name ?? '';
    if (seen.has(name)) issues.error(`duplicate entry: ${name}, values have to be unique`, 'aggregate', index, 'name');
    seen.add(name);
  });
}

function skipMtlsAgreesWithTls(skipMtls: boolean, mode: string | number): boolean {
  return (!skipMtls && mode === 'activeMTLSBackend') || (skipMtls && mode === 'disabled');
}
