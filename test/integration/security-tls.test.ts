/**
 * TLS on the API: the control plane generates its certificate on first start (or serves one it is
 * given), clients verify it against the CA file, and nothing is served in plaintext.
 */
import { X509Certificate } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { ControlPlaneClient, ControlPlaneTlsError } from '../../src/controlplane/client';
import { apiTlsFiles } from '../../src/controlplane/api-tls';
import { generateCa, generateServingCertificate } from '../../src/pki/ca-certificate';
import { ADMIN, rawRequest, startSecurityFixture, type SecurityFixture } from './security-support';

describe('TLS on the API', () => {
  let fx: SecurityFixture;
  beforeAll(async () => {
    fx = await startSecurityFixture();
  });
  afterAll(() => fx.stop());

  test('a generated certificate for localhost and 127.0.0.1, its key 0600, verified by clients holding the CA file', async () => {
    expect(fx.cp.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const files = apiTlsFiles(fx.dbFile);
    expect(statSync(files.key).mode & 0o777).toBe(0o600);
    const served = new X509Certificate(fx.cp.caPem ? (await peerCertificate(fx.cp.url, fx.cp.caPem)) : '');
    expect(served.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(served.subjectAltName).toContain('DNS:localhost');
    expect(served.checkIssued(new X509Certificate(fx.cp.caPem as string))).toBe(true);
    expect(await fx.admin.listMeshes()).toEqual([]);
  });

  test('a client without the CA, or with another CA, refuses the connection; plain HTTP gets no answer', async () => {
    await expect(new ControlPlaneClient({ url: fx.cp.url, token: ADMIN }).listMeshes()).rejects.toBeInstanceOf(ControlPlaneTlsError);
    const stranger = await generateCa({ commonName: 'stranger CA' });
    const strangerFile = path.join(fx.dir, 'stranger-ca.crt');
    writeFileSync(strangerFile, stranger.certificatePem);
    await expect(new ControlPlaneClient({ url: fx.cp.url, token: ADMIN, caFile: strangerFile }).listMeshes()).rejects.toBeInstanceOf(ControlPlaneTlsError);
    await expect(new ControlPlaneClient({ url: fx.cp.url.replace('https:', 'http:'), token: ADMIN, timeoutMs: 5_000 }).listMeshes()).rejects.toBeDefined();
  });

  test('a restart serves the same certificate; a certificate given as files is served instead', async () => {
    const before = fx.cp.caPem;
    await fx.restart();
    expect(fx.cp.caPem).toBe(before);
    expect(await fx.admin.listMeshes()).toEqual([]);

    const server = await generateServingCertificate({ commonName: 'operator', dnsNames: [], ipAddresses: ['127.0.0.1'], validityMs: 3600_000 });
    const [certFile, keyFile, caFile] = ['given.crt', 'given.key', 'given-ca.crt'].map((f) => path.join(fx.dir, f)) as [string, string, string];
    writeFileSync(certFile, server.certificatePem);
    writeFileSync(keyFile, server.privateKeyPem, { mode: 0o600 });
    writeFileSync(caFile, server.caPem);
    await fx.restart({ tls: { certFile, keyFile, caFile } });
    expect(fx.cp.caPem).toBe(server.caPem);
    expect((await rawRequest(fx.cp, 'GET', '/')).status).toBe(200);
    await fx.restart({ tls: undefined });
  });
});

function peerCertificate(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(`${url}/`, { ca }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
      res.resume();
      resolve(`-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64')}\n-----END CERTIFICATE-----\n`);
    });
    req.on('error', reject);
  });
}
