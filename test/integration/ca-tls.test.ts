/**
 * Certificates from every backend, checked the way proxies will use them: a real TLS handshake
 * (mutual, Node's own TLS stack) trusting only the backend's roots, and failing with another CA's roots.
 */
import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { caBackendFor } from '../../src/ca/registry';
import { Issues } from '../../src/mesh/validate-issues';
import { MemorySecretStore } from '../../src/ca/memory-secret-store';
import { provisionDevPki } from '../../src/ca/vault-dev-pki';
import type { CaContext, IssuedIdentity } from '../../src/ca/types';
import type { Backend } from '../../src/mesh/schema';
import { generateCa } from '../../src/pki/ca-certificate';
import { createCsr } from '../../src/pki/csr';
import { generateKeyPair, privateKeyToPem } from '../../src/pki/keys';
import { testServers } from '../harness/env';

interface Identity {
  keyPem: string;
  issued: IssuedIdentity;
}

async function issueIdentity(ctx: CaContext, backend: Backend, service: string): Promise<Identity> {
  const implementation = caBackendFor(backend.type);
  if (!implementation) throw new Error(`no backend ${backend.type}`);
  await implementation.ensure(ctx, backend);
  const issuer = await implementation.openIssuer(ctx, backend);
  try {
    const { privateKey } = await generateKeyPair();
    const issued = await issuer.issue({ csrDer: createCsr(privateKey), service, tags: { 'kuma.io/service': service, version: 'v1' } });
    return { keyPem: privateKeyToPem(privateKey), issued };
  } finally {
    await issuer.close?.();
  }
}

const certChain = (identity: Identity): string => [identity.issued.certificatePem, ...identity.issued.chainPem].join('');

/** A mutual TLS handshake; resolves with the SPIFFE URI the client saw, or the client's error code. */
async function handshake(server: Identity, client: Identity, serverTrusts: string[], clientTrusts: string[]): Promise<{ ok: true; peerUri: string } | { ok: false; code: string }> {
  const tlsServer = tls.createServer({ key: server.keyPem, cert: certChain(server), ca: serverTrusts, requestCert: true, rejectUnauthorized: true }, (socket) => socket.end('ok'));
  tlsServer.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const { port } = tlsServer.address() as AddressInfo;
  try {
    return await new Promise((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        key: client.keyPem,
        cert: certChain(client),
        ca: clientTrusts,
        // Mesh identities are URI SANs, not host names: check the SPIFFE ID instead.
        checkServerIdentity: (_host, cert) => (cert.subjectaltname?.includes('spiffe://default/server') ? undefined : new Error('unexpected identity')),
      });
      socket.on('secureConnect', () => {
        const peerUri = /URI:(spiffe:\/\/[^,]+)/.exec(socket.getPeerCertificate().subjectaltname ?? '')?.[1] ?? '';
        socket.once('data', () => {
          socket.end();
          resolve({ ok: true, peerUri });
        });
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message }));
    });
  } finally {
    await new Promise((resolve) => tlsServer.close(resolve));
  }
}

describe('identity certificates of every backend pass a real TLS handshake', () => {
  const ctx: CaContext = { mesh: 'default', secrets: new MemorySecretStore() };
  const backends: Record<string, () => Promise<Backend>> = {
    builtin: async () => ({ name: 'ca-builtin', type: 'builtin' }),
    provided: async () => {
      const root = await generateCa({ commonName: 'provided root' });
      const intermediate = await generateCa({ commonName: 'provided intermediate', issuer: root });
      return { name: 'ca-provided', type: 'provided', conf: { cert: { inlineString: intermediate.certificatePem + root.certificatePem }, key: { inlineString: intermediate.privateKeyPem } } };
    },
    vault: async () => {
      const { vaultAddress, vaultToken } = testServers();
      const pki = await provisionDevPki({ address: vaultAddress, token: vaultToken, mount: `ca-tls-${randomBytes(4).toString('hex')}`, mesh: 'default' });
      return pki.backend('ca-vault', '1h');
    },
  };

  it.each(Object.keys(backends))('%s', async (type) => {
    const backend = await (backends[type] as () => Promise<Backend>)();
    const implementation = caBackendFor(type);
    if (!implementation) throw new Error(`no backend ${type}`);
    const issues = Issues.collect();
    await implementation.validate(ctx, backend, issues.at('mtls.backends[0]'));
    expect(issues.result).toEqual({ errors: [], warnings: [] });
    const server = await issueIdentity(ctx, backend, 'server');
    const client = await issueIdentity(ctx, backend, 'client');
    const roots = await implementation.rootCertificates(ctx, backend);

    expect(await handshake(server, client, roots, roots)).toEqual({ ok: true, peerUri: 'spiffe://default/server' });

    const stranger = await generateCa({ commonName: 'some other CA' });
    const refused = await handshake(server, client, roots, [stranger.certificatePem]);
    // The server sends its chain (OpenSSL adds the root from its own trust store): the client must still refuse it.
    expect(refused.ok).toBe(false);
    expect((refused as { code: string }).code).toMatch(/^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/);
  });
});
