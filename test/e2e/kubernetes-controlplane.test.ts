/**
 * Our control plane in Kubernetes mode against a real kube-apiserver (and etcd), run as `ca-rotate
 * control-plane` in a child process: like kuma-cp on Kubernetes its REST API refuses resource writes,
 * it keeps no Mesh or Secret on disk, and after kill -9 it rebuilds everything from the API server,
 * builtin CA included, while the proxies keep serving.
 */
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { startControlPlaneProcess } from '../../bench/processes';
import { initialMesh } from '../../src/cli/stack';
import { certificateFingerprint } from '../../src/controlplane/certificates';
import { ControlPlaneClient } from '../../src/controlplane/client';
import type { RunningControlPlane } from '../../src/controlplane/server';
import { startDataplaneHost, type DataplaneHost } from '../../src/dataplane/host';
import type { KubernetesDevCluster } from '../../src/devstack/kubernetes';
import { type KubernetesConnection, connectKubernetes, listKumaObjects } from '../../src/kubernetes/connection';
import { applyObjects } from '../../src/kubernetes/manifests';
import { KubernetesMeshTarget } from '../../src/kubernetes/mesh-target';
import { DataplaneInsightObjectSchema, newMeshObject } from '../../src/kubernetes/resources';
import { builtinCertSecretName, builtinKeySecretName } from '../../src/mesh/backends/builtin';
import { describeWhenAvailable } from '../harness/requirements';
import { kubernetesMissing, startTestCluster } from './kubernetes-support';

const MESH = 'default';
const PROXIES = 4;
const DATAPLANE_NAMESPACE = 'kuma-demo';
/** kuma-cp's words (pkg/api-server/resource_endpoints.go), checked here character for character. */
const KUMA_K8S_READ_ONLY =
  "On Kubernetes you cannot change the state of Kuma resources with 'kumactl apply' or via the HTTP API. As a best practice, you should always be using 'kubectl apply' instead. You can still use 'kumactl' or the HTTP API to make read-only operations. On Universal this limitation does not apply.\n";

type ControlPlaneProcess = Awaited<ReturnType<typeof startControlPlaneProcess>>;

/** One request to the control plane's API as any HTTP client would send it. */
function call(cp: RunningControlPlane, method: string, pathname: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      `${cp.url}${pathname}`,
      { method, ca: cp.caPem, headers: { authorization: `Bearer ${cp.token}`, ...(payload ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not so after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The builtin CA's certificate and key Secrets as the API server holds them. */
async function builtinCaSecrets(admin: KubernetesConnection): Promise<{ cert: string; key: string; resourceVersions: string[] }> {
  const namespace = admin.namespace;
  const read = (name: string) => admin.core.readNamespacedSecret({ name, namespace });
  const [cert, key] = await Promise.all([read(builtinCertSecretName(MESH, 'ca-1')), read(builtinKeySecretName(MESH, 'ca-1'))]);
  expect(cert.type).toBe('system.kuma.io/secret');
  expect(cert.metadata?.labels?.['kuma.io/mesh']).toBe(MESH);
  return {
    cert: Buffer.from(cert.data?.value ?? '', 'base64').toString(),
    key: Buffer.from(key.data?.value ?? '', 'base64').toString(),
    resourceVersions: [cert.metadata?.resourceVersion ?? '', key.metadata?.resourceVersion ?? ''],
  };
}

describeWhenAvailable('Our control plane in Kubernetes mode', kubernetesMissing(), () => {
  let cluster: KubernetesDevCluster;
  let admin: KubernetesConnection;
  let controlPlaneKubeconfig: string;
  let controlPlane: ControlPlaneProcess;
  let dataplanes: DataplaneHost | undefined;

  beforeAll(async () => {
    ({ cluster, controlPlaneKubeconfig } = await startTestCluster());
    admin = connectKubernetes({ kubeconfig: cluster.adminKubeconfig });
    await applyObjects(admin, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: DATAPLANE_NAMESPACE } }, newMeshObject(initialMesh(MESH))]);
  }, 600_000);
  afterAll(async () => {
    await dataplanes?.stop();
    await controlPlane?.process.kill9();
    await cluster?.stop();
  });

  it('refuses REST writes as kuma-cp does, keeps no Mesh or Secret on disk, and after kill -9 serves the same mesh and builtin CA from the API server, a proxy that did not come back shown disconnected', async () => {
    const stateDir = fs.mkdtempSync(path.join(cluster.workDir, 'cp-state-'));
    const dbFile = path.join(stateDir, 'cp.db');
    const start = (same?: { port: number; token: string }) =>
      startControlPlaneProcess({ dbFile }, path.join(stateDir, 'cp.log'), same, { kubeconfig: controlPlaneKubeconfig });
    controlPlane = await start();
    const client = () => new ControlPlaneClient({ url: controlPlane.url, token: controlPlane.token, caFile: controlPlane.caFile, timeoutMs: 10_000 });
    await eventually('the mesh on the control plane', async () => (await client().getMesh(MESH)) !== undefined);

    // The builtin CA went to Kubernetes Secrets, as kuma-cp keeps it there.
    const ca = await builtinCaSecrets(admin);
    const caFingerprint = certificateFingerprint(ca.cert);

    const token = await client().issueToken({ role: 'dataplane', name: 'host', dataplane: { mesh: MESH, host: 'host', namePrefix: 'dp-', services: ['svc-0', 'svc-1'] } });
    const host = await startDataplaneHost({ controlPlaneUrl: controlPlane.url, token, caPem: controlPlane.caPem, mesh: MESH, count: PROXIES, services: 2, namePrefix: 'dp' });
    dataplanes = host;
    await host.waitUntilReady(120_000);
    host.startTraffic();
    expect(host.proxyStatuses().every((p) => p.trustedRootFingerprints.join() === caFingerprint && p.certificateIssuerFingerprint === caFingerprint)).toBe(true);

    // Every resource write over the REST API: 405 with kuma-cp's body; nothing changes anywhere.
    const meshBefore = await new KubernetesMeshTarget(admin).getMesh(MESH);
    const edited = { ...initialMesh(MESH), mtls: { enabledBackend: 'ca-2', backends: [{ name: 'ca-2', type: 'builtin' }] } };
    const certName = builtinCertSecretName(MESH, 'ca-1');
    const writes = [
      await call(controlPlane, 'PUT', `/meshes/${MESH}`, edited),
      await call(controlPlane, 'PUT', `/meshes/${MESH}?force=true&exclude=dp-0`, edited),
      await call(controlPlane, 'DELETE', `/meshes/${MESH}`),
      await call(controlPlane, 'PATCH', `/meshes/${MESH}`, edited),
      await call(controlPlane, 'PUT', `/meshes/${MESH}/secrets/extra`, { type: 'Secret', mesh: MESH, name: 'extra', data: 'YQ==' }),
      await call(controlPlane, 'PUT', `/meshes/${MESH}/secrets/${certName}`, { type: 'Secret', mesh: MESH, name: certName, data: 'YQ==' }),
      await call(controlPlane, 'DELETE', `/meshes/${MESH}/secrets/${certName}`),
    ];
    for (const answer of writes) {
      expect(answer).toEqual({ status: 405, body: { type: '/std-errors', status: 405, title: 'Method not allowed', detail: KUMA_K8S_READ_ONLY, details: KUMA_K8S_READ_ONLY } });
    }
    expect((await new KubernetesMeshTarget(admin).getMesh(MESH))?.resourceVersion).toBe(meshBefore?.resourceVersion);
    expect((await builtinCaSecrets(admin)).resourceVersions).toEqual(ca.resourceVersions);
    expect((await client().getMesh(MESH))?.mesh.mtls).toEqual(initialMesh(MESH).mtls);
    expect(await client().getSecret(MESH, 'extra')).toBeUndefined();
    // Reads stay open, the CA's Secrets included.
    expect(Buffer.from((await client().getSecret(MESH, certName))?.data ?? '', 'base64').toString()).toBe(ca.cert);

    // Nothing of the mesh on disk: no store file, and no file holding the CA or its key.
    const files = fs.readdirSync(stateDir);
    console.log(`state dir of the control plane in Kubernetes mode: ${files.join(', ')}`);
    expect(files.filter((f) => ['cp.db', 'cp.db-wal', 'cp.db-shm', 'cp.db.key'].includes(f))).toEqual([]);
    const secretMaterial = [ca.cert, ca.key].map((pem) => pem.split('\n')[1] ?? pem);
    for (const file of files) {
      const content = fs.readFileSync(path.join(stateDir, file), 'utf8');
      for (const material of secretMaterial) expect(content.includes(material)).toBe(false);
    }

    // One more proxy, on its own host, that will not come back after the restart.
    const lostToken = await client().issueToken({ role: 'dataplane', name: 'lost-host', dataplane: { mesh: MESH, host: 'lost-host', namePrefix: 'lost-', services: ['svc-0'] } });
    const lost = await startDataplaneHost({ controlPlaneUrl: controlPlane.url, token: lostToken, caPem: controlPlane.caPem, mesh: MESH, count: 1, namePrefix: 'lost' });
    await lost.waitUntilReady(120_000);
    await eventually('the lost proxy connected in its DataplaneInsight', async () =>
      (await listKumaObjects(admin, 'dataplaneinsights')).items.some((item) => {
        const insight = DataplaneInsightObjectSchema.parse(item);
        return insight.metadata.name === 'lost-0' && insight.status?.subscriptions?.at(-1)?.disconnectTime === undefined;
      }),
    );

    // kill -9 and start again on the same port: the mesh and the same builtin CA come back from the API server.
    const before = host.stats();
    const certificatesBefore = new Map(host.proxyStatuses().map((p) => [p.name, p.certificateExpiresAt]));
    const killedAt = new Date();
    await controlPlane.process.kill9();
    await lost.stop(); // gone while the control plane was down: nobody told it
    controlPlane = await start({ port: Number(new URL(controlPlane.url).port), token: controlPlane.token });
    await eventually('the mesh on the restarted control plane', async () => (await client().getMesh(MESH)) !== undefined);
    expect((await client().getMesh(MESH))?.mesh.mtls).toEqual(initialMesh(MESH).mtls);
    // The restarted control plane knows no certificate it signed before: it signs each proxy a new one.
    await host.waitUntilAll((p) => p.certificateExpiresAt !== certificatesBefore.get(p.name) && p.ackedVersion === p.appliedVersion, 120_000);
    const after = await builtinCaSecrets(admin);
    expect(after).toEqual(ca);
    expect(Buffer.from((await client().getSecret(MESH, certName))?.data ?? '', 'base64').toString()).toBe(ca.cert);
    expect(host.proxyStatuses().map((p) => [p.trustedRootFingerprints.join(), p.certificateIssuerFingerprint])).toEqual(
      Array.from({ length: PROXIES }, () => [caFingerprint, caFingerprint]),
    );

    // The insights it left before the kill are taken over, not duplicated or stuck; the proxy that did
    // not come back is no longer shown connected.
    await eventually('every DataplaneInsight rewritten by the restarted control plane', async () => {
      const listed = await listKumaObjects(admin, 'dataplaneinsights');
      const all = listed.items.map((item) => DataplaneInsightObjectSchema.parse(item));
      const insights = all.filter((i) => i.metadata.name !== 'lost-0');
      const lostInsight = all.find((i) => i.metadata.name === 'lost-0');
      return (
        lostInsight?.status?.subscriptions?.at(-1)?.disconnectTime !== undefined &&
        insights.length === PROXIES &&
        insights.every((i) => {
          const last = i.status?.subscriptions?.at(-1);
          return last?.connectTime !== undefined && new Date(last.connectTime) >= killedAt && last.disconnectTime === undefined && i.status?.mTLS?.issuedBackend === 'ca-1';
        })
      );
    });
    await new Promise((r) => setTimeout(r, 1_000));
    const traffic = host.stats();
    console.log(`through kill -9 of the control plane: ${traffic.requests - before.requests} requests, ${traffic.failed - before.failed} failed`);
    expect(traffic.requests - before.requests).toBeGreaterThan(0);
    expect(traffic.failed - before.failed).toBe(0);
  }, 600_000);
});
