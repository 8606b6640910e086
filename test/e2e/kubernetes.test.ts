/**
 * Kubernetes mode against a real kube-apiserver (and etcd): the Mesh is a custom resource, its Secrets
 * live in kuma-system, the worker acts with exactly the repository's ClusterRole, the gates watch
 * DataplaneInsights, and our control plane runs like kuma-cp on Kubernetes with its admission webhook.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Watch } from '@kubernetes/client-node';
import { WorkflowFailedError } from '@temporalio/client';
import { prepareTarget, type LocalStack } from '../../src/cli/stack';
import { startRotation } from '../../src/cli/start-rotation';
import type { KubernetesDevCluster } from '../../src/devstack/kubernetes';
import { kubernetesMeshTarget, rotationActivitiesFor } from '../../src/activities';
import { connectKubernetes, listKumaObjects } from '../../src/kubernetes/connection';
import { caCommonName, generateCa } from '../../src/pki/ca-certificate';
import type { Mesh } from '../../src/mesh/schema';
import { formatMeshYaml } from '../../src/mesh/yaml';
import { CONTROL_PLANE_PERMISSIONS, WORKER_PERMISSIONS, checkPermissions } from '../../src/kubernetes/permissions';
import { LAST_CHANGE_ANNOTATION } from '../../src/kubernetes/resources';
import { createRotationWorker } from '../../src/worker';
import { describeWhenAvailable } from '../harness/requirements';
import { startTestStack, uniqueName, waitForStatus, workflowBundle } from './support';
import { LIMITED_USER, kubernetesMissing, startTestCluster } from './kubernetes-support';
import { testServers } from '../harness/env';

const run = promisify(execFile);
const PROXIES = 6;

/** Every new resourceVersion of one Mesh while the watch runs, with who wrote it. */
function watchMeshVersions(cluster: KubernetesDevCluster, mesh: string) {
  const seen: { resourceVersion: string; generation: number; change: string }[] = [];
  const admin = connectKubernetes({ kubeconfig: cluster.adminKubeconfig });
  const controller = new Watch(admin.config).watch(
    '/apis/kuma.io/v1alpha1/meshes',
    { fieldSelector: `metadata.name=${mesh}`, resourceVersion: '0' },
    (type: string, object: { metadata: { resourceVersion: string; generation: number; annotations?: Record<string, string> } }) => {
      if (type === 'MODIFIED') seen.push({ resourceVersion: object.metadata.resourceVersion, generation: object.metadata.generation, change: object.metadata.annotations?.[LAST_CHANGE_ANNOTATION] ?? '' });
    },
    () => {},
  );
  return { seen, stop: async () => (await controller).abort() };
}

describeWhenAvailable('Kubernetes mode on a real API server', kubernetesMissing(), () => {
  let cluster: KubernetesDevCluster;
  let workerKubeconfig: string;
  let controlPlaneKubeconfig: string;
  let stack: LocalStack;

  beforeAll(async () => {
    ({ cluster, workerKubeconfig, controlPlaneKubeconfig } = await startTestCluster());
    stack = await startTestStack({
      proxies: PROXIES,
      kubernetes: { adminKubeconfig: cluster.adminKubeconfig, controlPlaneKubeconfig, workerKubeconfig },
      log: (line) => console.log(line),
    });
  }, 600_000);
  afterAll(async () => {
    await stack?.stop();
    await cluster?.stop();
  });

  it('rotates builtin -> provided under live mTLS traffic: 0 failed requests, exactly three new Mesh resourceVersions', async () => {
    const versions = watchMeshVersions(cluster, stack.mesh);
    const target = await prepareTarget(stack, 'provided', 'ca-2');
    const before = stack.dataplanes.stats();
    const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-1', target, taskQueue: stack.taskQueue });
    const result = await handle.result();
    await new Promise((r) => setTimeout(r, 500));
    const after = stack.dataplanes.stats();
    await versions.stop();
    console.log(`kubernetes rotation: ${result.status}, ${after.requests - before.requests} requests, ${after.failed - before.failed} failed, Mesh versions ${JSON.stringify(versions.seen)}`);
    expect(result.status).toBe('COMPLETED');
    expect(after.failed - before.failed).toBe(0);
    expect(after.requests - before.requests).toBeGreaterThan(0);
    expect(versions.seen.map((v) => v.change)).toEqual([`ca-rotation/${stack.mesh}: add-backend`, `ca-rotation/${stack.mesh}: switch-enabled`, `ca-rotation/${stack.mesh}: remove-old`]);
    expect(new Set(versions.seen.map((v) => v.resourceVersion)).size).toBe(3);
    const mesh = await stack.kubernetes?.target.getMesh(stack.mesh);
    expect(mesh?.mesh.mtls).toEqual({ enabledBackend: 'ca-2', backends: [target.mtls?.backends?.[0]] });
    const insights = await stack.kubernetes?.target.listInsights(stack.mesh);
    expect(insights?.states).toHaveLength(PROXIES);
    expect(insights?.states.every((p) => p.issuedBackend === 'ca-2' && p.supportedBackends.join() === 'ca-2')).toBe(true);
  }, 600_000);

  it('refuses `kubectl apply` of a too-early Mesh edit in the admission webhook, with the reason and the pending proxies', async () => {
    const file = path.join(cluster.workDir, 'too-soon.yaml');
    const tooSoon: Mesh = {
      type: 'Mesh',
      name: stack.mesh,
      mtls: {
        enabledBackend: 'ca-9',
        backends: [
          { name: 'ca-2', type: 'provided', conf: { cert: { secret: 'ca-2-cert' }, key: { secret: 'ca-2-key' } } },
          { name: 'ca-9', type: 'builtin' },
        ],
      },
    };
    fs.writeFileSync(file, formatMeshYaml(tooSoon, 'kubernetes'));
    const refused = await run('kubectl', ['--kubeconfig', cluster.adminKubeconfig, 'apply', '-f', file]).then(
      () => undefined,
      (err: { stderr?: string }) => err.stderr ?? String(err),
    );
    console.log(`kubectl apply: ${refused}`);
    expect(refused).toMatch(/admission webhook "mesh-validator\.mesh-ca-rotator\.kong\.io" denied the request/);
    expect(refused).toMatch(/cannot switch enabledBackend to "ca-9": 6 of 6 data plane proxies do not trust it yet; pending proxies: /);
    const mesh = await stack.kubernetes?.target.getMesh(stack.mesh);
    expect(mesh?.mesh.mtls?.enabledBackend).toBe('ca-2');
  }, 120_000);

  it('completes a rotation through kill -9 of the API server and of etcd mid-rotation', async () => {
    const target = await prepareTarget(stack, 'builtin', 'ca-3');
    const before = stack.dataplanes.stats();
    const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-2', target, taskQueue: stack.taskQueue });
    await waitForStatus(handle, (s) => s.steps.some((step) => step.name === 'add-backend' && step.state === 'done'), 300_000);
    await cluster.apiServer.kill9();
    await cluster.etcd.kill9();
    await new Promise((r) => setTimeout(r, 2_000));
    await cluster.startEtcd();
    await cluster.startApiServer();
    const result = await handle.result();
    const after = stack.dataplanes.stats();
    console.log(`rotation through API server and etcd kill -9: ${result.status}, ${after.failed - before.failed} failed requests`);
    expect(result.status).toBe('COMPLETED');
    expect(after.failed - before.failed).toBe(0);
    const mesh = await stack.kubernetes?.target.getMesh(stack.mesh);
    expect(mesh?.mesh.mtls?.enabledBackend).toBe('ca-3');
    expect(mesh?.mesh.mtls?.backends?.map((b) => b.name)).toEqual(['ca-3']);
  }, 600_000);

  it('says in one line what is wrong: no kubeconfig, an unknown context, a rejected token, a CRD not installed, an untrusted API server certificate', async () => {
    expect(() => connectKubernetes({ kubeconfig: path.join(cluster.workDir, 'absent') })).toThrow(/^kubeconfig .*absent does not exist$/);
    expect(() => connectKubernetes({ kubeconfig: cluster.adminKubeconfig, context: 'staging' })).toThrow(/^context "staging" is not in kubeconfig .* \(contexts: admin\)$/);
    expect(connectKubernetes({ kubeconfig: cluster.adminKubeconfig, context: 'admin' }).context).toBe('admin');
    const noKubeconfig = { KUBECONFIG: undefined, HOME: cluster.workDir, KUBERNETES_SERVICE_HOST: undefined };
    const saved = { ...process.env };
    try {
      for (const [key, value] of Object.entries(noKubeconfig)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      expect(() => connectKubernetes()).toThrow(/^no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG/);
    } finally {
      process.env = saved;
    }
    const badToken = path.join(cluster.workDir, 'kubeconfig-bad-token');
    fs.writeFileSync(badToken, fs.readFileSync(cluster.adminKubeconfig, 'utf8').replace(/token: .*/, 'token: not-a-valid-token'));
    await expect(kubernetesMeshTarget(connectKubernetes({ kubeconfig: badToken })).getMesh(stack.mesh)).rejects.toThrow(
      /rejected the credentials of context "admin" \(401 Unauthorized\)/,
    );
    await expect(listKumaObjects(connectKubernetes({ kubeconfig: cluster.adminKubeconfig }), 'meshtrusts')).rejects.toThrow(
      /^meshtrusts\.kuma\.io is not served by the API server: install its CustomResourceDefinition/,
    );
    // The API server's certificate is verified: a kubeconfig trusting another CA fails at once, saying so.
    const otherCa = path.join(cluster.workDir, 'other-ca.crt');
    fs.writeFileSync(otherCa, (await generateCa({ commonName: 'not the cluster CA' })).certificatePem);
    const wrongCa = path.join(cluster.workDir, 'kubeconfig-wrong-ca');
    fs.writeFileSync(wrongCa, fs.readFileSync(cluster.adminKubeconfig, 'utf8').replace(/certificate-authority: .*/, `certificate-authority: ${otherCa}`));
    await expect(kubernetesMeshTarget(connectKubernetes({ kubeconfig: wrongCa })).getMesh(stack.mesh)).rejects.toThrow(
      /^the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ presented a certificate that context "admin" does not accept \(\w+\): check the cluster's certificate-authority/,
    );
  }, 120_000);

  it('runs `ca-rotate start -f target-kubernetes.yaml` against the cluster: Secrets to kuma-system, the rotation completes', async () => {
    const ca = await generateCa({ commonName: caCommonName(stack.mesh, 'ca-4') });
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const file = path.join(cluster.workDir, 'target-kubernetes.yaml');
    const target: Mesh = {
      type: 'Mesh',
      name: stack.mesh,
      mtls: { enabledBackend: 'ca-4', backends: [{ name: 'ca-4', type: 'provided', conf: { cert: { secret: 'ca-4-cert' }, key: { secret: 'ca-4-key' } } }] },
    };
    const secret = (name: string, pem: string) =>
      `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: kuma-system, labels: {kuma.io/mesh: ${stack.mesh}}}\ntype: system.kuma.io/secret\ndata: {value: ${b64(pem)}}\n`;
    fs.writeFileSync(file, [formatMeshYaml(target, 'kubernetes'), secret('ca-4-cert', ca.certificatePem), secret('ca-4-key', ca.privateKeyPem)].join('---\n'));
    const servers = testServers();
    const env = { ...process.env, TEMPORAL_ADDRESS: servers.temporalAddress, TEMPORAL_NAMESPACE: servers.temporalNamespace, CA_ROTATE_TASK_QUEUE: stack.taskQueue };
    const started = await run('npx', ['tsx', 'src/cli/main.ts', '--kubeconfig', cluster.adminKubeconfig, 'start', '-f', file, '--json'], { env });
    expect(JSON.parse(started.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ started: true, mesh: stack.mesh, to: 'ca-4' });
    const result = await stack.client.workflow.getHandle(`ca-rotation/${stack.mesh}`).result();
    expect(result.status).toBe('COMPLETED');
    const uploaded = await stack.kubernetes?.target.getSecret(stack.mesh, 'ca-4-cert');
    expect(Buffer.from(uploaded?.data ?? '', 'base64').toString()).toBe(ca.certificatePem);
    expect((await stack.kubernetes?.target.getMesh(stack.mesh))?.mesh.mtls?.enabledBackend).toBe('ca-4');
  }, 300_000);

  it('the ServiceAccounts of the RBAC files, with tokens the API server issues for them as for a pod, hold what each party uses; the worker Deployment is accepted', async () => {
    const asServiceAccount = async (name: string) => {
      const { stdout } = await run('kubectl', ['--kubeconfig', cluster.adminKubeconfig, '-n', 'kuma-system', 'create', 'token', name]);
      const file = path.join(cluster.workDir, `kubeconfig-sa-${name}`);
      fs.writeFileSync(file, fs.readFileSync(cluster.adminKubeconfig, 'utf8').replace(/token: .*/, `token: ${stdout.trim()}`), { mode: 0o600 });
      return connectKubernetes({ kubeconfig: file });
    };
    await expect(checkPermissions(await asServiceAccount('mesh-ca-rotator'), WORKER_PERMISSIONS)).resolves.toBeUndefined();
    await expect(checkPermissions(await asServiceAccount('mesh-ca-rotator-control-plane'), CONTROL_PLANE_PERMISSIONS)).resolves.toBeUndefined();
    // Least privilege both ways: neither holds the other's rights.
    await expect(checkPermissions(await asServiceAccount('mesh-ca-rotator'), CONTROL_PLANE_PERMISSIONS)).rejects.toThrow(/lacks RBAC verb "list" on meshes\.kuma\.io/);
    await expect(checkPermissions(await asServiceAccount('mesh-ca-rotator-control-plane'), WORKER_PERMISSIONS)).rejects.toThrow(/lacks RBAC verb .*"update" on meshes\.kuma\.io/);
    const applied = await run('kubectl', ['--kubeconfig', cluster.adminKubeconfig, 'apply', '--dry-run=server', '-f', 'deploy/kubernetes/worker.yaml']);
    expect(applied.stdout).toMatch(/deployment\.apps\/mesh-ca-rotator-worker created \(server dry run\)/);
  }, 120_000);

  it('works with exactly the documented roles (worker and control plane), and fails fast naming a missing verb', async () => {
    await expect(checkPermissions(connectKubernetes({ kubeconfig: workerKubeconfig }), WORKER_PERMISSIONS)).resolves.toBeUndefined();
    const limited = connectKubernetes({ kubeconfig: cluster.kubeconfigFor(LIMITED_USER) });
    await expect(checkPermissions(limited, WORKER_PERMISSIONS)).rejects.toThrow(/lacks RBAC verb "update" on meshes\.kuma\.io \(cluster-wide\)/);
    // The worker command checks first and exits 2 with that line, before it touches Temporal.
    const refused = await run('npx', ['tsx', 'src/cli/main.ts', '--kubeconfig', cluster.kubeconfigFor(LIMITED_USER), 'worker']).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toMatch(/^ca-rotate: forbidden: context "rotator-without-update" lacks RBAC verb "update" on meshes\.kuma\.io/m);

    // Our control plane runs (in this suite's stack) with exactly its own documented role; with the
    // worker's it refuses to start, naming what it lacks and the file that grants it.
    await expect(checkPermissions(connectKubernetes({ kubeconfig: controlPlaneKubeconfig }), CONTROL_PLANE_PERMISSIONS)).resolves.toBeUndefined();
    const cpRefused = await run('npx', ['tsx', 'src/cli/main.ts', '--kubeconfig', workerKubeconfig, 'control-plane', '--port', '0', '--db', path.join(cluster.workDir, 'refused-cp', 'cp.db')]).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(cpRefused?.code).toBe(2);
    expect(cpRefused?.stderr).toMatch(/^ca-rotate: forbidden: .* lacks RBAC verb "list" on meshes\.kuma\.io \(cluster-wide\).*; grant them as in deploy\/kubernetes\/control-plane-rbac\.yaml$/m);

    // A worker that skipped the check fails the rotation at its first write, naming the verb, without retrying.
    const servers = testServers();
    const taskQueue = uniqueName('q-limited');
    const created = await createRotationWorker({
      temporalAddress: servers.temporalAddress,
      namespace: servers.temporalNamespace,
      taskQueue,
      activities: rotationActivitiesFor({ controlPlane: { url: 'http://127.0.0.1:1' }, insightSettleMs: 0 }, kubernetesMeshTarget(limited)),
      workflowBundle: await workflowBundle(),
    });
    const running = created.worker.run();
    try {
      const target = await prepareTarget(stack, 'builtin', 'ca-5');
      const handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-4', target, taskQueue });
      const failure = await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const chain = [];
      for (let e: unknown = failure; e instanceof Error; e = (e as { cause?: unknown }).cause) chain.push(e.message);
      console.log(`limited worker: ${chain.join(' <- ')}`);
      expect(chain.join('\n')).toMatch(/forbidden: missing RBAC verb "update" on meshes\.kuma\.io/);
      const mesh = await stack.kubernetes?.target.getMesh(stack.mesh);
      expect(mesh?.mesh.mtls?.enabledBackend).toBe('ca-4');
    } finally {
      created.worker.shutdown();
      await running.catch(() => {});
      await created.connection.close();
    }
  }, 300_000);
});
