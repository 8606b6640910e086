/** The raw Vault PKI flow the vault backend relies on, straight through node-vault against the real OpenBao dev server. */
import { X509Certificate, createPublicKey, randomBytes } from 'node:crypto';
import nodeVault from 'node-vault';
import { testServers } from '../harness/env';
import { createCsr, csrToPem } from '../../src/pki/csr';
import { generateKeyPair } from '../../src/pki/keys';
import { splitCertificatePems } from '../../src/pki/pem';

describe('Vault PKI through node-vault', () => {
  it('mounts pki, generates a root, creates a role, signs a CSR and serves the CA chain', async () => {
    const { vaultAddress, vaultToken } = testServers();
    const vault = nodeVault({ apiVersion: 'v1', endpoint: vaultAddress, token: vaultToken });
    const mount = `vault-pki-${randomBytes(4).toString('hex')}`;

    await vault.mount({ mount_point: mount, type: 'pki', config: { max_lease_ttl: '8760h' } });
    const root = await vault.write(`${mount}/root/generate/internal`, { common_name: 'test root', ttl: '8760h', key_type: 'ec', key_bits: 256 });
    await vault.write(`${mount}/roles/proxies`, { allowed_uri_sans: ['spiffe://default/*', 'kuma://*'], require_cn: false, allow_any_name: true, key_type: 'any', use_csr_sans: false, max_ttl: '48h' });

    const { privateKey } = await generateKeyPair();
    const signed = await vault.write(`${mount}/sign/proxies`, { csr: csrToPem(createCsr(privateKey)), uri_sans: ['spiffe://default/web', 'kuma://version/v1'], ttl: '1h' });
    const leaf = new X509Certificate(signed.data.certificate);
    const rootCert = new X509Certificate(root.data.certificate);
    expect(leaf.subjectAltName).toBe('URI:spiffe://default/web, URI:kuma://version/v1');
    expect(leaf.verify(rootCert.publicKey)).toBe(true);
    // Vault signed our key: it never generated one.
    expect(leaf.publicKey.export({ format: 'der', type: 'spki' })).toEqual(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));

    const caPem = await vault.read(`${mount}/ca/pem`);
    expect(splitCertificatePems(String(caPem)).map((p) => new X509Certificate(p).fingerprint256)).toEqual([rootCert.fingerprint256]);
    const chain = await vault.read(`${mount}/cert/ca_chain`);
    expect(String(chain.data.ca_chain ?? chain.data.certificate)).toContain('BEGIN CERTIFICATE');

    // A role's max_ttl is readable: the backend's preflight compares dpCert.rotation.expiration with it.
    const role = await vault.read(`${mount}/roles/proxies`);
    expect(role.data.max_ttl).toBe(48 * 3600);
  });
});
