/**
 * `logging` and `tracing`: Kuma's validateLogging / validateTracing. Kuma reports a backend's conf
 * findings under `config`; we give the path of the field as written (`conf`). Pure.
 */
import { z } from 'zod';
import type { Issues } from './validate-issues';
import { requestUriPort, splitHostPort } from './validate-network';
import { protoBool, protoDouble, protoList, protoString, protoStruct, protoUint32 } from './validate-proto';

const LoggingBackendSchema = z.looseObject({ name: protoString, format: protoString, type: protoString, conf: protoStruct });
export const LoggingSchema = z.looseObject({ defaultBackend: protoString, backends: protoList(LoggingBackendSchema) });

const TracingBackendSchema = z.looseObject({ name: protoString, sampling: protoDouble, type: protoString, conf: protoStruct });
export const TracingSchema = z.looseObject({ defaultBackend: protoString, backends: protoList(TracingBackendSchema) });

const FileLoggingSchema = z.looseObject({ path: protoString });
const TcpLoggingSchema = z.looseObject({ address: protoString });
const ZipkinSchema = z.looseObject({ url: protoString, traceId128bit: protoBool, apiVersion: protoString, sharedSpanContext: protoBool });
const DatadogSchema = z.looseObject({ address: protoString, port: protoUint32, splitService: protoBool });

const ZIPKIN_API_VERSIONS = ['httpJsonV1', 'httpJson', 'httpProto'];

/** Kuma's order: a backend's own findings, then whether its name was used before; the default last. */
class BackendNames {
  private readonly used = new Set<string>();

  note(name: string | null | undefined, at: Issues): void {
    const key = name ?? '';
    if (this.used.has(key)) at.error(`${JSON.stringify(key)} name is already used for another backend`, 'name');
    this.used.add(key);
  }

  checkDefault(defaultBackend: string | null | undefined, issues: Issues, section: string): void {
    if (defaultBackend && !this.used.has(defaultBackend)) issues.error(`has to be set to one of the ${section} backend in mesh`, 'defaultBackend');
  }
}

export function checkLogging(value: unknown, issues: Issues): void {
  const logging = issues.parse(LoggingSchema, value);
  if (!logging) return;
  const names = new BackendNames();
  (logging.backends ?? []).forEach((backend, index) => {
    const at = issues.at('backends', index);
    if (!backend.name) at.error('cannot be empty', 'name');
    const conf = at.at('conf');
    if (backend.type === 'file') {
      const file = conf.parse(FileLoggingSchema, backend.conf ?? {});
      if (file && !file.path) conf.error('cannot be empty', 'path');
    } else if (backend.type === 'tcp') {
      const tcp = conf.parse(TcpLoggingSchema, backend.conf ?? {});
      if (tcp && !tcp.address) conf.error('cannot be empty', 'address');
      else if (tcp?.address) {
        const split = splitHostPort(tcp.address);
        if (!split || split.host === '' || split.port === '') conf.error('has to be in format of HOST:PORT', 'address');
      }
    } else {
      at.error('unknown backend type. Available backends: "tcp", "file"', 'type');
    }
    names.note(backend.name, at);
  });
  names.checkDefault(logging.defaultBackend, issues, 'logging');
}

export function checkTracing(value: unknown, issues: Issues): void {
  const tracing = issues.parse(TracingSchema, value);
  if (!tracing) return;
  const names = new BackendNames();
  (tracing.backends ?? []).forEach((backend, index) => {
    const at = issues.at('backends', index);
    if (!backend.name) at.error('cannot be empty', 'name');
    const sampling = backend.sampling ?? 0;
    if (sampling < 0 || sampling > 100) at.error('has to be in [0.0 - 100.0] range', 'sampling');
    const conf = at.at('conf');
    if (backend.type === 'zipkin') {
      const zipkin = conf.parse(ZipkinSchema, backend.conf ?? {});
      if (zipkin) checkZipkin(zipkin, conf);
    } else if (backend.type === 'datadog') {
      const datadog = conf.parse(DatadogSchema, backend.conf ?? {});
      if (datadog && !datadog.address) conf.error('cannot be empty', 'address');
      if (datadog && !(datadog.port && datadog.port <= 65535)) conf.error('port must be in the range [1, 65535]', 'port');
    } else {
      at.error('unknown backend type. Available backends: "zipkin", "datadog"', 'type');
    }
    names.note(backend.name, at);
  });
  names.checkDefault(tracing.defaultBackend, issues, 'tracing');
}

function checkZipkin(zipkin: z.infer<typeof ZipkinSchema>, conf: Issues): void {
  if (zipkin.apiVersion && !ZIPKIN_API_VERSIONS.includes(zipkin.apiVersion)) {
    conf.error(`has invalid value. Allowed values: ${ZIPKIN_API_VERSIONS.join(', ')}`, 'apiVersion');
  }
  if (!zipkin.url) {
    conf.error('cannot be empty', 'url');
    return;
  }
  const uri = requestUriPort(zipkin.url);
  if (!uri) conf.error('invalid URL', 'url');
  else if (uri.port === '') conf.error('port has to be explicitly specified', 'url');
}
