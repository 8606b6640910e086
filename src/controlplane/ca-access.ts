/**
 * The control plane's view of a mesh's CA backends: roots and fingerprints computed once per mesh
 * version, issuers opened once per backend definition, secrets read through the encrypted store.
 */
import type { Backend, Mesh, ValidationResult } from '../mesh/schema';
import type { CaBackend, CaContext, Issuer, SecretStore } from '../ca/types';
import { certificateFingerprint, splitCertificates } from './certificates';
import { builtinCertSecretName, builtinKeySecretName } from '../ca/builtin';
import { CaConfigError, CaUnavailableError } from '../ca/errors';
import { ApiError, badRequest } from './http-util';
import type { TrustBundleEntry as WireTrustBundleEntry } from '../mesh/dataplane-api';
import type { ControlPlaneStore } from './store';

export interface CaRegistry {
  caBackendFor(type: string): CaBackend | undefined;
  validateBackends(mesh: Mesh, ctx: CaContext): Promise<ValidationResult>;
}

/** What the stream serves per backend root (the `/dp/v1` contract), fingerprint always computed here. */
export type TrustBundleEntry = Required<WireTrustBundleEntry>;

/** Everything delivery and ack mapping need about one version of a mesh's mTLS setup. */
export interface MeshMaterial {
  mesh: string;
  version: number;
  enabledBackend: string | undefined;
  trustBundle: TrustBundleEntry[];
  /** The trust bundle as JSON, serialised once for every proxy's event. */
  trustBundleJson: string;
  /** Root fingerprints of each backend of this version. */
  rootFingerprints: Map<string, string[]>;
}

/**
 * Stores a Secret a backend generates where Secrets live when the store only mirrors them (Kubernetes
 * mode): creates it only if absent and returns what is stored afterwards (first writer wins).
 */
export type GeneratedSecretWriter = (mesh: string, name: string, data: Buffer) => Promise<Buffer>;

export class CaAccess {
  private readonly materials = new Map<string, { key: string; material: Promise<MeshMaterial> }>();
  private readonly issuers = new Map<string, Promise<Issuer>>();
  /** Bumped when a mesh's secrets change: cached roots and issuers may be stale then. */
  private readonly secretGenerations = new Map<string, number>();

  constructor(
    private readonly store: ControlPlaneStore,
    readonly registry: CaRegistry,
    private readonly vaultDefaults: { address?: string; token?: string } | undefined,
    /** Undefined: the store is where Secrets live. */
    private readonly generatedSecrets?: GeneratedSecretWriter,
  ) {}

  context(mesh: string): CaContext {
    const store = this.store;
    const writer = this.generatedSecrets;
    const secrets: SecretStore = {
      get: async (m, name) => store.secrets.get(m, name),
      putIfAbsent: async (m, name, data) => {
        if (!writer) return store.secrets.putIfAbsent(m, name, data, new Date().toISOString());
        const stored = await writer(m, name, data);
        // The watch brings it too, later: the next read must see it now.
        store.secrets.put(m, name, stored, new Date().toISOString());
        return stored;
      },
    };
    return { mesh, secrets, vaultDefaults: this.vaultDefaults };
  }

  backendImpl(backend: Backend): CaBackend {
    const impl = this.registry.caBackendFor(backend.type);
    if (!impl) throw new Error(`backend "${backend.name}" has unknown type "${backend.type}"`);
    return impl;
  }

  secretsChanged(mesh: string): void {
    this.secretGenerations.set(mesh, (this.secretGenerations.get(mesh) ?? 0) + 1);
    this.materials.delete(mesh);
    for (const key of [...this.issuers.keys()]) {
      if (!key.startsWith(`${mesh}\0`)) continue;
      closeIssuer(this.issuers.get(key));
      this.issuers.delete(key);
    }
  }

  /** Releases every cached issuer (their signing threads): the control plane is stopping. */
  async close(): Promise<void> {
    const issuers = [...this.issuers.values()];
    this.issuers.clear();
    await Promise.all(issuers.map((issuer) => issuer.then((i) => i.close?.(), () => undefined)));
  }

  /** Makes new or changed backends usable (builtin generates its CA here, once). */
  async ensureBackends(mesh: Mesh, previous: Mesh | undefined): Promise<void> {
    const before = new Map((previous?.mtls?.backends ?? []).map((b) => [b.name, JSON.stringify(b)]));
    for (const [i, backend] of (mesh.mtls?.backends ?? []).entries()) {
      if (before.get(backend.name) === JSON.stringify(backend)) continue;
      this.refuseHalfStoredBuiltin(mesh.name, backend, i);
      try {
        await this.backendImpl(backend).ensure(this.context(mesh.name), backend);
      } catch (err) {
        // The mesh (or the Secrets it names) cannot work: the caller's to fix, nothing was written.
        if (err instanceof CaConfigError) throw badRequest(`backend "${backend.name}" of mesh "${mesh.name}" cannot be used`, [{ field: err.path ?? `mtls.backends[${i}]`, message: err.message }]);
        if (err instanceof CaUnavailableError) throw new ApiError(503, 'Service Unavailable', `backend "${backend.name}" cannot be reached now: ${err.message}`);
        throw err;
      }
    }
  }

  /**
   * A builtin CA stored as one of its two Secrets (the other deleted while unused) cannot be completed:
   * ensure would store a new key next to the old certificate, a change made before it fails.
   */
  private refuseHalfStoredBuiltin(mesh: string, backend: Backend, index: number): void {
    if (backend.type !== 'builtin') return;
    const cert = this.store.secrets.list(mesh).some((s) => s.name === builtinCertSecretName(mesh, backend.name));
    const key = this.store.secrets.list(mesh).some((s) => s.name === builtinKeySecretName(mesh, backend.name));
    if (cert !== key) {
      throw badRequest(`backend "${backend.name}" of mesh "${mesh}" cannot be used`, [
        { field: `mtls.backends[${index}]`, message: `its stored CA is incomplete (secret ${cert ? builtinKeySecretName(mesh, backend.name) : builtinCertSecretName(mesh, backend.name)} is missing): use a new backend name` },
      ]);
    }
  }

  /** The current material of a mesh, or undefined when the mesh does not exist. */
  async material(meshName: string): Promise<MeshMaterial | undefined> {
    const stored = this.store.meshes.get(meshName);
    if (!stored) return undefined;
    const key = `${stored.version}/${this.secretGenerations.get(meshName) ?? 0}`;
    const cached = this.materials.get(meshName);
    if (cached?.key === key) return cached.material;
    const material = this.buildMaterial(stored.mesh, stored.version);
    this.materials.set(meshName, { key, material });
    material.catch(() => {
      if (this.materials.get(meshName)?.material === material) this.materials.delete(meshName);
    });
    return material;
  }

  async issuer(meshName: string, backend: Backend): Promise<Issuer> {
    const key = `${meshName}\0${this.secretGenerations.get(meshName) ?? 0}\0${JSON.stringify(backend)}`;
    let issuer = this.issuers.get(key);
    if (!issuer) {
      issuer = this.backendImpl(backend).openIssuer(this.context(meshName), backend);
      this.issuers.set(key, issuer);
      issuer.catch(() => this.issuers.delete(key));
    }
    return issuer;
  }

  private async buildMaterial(mesh: Mesh, version: number): Promise<MeshMaterial> {
    const ctx = this.context(mesh.name);
    const trustBundle: TrustBundleEntry[] = [];
    const rootFingerprints = new Map<string, string[]>();
    for (const backend of mesh.mtls?.backends ?? []) {
      const pems = (await this.backendImpl(backend).rootCertificates(ctx, backend)).flatMap(splitCertificates);
      const fingerprints: string[] = [];
      for (const pem of pems) {
        const fingerprint = certificateFingerprint(pem);
        fingerprints.push(fingerprint);
        trustBundle.push({ backend: backend.name, pem, fingerprint });
      }
      rootFingerprints.set(backend.name, fingerprints);
      // Kept forever: a proxy may still report these roots after the backend is gone.
      this.store.fingerprints.record(mesh.name, 'root', backend.name, fingerprints);
    }
    return {
      mesh: mesh.name,
      version,
      enabledBackend: mesh.mtls?.enabledBackend,
      trustBundle,
      trustBundleJson: JSON.stringify(trustBundle),
      rootFingerprints,
    };
  }
}

function closeIssuer(issuer: Promise<Issuer> | undefined): void {
  void issuer?.then((i) => i.close?.(), () => undefined);
}
