export * from './certificate';
export * from './csr';
export * from './keys';
export * from './pem';
export * from './identity';
export * from './leaf-issuer';
export * from './ca-certificate';
export { OID, KeyUsageBit } from './oids';
export { SigningPool, defaultSigningThreads } from './signing-pool';
