export * from './types';
export { caBackendFor, validateBackend, validateBackends } from './registry';
export { MemorySecretStore } from './memory-secret-store';
export { builtinBackend, builtinCertSecretName, builtinKeySecretName } from './builtin';
export { providedBackend } from './provided';
export { vaultBackend } from './vault';
export { loadDataSource } from './data-source';
export { leafValidityMs, DEFAULT_LEAF_VALIDITY_MS } from './leaf-validity';
