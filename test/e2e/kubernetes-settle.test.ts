/**
 * The settle rule on watched DataplaneInsights, on a real kube-apiserver: against a control plane that
 * flushes insights periodically (kuma-cp), an insight written right after a Mesh change may describe a
 * config not yet in the proxy, so the watcher must not pass it to the workflow before the window ends,
 * and must pass it once the window has ended even if the insight is not written again.
 */
import type { ProxyChange } from '../../src/controlplane/ack-relay';
import type { KubernetesDevCluster } from '../../src/devstack/kubernetes';
import { connectKubernetes, type KubernetesConnection } from '../../src/kubernetes/connection';
import { KubernetesInsightWatcher } from '../../src/kubernetes/insight-watcher';
import { applyObjects } from '../../src/kubernetes/manifests';
import { newMeshObject } from '../../src/kubernetes/resources';
import type { Mesh } from '../../src/mesh/schema';
import { describeWhenAvailable } from '../harness/requirements';
import { kubernetesMissing, startTestCluster } from './kubernetes-support';

const SETTLE_MS = 4_000;
const NAMESPACE = 'kuma-demo';
/** Server timestamps have whole seconds: the window can look up to a second shorter from here. */
const TIMESTAMP_RESOLUTION_MS = 1_000;

interface Recorded {
  name: string;
  supportedBackends: readonly string[];
  issuedBackend?: string;
  seq: number;
  atMs: number;
}

function mesh(backends: string[]): Mesh {
  return { type: 'Mesh', name: 'settling', mtls: { enabledBackend: 'ca-1', backends: backends.map((name) => ({ name, type: 'builtin' })) } } as Mesh;
}

function insight(supportedBackends: string[], issuedBackend: string) {
  return {
    apiVersion: 'kuma.io/v1alpha1',
    kind: 'DataplaneInsight',
    mesh: 'settling',
    metadata: { name: 'web-1', namespace: NAMESPACE, labels: { 'kuma.io/mesh': 'settling' } },
    status: {
      subscriptions: [{ id: 'web-1-stream', controlPlaneInstanceId: 'kuma-control-plane-0', connectTime: new Date().toISOString() }],
      mTLS: { supportedBackends, issuedBackend },
    },
  };
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeWhenAvailable('the settle rule on watched DataplaneInsights (real API server)', kubernetesMissing(), () => {
  let cluster: KubernetesDevCluster;
  let admin: KubernetesConnection;
  let workerKubeconfig: string;

  beforeAll(async () => {
    ({ cluster, workerKubeconfig } = await startTestCluster());
    admin = connectKubernetes({ kubeconfig: cluster.adminKubeconfig });
    await applyObjects(admin, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }]);
  }, 600_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('holds an insight written inside the window as unknown, then sends it once the window has passed without another write', async () => {
    await applyObjects(admin, [newMeshObject(mesh(['ca-1'])), insight(['ca-1'], 'ca-1')]);
    // Past the first window: the proxy's state before the step counts.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS + TIMESTAMP_RESOLUTION_MS));

    const recorded: Recorded[] = [];
    const record = (rows: readonly ProxyChange[], seqs: ReadonlyMap<string, number>) => {
      for (const row of rows) recorded.push({ name: row.name, supportedBackends: row.supportedBackends, issuedBackend: row.issuedBackend, seq: seqs.get(row.mesh) ?? 0, atMs: Date.now() });
    };
    // As the worker runs: with exactly the repository's RBAC.
    const watcher = new KubernetesInsightWatcher({
      connection: connectKubernetes({ kubeconfig: workerKubeconfig }),
      temporal: { address: 'unused:7233', namespace: 'default' },
      log: (line) => console.log(line),
      settleMs: SETTLE_MS,
      sink: () => ({ proxiesChanged: record, proxyRemoved: () => {}, stop: async () => {} }),
    });
    try {
      await watcher.synced;
      const before = await waitFor('the state before the step', () => recorded.find((r) => r.name === `web-1.${NAMESPACE}`));
      expect(before).toMatchObject({ supportedBackends: ['ca-1'], issuedBackend: 'ca-1' });

      // Step 1, and at once an insight claiming the proxy already trusts ca-2 (a flush of a config not yet delivered).
      const stepAt = Date.now();
      await applyObjects(admin, [newMeshObject(mesh(['ca-1', 'ca-2']))]);
      await applyObjects(admin, [insight(['ca-1', 'ca-2'], 'ca-1')]);

      const held = await waitFor('the early insight', () => recorded.find((r) => r.atMs >= stepAt && r.supportedBackends.length === 0));
      const believed = await waitFor('the settled insight', () => recorded.find((r) => r.atMs >= stepAt && r.supportedBackends.includes('ca-2')));
      // Never believed inside the window; believed after it from a listing (the insight was not written again).
      expect(recorded.filter((r) => r.atMs >= stepAt && r.atMs < stepAt + SETTLE_MS - TIMESTAMP_RESOLUTION_MS && r.supportedBackends.length > 0)).toEqual([]);
      console.log(`settle window ${SETTLE_MS} ms: early insight held as unknown after ${held.atMs - stepAt} ms, believed after ${believed.atMs - stepAt} ms`);
      expect(believed.atMs - stepAt).toBeGreaterThanOrEqual(SETTLE_MS - TIMESTAMP_RESOLUTION_MS);
      expect(believed.seq).toBeGreaterThan(held.seq);
      expect(held.seq).toBeGreaterThan(before.seq);
    } finally {
      await watcher.stop();
    }
  }, 180_000);
});
