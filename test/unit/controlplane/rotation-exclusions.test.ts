/**
 * A rotation's offline policy reaches the control plane's own admission: the proxies it left out of its
 * gates are left out of its next edit too, but only while they are offline, whoever names them. Both
 * doors: the REST API's PUT (a worker credential) and the Kubernetes admission webhook (annotations).
 */
import { randomBytes } from 'node:crypto';
import * as caRegistry from '../../../src/ca/registry';
import { CaAccess } from '../../../src/controlplane/ca-access';
import { ApiError } from '../../../src/controlplane/http-util';
import { MeshWriter } from '../../../src/controlplane/mesh-writes';
import { SecretCipher } from '../../../src/controlplane/secret-crypto';
import { ControlPlaneStore } from '../../../src/controlplane/store';
import { reviewMeshChange } from '../../../src/kubernetes/admission-webhook';
import { EXCLUDE_OFFLINE_ANNOTATION, LAST_CHANGE_ANNOTATION, newMeshObject } from '../../../src/kubernetes/resources';
import type { Mesh } from '../../../src/mesh/schema';

const MESH = 'default';

function mesh(enabled: string, backends: string[]): Mesh {
  return { type: 'Mesh', name: MESH, mtls: { enabledBackend: enabled, backends: backends.map((name) => ({ name, type: 'builtin' })) } } as Mesh;
}

describe('exclusions from a rotation, in the control plane admission', () => {
  let store: ControlPlaneStore;
  let writer: MeshWriter;

  beforeEach(async () => {
    store = new ControlPlaneStore({ memory: true }, new SecretCipher(randomBytes(32)));
    writer = new MeshWriter(store, new CaAccess(store, caRegistry, undefined));
    await writer.put({ name: MESH, body: mesh('ca-1', ['ca-1']), ifVersion: undefined, force: false, actor: 'admin' });
    await writer.put({ name: MESH, body: mesh('ca-1', ['ca-1', 'ca-2']), ifVersion: undefined, force: false, actor: 'admin' });
    // Two proxies that do not trust ca-2 (no ack yet): one connected, one gone quiet.
    const registration = (name: string, host: string) => ({ mesh: MESH, name, host, address: '127.0.0.1', port: 1, tags: {}, csrPem: 'unused' });
    store.dataplanes.register([registration('up', 'host-up'), registration('down', 'host-down')], (host) => host === 'host-up', new Date().toISOString());
  });
  afterEach(() => store.close());

  const switchTo = (exclude: string[], excludeOnlyOffline: boolean) =>
    writer.put({ name: MESH, body: mesh('ca-2', ['ca-1', 'ca-2']), ifVersion: undefined, force: false, actor: 'worker:rotator', exclude, excludeOnlyOffline });

  it('REST, worker: an online proxy it names still counts (refused, naming it); unknown names are ignored, not refused', async () => {
    const refused = await switchTo(['up', 'down', 'gone-already'], true).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(422);
    expect((refused as ApiError).message).toMatch(/1 of 1 data plane proxies do not trust it yet/);
    expect(store.meshes.get(MESH)?.mesh.mtls?.enabledBackend).toBe('ca-1');
  });

  it('REST, worker: with only the offline proxy between the rotation and its step, the edit is admitted and the history names it', async () => {
    store.dataplanes.delete(MESH, 'up'); // deregistered meanwhile: a name the worker still sends
    const written = await switchTo(['up', 'down'], true);
    expect(written.changed).toBe(true);
    expect(store.meshes.history(MESH).at(-1)?.excluded).toEqual(['down']);
  });

  it('REST, admin: an unknown name is refused, naming the field, nothing written', async () => {
    store.dataplanes.delete(MESH, 'up');
    const refused = await switchTo(['up', 'down'], false).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(400);
    expect((refused as ApiError).causes?.map((cause) => cause.field)).toEqual(['exclude']);
    expect(store.meshes.get(MESH)?.mesh.mtls?.enabledBackend).toBe('ca-1');
  });

  it('webhook: the annotation counts only on the rotation write that sets a new last-change, and only for offline proxies', () => {
    const before = newMeshObject(mesh('ca-1', ['ca-1', 'ca-2']));
    const annotated = (change: string, exclude: string) => {
      const object = newMeshObject(mesh('ca-2', ['ca-1', 'ca-2']));
      return { ...object, metadata: { ...object.metadata, annotations: { [LAST_CHANGE_ANNOTATION]: change, [EXCLUDE_OFFLINE_ANNOTATION]: exclude } } };
    };
    const old = { ...before, metadata: { ...before.metadata, annotations: { [LAST_CHANGE_ANNOTATION]: 'ca-rotation/default: add-backend' } } };
    // Both named, but "up" is online: still refused, naming it.
    expect(reviewMeshChange(store, annotated('ca-rotation/default: switch-enabled', 'up,down'), old)).toEqual({
      allowed: false,
      message: expect.stringMatching(/1 of 1 data plane proxies .*pending proxies: up$/),
    });
    // A later edit that keeps the rotation's old annotations (kubectl apply): no exclusion at all.
    const stale = { ...old, metadata: { ...old.metadata, annotations: { ...old.metadata.annotations, [EXCLUDE_OFFLINE_ANNOTATION]: 'down' } } };
    expect(reviewMeshChange(store, annotated('ca-rotation/default: add-backend', 'down'), stale)).toMatchObject({ allowed: false, message: expect.stringMatching(/2 of 2/) });
  });
});
