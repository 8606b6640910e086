/**
 * The whole system on one machine: Temporal (a server it is given, or a dev server it starts), a
 * rotation worker, the embedded control plane, and data plane proxies with live mTLS traffic. The demo,
 * the benchmark and the end-to-end tests all stand it up here, so they exercise the same wiring.
 */
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { insightSettleMsFor, kubernetesMeshTarget, meshTargetFor, rotationActivitiesFor } from '../activities';
import { InsightWatcher } from '../activities/insight-watcher';
import { CONTROL_PLANE_RBAC_FILE, type KubernetesConnection, connectKubernetes } from '../kubernetes/connection';
import { KubernetesControlPlaneMode } from '../kubernetes/controlplane-mode';
import { KubernetesInsightWatcher } from '../kubernetes/insight-watcher';
import { applyObjects } from '../kubernetes/manifests';
import { KubernetesMeshTarget } from '../kubernetes/mesh-target';
import { newMeshObject } from '../kubernetes/resources';
import { generateCa, caCommonName } from '../pki/ca-certificate';
import { ControlPlaneClient } from '../controlplane/client';
import type { TemporalTarget } from '../controlplane/ack-relay';
import { startControlPlane, type RunningControlPlane } from '../controlplane/server';
import { startDataplaneHost, type DataplaneHost } from '../dataplane/host';
import type { TrafficOptions } from '../dataplane/traffic';
import { provideDevBinaries } from '../devstack/binaries';
import { startOpenBaoDevServer, type OpenBaoDevServer } from '../devstack/openbao';
import { startTemporal, type TemporalDevServer } from '../devstack/temporal';
import { provisionDevPki } from '../ca/vault-dev-pki';
import type { Backend, Mesh } from '../mesh/schema';
import { encodeBase64 } from '../mesh/base64';
import { createRotationWorker } from '../worker';
import { ROTATION_TASK_QUEUE } from '../workflows/messages';

export type TargetBackendType = 'builtin' | 'provided' | 'vault';

export interface LocalStackOptions {
  mesh?: string;
  proxies: number;
  services?: number;
  traffic?: boolean | TrafficOptions;
  /** Each proxy applies each config after its own random delay up to this, as across the machines of a real mesh. Default 0. */
  propagationJitterMs?: number;
  /** An existing Temporal server (TLS / API key as `ca-rotate` takes them); without it a dev server is started (and stopped with the stack). */
  temporal?: { address: string; namespace: string; uiUrl?: string; tls?: TLSConfig; apiKey?: string };
  /** An existing Vault; without it an OpenBao dev server is started when `needVault`. */
  vault?: { address: string; token: string };
  needVault?: boolean;
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** Run the worker in this process (default). False: the caller runs workers (e.g. as child processes). */
  inProcessWorker?: boolean;
  /**
   * Starts the control plane elsewhere (e.g. a child process, so its memory is measured on its own).
   * Called once Temporal is up; default: the control plane runs in this process.
   */
  startControlPlane?: (settings: ControlPlaneSettings) => Promise<RunningControlPlane>;
  taskQueue?: string;
  /** False: the control plane does not relay acks to Temporal, and the worker's insight watcher polls instead. */
  pushedAcks?: boolean;
  /** The settle rule's wait (src/mesh/settle.ts); default by control plane. */
  insightSettleMs?: number;
  workDir?: string;
  log?: (line: string) => void;
  /** Kubernetes mode: the Mesh and its Secrets live in this API server, edited through it. */
  kubernetes?: KubernetesStackOptions;
}

export interface KubernetesStackOptions {
  /** For the setup, as an administrator with kubectl: namespaces, the Mesh, the target's Secrets. */
  adminKubeconfig: string;
  /** Our control plane's identity, e.g. one bound to deploy/kubernetes/control-plane-rbac.yaml; default the admin's. */
  controlPlaneKubeconfig?: string;
  /** The worker's identity, e.g. one bound to deploy/kubernetes/rbac.yaml; default the control plane's. */
  workerKubeconfig?: string;
  /** The control plane's namespace (Secrets); default kuma-system. */
  namespace?: string;
  /** Where the proxies' Dataplane and DataplaneInsight resources go; default kuma-demo. */
  dataplaneNamespace?: string;
}

/** The Kubernetes side of a stack in Kubernetes mode. */
export interface KubernetesStack {
  /** The administrator's connection, for the setup. */
  admin: KubernetesConnection;
  controlPlane: KubernetesConnection;
  worker: KubernetesConnection;
  /** Reads and writes the Mesh and Secrets as an administrator would (kubectl). */
  target: KubernetesMeshTarget;
  webhookUrl: string | undefined;
}

/** What a control plane started outside the stack needs to know. */
export interface ControlPlaneSettings {
  dbFile: string;
  /** Where the control plane relays acks; absent when acks are not pushed. */
  temporal?: TemporalTarget;
  vault?: { address: string; token: string };
}

export interface LocalStack {
  mesh: string;
  taskQueue: string;
  workDir: string;
  temporal: { address: string; namespace: string; uiUrl?: string; tls?: TLSConfig; apiKey?: string; devServer?: TemporalDevServer };
  client: Client;
  controlPlane: RunningControlPlane;
  cp: ControlPlaneClient;
  dataplanes: DataplaneHost;
  kubernetes?: KubernetesStack;
  vault?: { address: string; token: string };
  /** Settings a worker process needs (environment variables of `ca-rotate worker`). */
  workerEnv(): NodeJS.ProcessEnv;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  /** Stops the control plane and starts it again on the same store, port and token (restart drills). */
  restartControlPlane(downtimeMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Kong Mesh's starting point: mTLS enabled with a builtin backend `ca-1`. */
export function initialMesh(mesh: string): Mesh {
  return { type: 'Mesh', name: mesh, mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] } };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  const mesh = options.mesh ?? 'default';
  const taskQueue = options.taskQueue ?? ROTATION_TASK_QUEUE;
  const workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ca-rotate-'));
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };

  try {
    let temporal: LocalStack['temporal'];
    let vault = options.vault;
    if (!options.temporal || (options.needVault && !vault)) {
      const binaries = await provideDevBinaries([...(options.temporal ? [] : ['temporal' as const]), ...(options.needVault && !vault ? ['bao' as const] : [])]);
      if (!options.temporal) {
        log('starting the Temporal dev server');
        const devServer = await startTemporal({ binary: binaries.temporal, dbFile: path.join(workDir, 'temporal.db') });
        cleanups.push(() => devServer.stop());
        temporal = { address: devServer.address, namespace: devServer.namespace, uiUrl: devServer.uiUrl, devServer };
      } else {
        temporal = options.temporal;
      }
      if (options.needVault && !vault) {
        if (!binaries.bao) throw new Error('no OpenBao binary found or built: install Go, or set VAULT_ADDR and VAULT_TOKEN');
        log('starting the OpenBao dev server');
        const bao: OpenBaoDevServer = await startOpenBaoDevServer({ binary: binaries.bao });
        cleanups.push(() => bao.stop());
        vault = { address: bao.address, token: bao.token };
      }
    } else {
      temporal = options.temporal;
    }

    const connection = await Connection.connect({ address: temporal.address, tls: temporal.tls, apiKey: temporal.apiKey });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: temporal.namespace });

    log('starting the control plane');
    const controlPlaneSettings: ControlPlaneSettings = {
      dbFile: path.join(workDir, 'control-plane.db'),
      ...(options.pushedAcks === false ? {} : { temporal: { address: temporal.address, namespace: temporal.namespace, tls: temporal.tls, apiKey: temporal.apiKey } }),
      vault,
    };
    const kube = options.kubernetes;
    const kubernetes = kube ? await prepareKubernetes(kube) : undefined;
    const kubernetesMode = (): KubernetesControlPlaneMode | undefined =>
      kube && kubernetes
        ? new KubernetesControlPlaneMode({ connection: kubernetes.controlPlane, dataplaneNamespace: kube.dataplaneNamespace ?? DEFAULT_DATAPLANE_NAMESPACE, webhook: {} })
        : undefined;
    let mode = kubernetesMode();
    let controlPlane = options.startControlPlane
      ? await options.startControlPlane(controlPlaneSettings)
      : await startControlPlane({ ...controlPlaneSettings, port: 0, logger: kube ? log : () => {}, mode });
    cleanups.push(() => controlPlane.stop());
    if (kubernetes) kubernetes.webhookUrl = mode?.webhookUrl;
    const cp = new ControlPlaneClient({ url: controlPlane.url, token: controlPlane.token, caFile: controlPlane.caFile, timeoutMs: 30_000 });
    if (kubernetes) {
      // As a user would: `kubectl apply` the Mesh; the control plane picks it up from its watch.
      await applyObjects(kubernetes.admin, [newMeshObject(initialMesh(mesh))]);
      await waitFor(`mesh "${mesh}" on the control plane`, async () => (await cp.getMesh(mesh)) !== undefined, 60_000);
    } else {
      await cp.putMesh(initialMesh(mesh), { actor: 'setup' });
    }
    // Least privilege: the worker and the proxies get their own credentials, never the admin token.
    const services = options.services ?? Math.max(1, Math.min(10, Math.ceil(options.proxies / 5)));
    const namePrefix = `${mesh}-dp`;
    const workerToken = await cp.issueToken({ role: 'worker', name: `worker-${mesh}` });
    const dataplaneToken = await cp.issueToken({
      role: 'dataplane',
      name: `${mesh}-host`,
      dataplane: { mesh, host: `${mesh}-host`, namePrefix: `${namePrefix}-`, services: Array.from({ length: services }, (_, i) => `svc-${i}`) },
    });
    // Our control plane's insights are its proxies' acks, in either mode: nothing to settle.
    const settleMs = kubernetes ? (options.insightSettleMs ?? 0) : options.insightSettleMs;

    let worker: { stop(): Promise<void> } | undefined;
    const startWorker = async () => {
      const connection = { url: controlPlane.url, token: workerToken, caFile: controlPlane.caFile, timeoutMs: 30_000 };
      const target = kubernetes ? kubernetesMeshTarget(kubernetes.worker) : meshTargetFor(connection);
      const activities = rotationActivitiesFor({ controlPlane: connection, vault, insightSettleMs: settleMs }, target);
      // Idle while acks are pushed (our control plane's relay, or the Kubernetes watch); polls `_overview` otherwise.
      const watcher = new InsightWatcher({ target, client, taskQueue, settleMs: insightSettleMsFor(settleMs) });
      const kubeWatcher = kubernetes ? new KubernetesInsightWatcher({ connection: kubernetes.worker, temporal, log, settleMs: settleMs ?? 0 }) : undefined;
      const created = await createRotationWorker({
        temporalAddress: temporal.address,
        tls: temporal.tls,
        apiKey: temporal.apiKey,
        namespace: temporal.namespace,
        taskQueue,
        activities,
        workflowBundle: options.workflowBundle,
      });
      const running = created.worker.run();
      watcher.start();
      worker = {
        async stop() {
          await watcher.stop();
          await kubeWatcher?.stop();
          created.worker.shutdown();
          await running.catch(() => {});
          await created.connection.close();
        },
      };
    };
    const stopWorker = async () => {
      await worker?.stop();
      worker = undefined;
    };
    if (options.inProcessWorker !== false) {
      log('starting the rotation worker');
      await startWorker();
    }
    cleanups.push(() => stopWorker());

    log(`starting ${options.proxies} data plane proxies`);
    const dataplanes = await startDataplaneHost({
      controlPlaneUrl: controlPlane.url,
      token: dataplaneToken,
      caPem: controlPlane.caPem,
      mesh,
      count: options.proxies,
      services,
      namePrefix,
      traffic: false,
      propagationJitterMs: options.propagationJitterMs,
    });
    cleanups.push(() => dataplanes.stop());
    await dataplanes.waitUntilReady(120_000);
    if (options.traffic) dataplanes.startTraffic(options.traffic === true ? undefined : options.traffic);

    const stack: LocalStack = {
      mesh,
      taskQueue,
      workDir,
      temporal,
      client,
      controlPlane,
      cp,
      dataplanes,
      kubernetes,
      vault,
      workerEnv: () => ({
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE: temporal.namespace,
        CA_ROTATE_CP_URL: controlPlane.url,
        CA_ROTATE_CP_TOKEN: workerToken,
        ...(controlPlane.caFile ? { CA_ROTATE_CP_CA_FILE: controlPlane.caFile } : {}),
        CA_ROTATE_TASK_QUEUE: taskQueue,
        ...(vault ? { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token } : {}),
      }),
      startWorker,
      stopWorker,
      async restartControlPlane(downtimeMs = 1000) {
        const port = Number(new URL(controlPlane.url).port);
        await controlPlane.stop();
        await new Promise((r) => setTimeout(r, downtimeMs));
        mode = kubernetesMode();
        controlPlane = await startControlPlane({ ...controlPlaneSettings, port, token: controlPlane.token, logger: kube ? log : () => {}, mode });
        stack.controlPlane = controlPlane;
      },
      stop: stopAll,
    };
    return stack;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export const DEFAULT_DATAPLANE_NAMESPACE = 'kuma-demo';

/** Connections, and the namespaces a Kuma install would have. The CRDs and RBAC are the caller's. */
async function prepareKubernetes(options: KubernetesStackOptions): Promise<KubernetesStack> {
  const admin = connectKubernetes({ kubeconfig: options.adminKubeconfig, namespace: options.namespace });
  const controlPlane = options.controlPlaneKubeconfig
    ? connectKubernetes({ kubeconfig: options.controlPlaneKubeconfig, namespace: options.namespace, rbacFile: CONTROL_PLANE_RBAC_FILE })
    : admin;
  const worker = options.workerKubeconfig ? connectKubernetes({ kubeconfig: options.workerKubeconfig, namespace: options.namespace }) : admin;
  const namespaces = [admin.namespace, options.dataplaneNamespace ?? DEFAULT_DATAPLANE_NAMESPACE];
  await applyObjects(admin, namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
  return { admin, controlPlane, worker, target: new KubernetesMeshTarget(admin), webhookUrl: undefined };
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not there after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Creates the new CA backend `name` of the given type, storing its key material as Secrets on the
 * control plane, and returns the target Mesh (current mesh with the new backend enabled).
 */
export async function prepareTarget(stack: LocalStack, type: TargetBackendType, name = 'ca-2'): Promise<Mesh> {
  // On Kubernetes, Secrets go to the control plane's namespace through the API server.
  const secrets = stack.kubernetes?.target ?? stack.cp;
  const put = (secretName: string, data: Buffer | string) =>
    secrets.putSecret({ type: 'Secret', mesh: stack.mesh, name: secretName, data: encodeBase64(Buffer.from(data)) });
  let backend: Backend;
  if (type === 'builtin') {
    backend = { name, type: 'builtin' };
  } else if (type === 'provided') {
    const ca = await generateCa({ commonName: caCommonName(stack.mesh, name) });
    await put(`${name}-cert`, ca.certificatePem);
    await put(`${name}-key`, ca.privateKeyPem);
    backend = { name, type: 'provided', conf: { cert: { secret: `${name}-cert` }, key: { secret: `${name}-key` } } };
  } else {
    if (!stack.vault) throw new Error('the stack has no Vault: start it with needVault');
    const pki = await provisionDevPki({ address: stack.vault.address, token: stack.vault.token, mount: `pki-${stack.mesh}-${name}`, mesh: stack.mesh });
    await put(`${name}-vault-token`, stack.vault.token);
    // The token travels as a Secret reference, never inline (the target goes into workflow history).
    const inline = pki.backend(name);
    const fromCp = (inline.conf?.fromCp ?? {}) as Record<string, unknown>;
    backend = { ...inline, conf: { ...inline.conf, fromCp: { ...fromCp, auth: { token: { secret: `${name}-vault-token` } } } } };
  }
  const current = await stack.cp.getMesh(stack.mesh);
  if (!current) throw new Error(`mesh ${stack.mesh} is missing`);
  const { creationTime: _c, modificationTime: _m, ...mesh } = current.mesh as Mesh & { creationTime?: string; modificationTime?: string };
  return { ...mesh, mtls: { enabledBackend: name, backends: [backend] } } as Mesh;
}
