/**
 * The data plane side of the API (`/dp/v1`, standing in for xDS). A data plane credential speaks
 * only for its binding: its host's stream, proxies of its mesh with its names and services, and
 * only proxies its host registered. Everything is checked before anything is written.
 */
import { SERVICE_TAG, AcksSchema, RegisterProxiesSchema, type ProxyRegistration } from '../mesh/dataplane-api';
import { CsrError, leafKeyPolicyProblem, parseAndVerifyCsr } from '../pki/csr';
import type { ErrorCause } from '../mesh/api-error';
import { csrDer } from './certificates';
import { MAX_STREAMS_PER_HOST } from './delivery';
import { bindingAllowsProxy, type Credential, type DataplaneBinding } from './credentials';
import { ApiError, LARGE_MAX_BODY_BYTES, badRequest, notFound, parseBody, readJson } from './http-util';
import { meshName, resourceName, route, type Route } from './route-kit';
import type { ApiDeps } from './routes';
import type { DataplaneRow } from './store';

const MAX_CAUSES = 50;

function forbidden(details: string, causes: ErrorCause[]): ApiError {
  return new ApiError(403, 'Forbidden', details, causes.slice(0, MAX_CAUSES));
}

/** A proxy already registered by another host cannot be taken over by this one. */
function bindingCauses(binding: DataplaneBinding, p: ProxyRegistration, i: number, existing: DataplaneRow | undefined): ErrorCause[] {
  const causes: ErrorCause[] = [];
  if (!bindingAllowsProxy(binding, p.mesh, p.name)) causes.push({ field: `proxies[${i}].name`, message: `the credential does not cover proxy "${p.mesh}/${p.name}"` });
  if (!binding.services.includes(p.tags[SERVICE_TAG] ?? '')) {
    causes.push({ field: `proxies[${i}].tags.${SERVICE_TAG}`, message: `the credential does not cover service "${p.tags[SERVICE_TAG]}"` });
  }
  if (existing && existing.host !== binding.host) causes.push({ field: `proxies[${i}].name`, message: 'the proxy is registered by another host' });
  return causes;
}

/** A CSR is parsed and its signature verified once, when it is new: a bad one is refused here, not retried at issuance. */
function csrCauses(p: ProxyRegistration, i: number, existing: DataplaneRow | undefined): ErrorCause[] {
  if (existing?.csrPem === p.csr) return [];
  const der = csrDer(p.csr);
  if (!der) return [{ field: `proxies[${i}].csr`, message: 'is not a PEM certificate request' }];
  try {
    const problem = leafKeyPolicyProblem(parseAndVerifyCsr(der));
    return problem ? [{ field: `proxies[${i}].csr`, message: problem }] : [];
  } catch (err) {
    if (err instanceof CsrError) return [{ field: `proxies[${i}].csr`, message: err.message }];
    throw err;
  }
}

function rowsByKey(deps: ApiDeps, proxies: readonly { mesh: string; name: string }[]): Map<string, DataplaneRow> {
  const byMesh = new Map<string, string[]>();
  for (const p of proxies) byMesh.set(p.mesh, [...(byMesh.get(p.mesh) ?? []), p.name]);
  const rows = new Map<string, DataplaneRow>();
  for (const [mesh, names] of byMesh) for (const row of deps.store.dataplanes.named(mesh, names)) rows.set(`${mesh}/${row.name}`, row);
  return rows;
}

function dataplaneBinding(credential: Credential | undefined): DataplaneBinding | undefined {
  return credential?.role === 'dataplane' ? credential.dataplane : undefined;
}

export const DP_ROUTES: Route<ApiDeps>[] = [
  route('POST', '/dp/v1/proxies', async (deps, { req, res, credential }) => {
    const { store, delivery, issuance, relay } = deps;
    const body = parseBody(RegisterProxiesSchema, await readJson(req, LARGE_MAX_BODY_BYTES), 'registration');
    const existing = rowsByKey(deps, body.proxies);
    const binding = dataplaneBinding(credential);
    if (binding) {
      const denied = [
        ...(body.host !== binding.host ? [{ field: 'host', message: `the credential is bound to host "${binding.host}"` }] : []),
        ...body.proxies.flatMap((p, i) => bindingCauses(binding, p, i, existing.get(`${p.mesh}/${p.name}`))),
      ];
      if (denied.length > 0) throw forbidden('the registration is outside the data plane credential', denied);
    }
    const seen = new Set<string>();
    const causes = body.proxies.flatMap((p, i) => [
      ...(store.meshes.get(p.mesh) ? [] : [{ field: `proxies[${i}].mesh`, message: `mesh "${p.mesh}" does not exist` }]),
      ...(seen.has(`${p.mesh}/${p.name}`) ? [{ field: `proxies[${i}].name`, message: 'appears twice in the registration' }] : (seen.add(`${p.mesh}/${p.name}`), [])),
      ...csrCauses(p, i, existing.get(`${p.mesh}/${p.name}`)),
    ]);
    if (causes.length > 0) throw badRequest('invalid registration', causes.slice(0, MAX_CAUSES));
    const seqs = store.dataplanes.register(
      body.proxies.map((p) => ({ mesh: p.mesh, name: p.name, host: body.host, address: p.address, port: p.port, tags: p.tags, csrPem: p.csr })),
      (host) => delivery.isConnected(host),
      new Date().toISOString(),
    );
    const meshes = new Set(body.proxies.map((p) => p.mesh));
    relay.proxiesChanged(body.proxies.flatMap((p) => store.dataplanes.get(p.mesh, p.name) ?? []), seqs);
    res.writeHead(204).end();
    for (const mesh of meshes) {
      await delivery.pushMesh(mesh, new Set(body.proxies.filter((p) => p.mesh === mesh).map((p) => p.name)));
      issuance.kick(mesh);
    }
  }),
  route('DELETE', '/dp/v1/proxies/{mesh}/{name}', ({ store, relay }, { res, params, credential }) => {
    const [mesh, name] = [meshName(params[0]), resourceName(params[1], 'name')];
    const binding = dataplaneBinding(credential);
    const row = store.dataplanes.get(mesh, name);
    if (binding && (!bindingAllowsProxy(binding, mesh, name) || (row && row.host !== binding.host))) {
      throw forbidden('the proxy is outside the data plane credential', [{ field: 'name', message: `the credential does not cover proxy "${mesh}/${name}"` }]);
    }
    const seq = row ? store.dataplanes.delete(mesh, name) : undefined;
    if (seq === undefined) throw notFound(`proxy "${name}" is not registered in mesh "${mesh}"`);
    relay.proxyRemoved(mesh, name, seq);
    res.writeHead(204).end();
  }),
  route('GET', '/dp/v1/stream', ({ delivery, authority }, { res, url, credential }) => {
    const host = url.searchParams.get('host');
    if (!host) throw badRequest('the stream needs a host id', [{ field: 'host', message: 'query parameter required' }]);
    const binding = dataplaneBinding(credential);
    if (binding && host !== binding.host) throw forbidden('the stream is outside the data plane credential', [{ field: 'host', message: `the credential is bound to host "${binding.host}"` }]);
    if (delivery.streamCount(host) >= MAX_STREAMS_PER_HOST) {
      throw new ApiError(429, 'Too Many Requests', `host "${host}" already has ${MAX_STREAMS_PER_HOST} streams open`, [{ field: 'host', message: 'too many streams' }]);
    }
    delivery.attach(host, res);
    // A revoked credential gets nothing more, not even on a stream it opened before.
    const stopListening = authority.whenRevoked(credential, () => res.end());
    res.once('close', stopListening);
  }),
  route('POST', '/dp/v1/acks', async (deps, { req, res, credential }) => {
    const body = parseBody(AcksSchema, await readJson(req, LARGE_MAX_BODY_BYTES), 'acks');
    const rows = rowsByKey(deps, body.acks);
    const binding = dataplaneBinding(credential);
    if (binding) {
      const denied = body.acks.flatMap((a, i) => {
        const row = rows.get(`${a.mesh}/${a.name}`);
        return bindingAllowsProxy(binding, a.mesh, a.name) && (!row || row.host === binding.host)
          ? []
          : [{ field: `acks[${i}].name`, message: `the credential does not cover proxy "${a.mesh}/${a.name}"` }];
      });
      if (denied.length > 0) throw forbidden('the acks are outside the data plane credential', denied);
    }
    // An ack confirms what was delivered; a version the control plane never sent is a lie.
    const ahead = body.acks.flatMap((a, i) => {
      const row = rows.get(`${a.mesh}/${a.name}`);
      return row && a.version > row.configVersion ? [{ field: `acks[${i}].version`, message: `${a.version} is above the last version sent (${row.configVersion})` }] : [];
    });
    if (ahead.length > 0) throw badRequest('invalid acks', ahead.slice(0, MAX_CAUSES));
    // Acks of proxies deregistered meanwhile are dropped (rows absent): a late ack is not an error.
    const { changed, seqs } = await deps.acks.record(body.acks);
    deps.relay.proxiesChanged(changed, seqs);
    res.writeHead(204).end();
  }),
];
