/**
 * Our control plane in Kubernetes mode, like kuma-cp on Kubernetes: Meshes and Secrets are watched in
 * the API server (the source of truth; the control plane holds them in memory only, relisted on every
 * start), a builtin backend's generated CA is stored there as Secrets, every proxy gets a Dataplane and
 * a DataplaneInsight resource, and Mesh edits are checked by a validating admission webhook that runs
 * the same gate as the REST API's PUT.
 */
import type { ProxyChange, ProxyChangeSink } from '../controlplane/ack-relay';
import { ApiError } from '../controlplane/http-util';
import type { ControlPlaneMode, ControlPlaneParts } from '../controlplane/server';
import type { ControlPlaneStore, DataplaneRow } from '../controlplane/store';
import {
  type KubernetesConnection,
  KubernetesConflictError,
  KubernetesPermanentError,
  KubernetesTransientError,
  isObjectNotFound,
  kubeCall,
  kubeGet,
  kubernetesError,
} from './connection';
import { ListWatch } from './list-watch';
import { closeStaleInsights } from './stale-insights';
import { CONTROL_PLANE_PERMISSIONS, checkPermissions } from './permissions';
import { type MeshWebhook, startMeshWebhook } from './admission-webhook';
import {
  DATAPLANES,
  DATAPLANE_INSIGHTS,
  KUMA_GROUP,
  KUMA_VERSION,
  MESHES,
  type MeshObject,
  MeshObjectSchema,
  type SecretObject,
  SecretObjectSchema,
  kumaSecretMesh,
  kumaSecretObject,
  meshFromObject,
} from './resources';
import { KUMA_SECRET_TYPE } from '../mesh/documents';
import { listKumaObjects } from './connection';
import { errorMessage } from '../mesh/errors';

export interface KubernetesModeOptions {
  connection: KubernetesConnection;
  /** Namespace of the Dataplane and DataplaneInsight resources of our proxies. */
  dataplaneNamespace: string;
  /** Serve and register the admission webhook; omitted: no webhook. */
  webhook?: { port?: number; host?: string; url?: string };
}

/** How many resource writes run at once. */
const WRITE_CONCURRENCY = 8;
const CONTROL_PLANE_INSTANCE = 'mesh-ca-rotator-cp';
const MESH_RETRY_MS = 2_000;

export class KubernetesControlPlaneMode implements ControlPlaneMode {
  private parts: ControlPlaneParts | undefined;
  private secretsWatch: ListWatch<SecretObject> | undefined;
  private meshesWatch: ListWatch<MeshObject> | undefined;
  private webhook: MeshWebhook | undefined;
  private writer: InsightWriter | undefined;
  private readonly latestMeshes = new Map<string, MeshObject>();
  private stopped = false;

  constructor(private readonly options: KubernetesModeOptions) {}

  get webhookUrl(): string | undefined {
    return this.webhook?.url;
  }

  proxyChanges(store: ControlPlaneStore): ProxyChangeSink {
    this.writer = new InsightWriter(this.options.connection, this.options.dataplaneNamespace, store, (line) => this.parts?.log(line));
    return this.writer;
  }

  async start(parts: ControlPlaneParts): Promise<void> {
    this.parts = parts;
    const { connection } = this.options;
    // One line naming every missing verb now, rather than a watch that retries a 403 forever.
    await checkPermissions(connection, CONTROL_PLANE_PERMISSIONS.filter((permission) => this.options.webhook || !permission.webhook));
    const namespace = connection.namespace;
    this.secretsWatch = new ListWatch({
      connection,
      what: `secrets in ${namespace}`,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      query: { fieldSelector: `type=${KUMA_SECRET_TYPE}` },
      schema: SecretObjectSchema,
      list: async () => {
        const listed = await kubeCall(connection, { verb: 'list', resource: 'secrets', namespace }, () =>
          connection.core.listNamespacedSecret({ namespace, fieldSelector: `type=${KUMA_SECRET_TYPE}` }),
        );
        return { items: listed.items, resourceVersion: listed.metadata?.resourceVersion ?? '' };
      },
      onSync: (items) => this.secretsListed(items),
      onEvent: (type, item) => this.secretChanged(type, item),
      log: parts.log,
    });
    await this.secretsWatch.synced;
    this.meshesWatch = new ListWatch({
      connection,
      what: 'meshes.kuma.io',
      path: `/apis/${KUMA_GROUP}/${KUMA_VERSION}/${MESHES}`,
      schema: MeshObjectSchema,
      list: () => listKumaObjects(connection, MESHES),
      onSync: async (items) => {
        // Deleted while the watch was down: the listing is the whole truth.
        const listed = new Set(items.map((item) => item.metadata.name));
        for (const { mesh } of parts.store.meshes.list()) if (!listed.has(mesh.name)) this.meshGone(mesh.name);
        for (const item of items) await this.meshChanged('MODIFIED', item);
      },
      onEvent: (type, item) => this.meshChanged(type, item),
      log: parts.log,
    });
    await this.meshesWatch.synced;
    const closed = await closeStaleInsights(connection, this.options.dataplaneNamespace, (mesh, name) => parts.store.dataplanes.get(mesh, name) !== undefined, new Date().toISOString());
    if (closed > 0) parts.log(`kubernetes mode: ${closed} DataplaneInsights of proxies not (yet) back since the last run are marked disconnected`);
    if (this.options.webhook) this.webhook = await startMeshWebhook({ connection, store: parts.store, ...this.options.webhook });
    parts.log(`kubernetes mode: watching meshes and secrets (${namespace}) at ${connection.server}${this.webhook ? `, admission webhook at ${this.webhook.url}` : ''}`);
  }

  /**
   * A builtin backend's CA as kuma-cp on Kubernetes keeps it: a Secret in the control plane's namespace.
   * Created only if absent; when another writer (a previous run, another replica) got there first, its
   * value is what counts.
   */
  async putSecretIfAbsent(mesh: string, name: string, data: Buffer): Promise<Buffer> {
    const { connection } = this.options;
    const namespace = connection.namespace;
    const action = { resource: 'secrets', name, namespace };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const body = kumaSecretObject(mesh, name, namespace, data.toString('base64'));
        await kubeCall(connection, { ...action, verb: 'create' }, () => connection.core.createNamespacedSecret({ namespace, body }));
        return data;
      } catch (err) {
        if (!(err instanceof KubernetesConflictError)) throw err;
      }
      const existing = await kubeGet(connection, { ...action, verb: 'get' }, () => connection.core.readNamespacedSecret({ name, namespace }));
      // Deleted between our create and our read: create again.
      if (existing === undefined) continue;
      return storedSecretValue(existing, mesh, name, namespace);
    }
    throw new KubernetesTransientError(`secret ${namespace}/${name} was created and deleted under us repeatedly`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.webhook?.stop();
    await this.meshesWatch?.stop();
    await this.secretsWatch?.stop();
  }

  /** The complete set after a (re)listing: Secrets deleted while the watch was down go too. */
  private secretsListed(items: SecretObject[]): void {
    const parts = this.parts;
    if (!parts) return;
    const listed = new Set(items.flatMap((item) => (kumaSecretMesh(item) ? [`${kumaSecretMesh(item)}/${item.metadata.name}`] : [])));
    for (const { mesh } of parts.store.meshes.list()) {
      const gone = parts.store.secrets.list(mesh.name).filter((secret) => !listed.has(`${mesh.name}/${secret.name}`));
      for (const secret of gone) parts.store.secrets.delete(mesh.name, secret.name);
      if (gone.length > 0) parts.ca.secretsChanged(mesh.name);
    }
    for (const item of items) this.secretChanged('MODIFIED', item);
  }

  private secretChanged(type: string, object: SecretObject): void {
    const parts = this.parts;
    const mesh = kumaSecretMesh(object);
    if (!parts || !mesh) return;
    const name = object.metadata.name;
    if (type === 'DELETED') {
      if (parts.store.secrets.delete(mesh, name)) parts.ca.secretsChanged(mesh);
      return;
    }
    const value = object.data?.value;
    if (value === undefined) return;
    const data = Buffer.from(value, 'base64');
    if (parts.store.secrets.get(mesh, name)?.equals(data)) return;
    parts.store.secrets.put(mesh, name, data, new Date().toISOString());
    // Roots and issuers cached from the old value are stale now (a replaced provided CA, say).
    parts.ca.secretsChanged(mesh);
  }

  private meshGone(name: string): void {
    this.latestMeshes.delete(name);
    this.parts?.store.deleteMesh(name);
  }

  private async meshChanged(type: string, object: MeshObject): Promise<void> {
    const parts = this.parts;
    if (!parts) return;
    const name = object.metadata.name;
    this.latestMeshes.set(name, object);
    if (type === 'DELETED') {
      this.meshGone(name);
      return;
    }
    try {
      // The API server already admitted this edit (our webhook ran the gate): apply it as it is.
      const written = await parts.meshes.put({ name, body: meshFromObject(object), ifVersion: undefined, force: true, actor: `kubernetes generation ${object.metadata.generation ?? '?'}` });
      if (!written.changed) return;
      await parts.delivery.pushMesh(name);
      parts.issuance.kick(name);
    } catch (err) {
      const detail = err instanceof ApiError ? `${err.message}${err.causes?.length ? ` (${err.causes.map((c) => `${c.field}: ${c.message}`).join('; ')})` : ''}` : String(err);
      parts.log(`kubernetes mode: mesh "${name}" (generation ${object.metadata.generation ?? '?'}) was not applied: ${detail}; retrying`);
      // E.g. its Secrets are not here yet: try again with whatever version is the latest by then.
      setTimeout(() => {
        const latest = this.latestMeshes.get(name);
        if (latest === object && !this.stopped) void this.meshChanged(type, latest);
      }, MESH_RETRY_MS).unref();
    }
  }
}

/** The value of a Secret someone else created under the name we wanted, when it is the Kuma Secret we expect. */
function storedSecretValue(found: unknown, mesh: string, name: string, namespace: string): Buffer {
  const parsed = SecretObjectSchema.safeParse(found);
  const owner = parsed.success ? kumaSecretMesh(parsed.data) : undefined;
  const value = parsed.success ? parsed.data.data?.value : undefined;
  if (owner !== mesh || value === undefined) {
    throw new KubernetesPermanentError(
      `secret ${namespace}/${name} exists but is not a ${KUMA_SECRET_TYPE} Secret of mesh "${mesh}" with data.value: remove it or use another backend name`,
    );
  }
  return Buffer.from(value, 'base64');
}

/**
 * Keeps one Dataplane and one DataplaneInsight per proxy in step with the store, as kuma-cp does on
 * Kubernetes. Writes are coalesced per proxy (the latest state wins) and retried until they land.
 */
class InsightWriter implements ProxyChangeSink {
  private readonly dirty = new Map<string, { mesh: string; name: string; removed: boolean }>();
  private readonly versions = new Map<string, string>();
  private readonly dataplanesWritten = new Set<string>();
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly connection: KubernetesConnection,
    private readonly namespace: string,
    private readonly store: ControlPlaneStore,
    private readonly log: (line: string) => void,
  ) {}

  proxiesChanged(rows: readonly ProxyChange[]): void {
    for (const row of rows) this.dirty.set(row.name, { mesh: row.mesh, name: row.name, removed: false });
    this.kick();
  }

  proxyRemoved(mesh: string, name: string): void {
    this.dirty.set(name, { mesh, name, removed: true });
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.dirty.size > 0 && !this.stopped) setTimeout(() => this.kick(), 1_000).unref();
    });
  }

  private async drain(): Promise<void> {
    while (this.dirty.size > 0 && !this.stopped) {
      const batch = [...this.dirty.values()].slice(0, WRITE_CONCURRENCY * 4);
      for (const item of batch) this.dirty.delete(item.name);
      const failed: typeof batch = [];
      for (let i = 0; i < batch.length; i += WRITE_CONCURRENCY) {
        await Promise.all(
          batch.slice(i, i + WRITE_CONCURRENCY).map(async (item) => {
            try {
              await this.write(item);
            } catch (err) {
              failed.push(item);
              this.log(`kubernetes mode: cannot write the insight of proxy ${item.name}: ${errorMessage(err)}`);
            }
          }),
        );
      }
      // A newer change queued meanwhile wins over a failed older one.
      for (const item of failed) if (!this.dirty.has(item.name)) this.dirty.set(item.name, item);
      if (failed.length > 0) return;
    }
  }

  private async write(item: { mesh: string; name: string; removed: boolean }): Promise<void> {
    const row = item.removed ? undefined : this.store.dataplanes.get(item.mesh, item.name);
    if (!row) {
      await this.remove(DATAPLANE_INSIGHTS, item.name);
      await this.remove(DATAPLANES, item.name);
      this.dataplanesWritten.delete(item.name);
      this.versions.delete(item.name);
      return;
    }
    if (!this.dataplanesWritten.has(item.name)) {
      await this.upsert(DATAPLANES, dataplaneObject(row, this.namespace), undefined);
      this.dataplanesWritten.add(item.name);
    }
    const written = await this.upsert(DATAPLANE_INSIGHTS, insightObject(row, this.namespace), this.versions.get(item.name));
    this.versions.set(item.name, written);
  }

  /** Replace (under the last resourceVersion we wrote), create when absent, re-read on a conflict. */
  private async upsert(plural: string, body: KumaObject, resourceVersion: string | undefined): Promise<string> {
    const { connection, namespace } = this;
    const name = body.metadata.name;
    const ref = { group: KUMA_GROUP, version: KUMA_VERSION, plural, namespace, name };
    const action = { verb: 'update', resource: `${plural}.${KUMA_GROUP}`, name, namespace };
    let version = resourceVersion;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (version === undefined) {
          const created = (await connection.custom.createNamespacedCustomObject({ ...ref, body })) as { metadata?: { resourceVersion?: string } };
          return created.metadata?.resourceVersion ?? '';
        }
        const replaced = (await connection.custom.replaceNamespacedCustomObject({ ...ref, body: { ...body, metadata: { ...body.metadata, resourceVersion: version } } })) as {
          metadata?: { resourceVersion?: string };
        };
        return replaced.metadata?.resourceVersion ?? '';
      } catch (err) {
        if (isObjectNotFound(err)) {
          version = undefined;
          continue;
        }
        const failure = kubernetesError(err, action, connection);
        if (!(failure instanceof KubernetesConflictError)) throw failure;
        const current = (await kubeCall(connection, { ...action, verb: 'get' }, () => connection.custom.getNamespacedCustomObject(ref))) as {
          metadata?: { resourceVersion?: string };
        };
        version = current.metadata?.resourceVersion;
      }
    }
    throw new Error(`${plural} ${namespace}/${name} kept changing under us`);
  }

  private async remove(plural: string, name: string): Promise<void> {
    try {
      await this.connection.custom.deleteNamespacedCustomObject({ group: KUMA_GROUP, version: KUMA_VERSION, plural, namespace: this.namespace, name });
    } catch (err) {
      if (!isObjectNotFound(err)) throw kubernetesError(err, { verb: 'delete', resource: `${plural}.${KUMA_GROUP}`, name, namespace: this.namespace }, this.connection);
    }
  }
}

type KumaObject = Record<string, unknown> & { metadata: { name: string; namespace: string; labels: Record<string, string> } };

function dataplaneObject(row: DataplaneRow, namespace: string): KumaObject {
  return {
    apiVersion: `${KUMA_GROUP}/${KUMA_VERSION}`,
    kind: 'Dataplane',
    mesh: row.mesh,
    metadata: { name: row.name, namespace, labels: { 'kuma.io/mesh': row.mesh } },
    spec: { networking: { address: row.address, inbound: [{ port: row.port, tags: row.tags }] } },
  };
}

function insightObject(row: DataplaneRow, namespace: string): KumaObject {
  const expiry = row.certificate?.expiresAt;
  return {
    apiVersion: `${KUMA_GROUP}/${KUMA_VERSION}`,
    kind: 'DataplaneInsight',
    mesh: row.mesh,
    metadata: { name: row.name, namespace, labels: { 'kuma.io/mesh': row.mesh } },
    status: {
      subscriptions: [
        {
          id: `${row.host}/${row.name}`,
          controlPlaneInstanceId: CONTROL_PLANE_INSTANCE,
          ...(row.connectTime ? { connectTime: row.connectTime } : {}),
          ...(row.online ? {} : { disconnectTime: row.disconnectTime ?? new Date().toISOString() }),
        },
      ],
      mTLS: {
        supportedBackends: row.supportedBackends,
        ...(row.issuedBackend ? { issuedBackend: row.issuedBackend } : {}),
        ...(expiry ? { certificateExpirationTime: expiry } : {}),
        ...(row.lastCertificateRegeneration ? { lastCertificateRegeneration: row.lastCertificateRegeneration } : {}),
        certificateRegenerations: row.certificateRegenerations,
      },
    },
  };
}
