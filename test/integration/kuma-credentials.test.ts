/**
 * Auth and transport to a real kuma-cp: HTTPS with a CA file, Kuma's bearer user token, and Kuma's
 * admin client certificates; each wrong credential gives its own clear error, never a retry.
 * kuma-cp treats loopback callers as admins, so its HTTPS port is reached on a non-loopback address.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { asActivityFailure } from '../../src/activities/failures';
import { waitUntil } from '../../src/devstack/ports';
import { ControlPlaneClient, type ControlPlaneConnection, ControlPlaneError, ControlPlaneTlsError } from '../../src/controlplane/client';
import { describeWhenAvailable } from '../harness/requirements';
import { kumaMissing, startKumaCp, type RunningKumaCp } from '../harness/kuma';

function nonLoopbackAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

function opensslMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'openssl not found (it makes the test certificates)';
  }
}

const address = nonLoopbackAddress();
const missing = kumaMissing('kuma-cp') ?? opensslMissing() ?? (address ? undefined : 'no non-loopback IPv4 address (kuma-cp treats loopback callers as admin)');

/** A CA, and leaves it signs, made with openssl into `dir`. */
function certificates(dir: string, host: string): void {
  const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ca = (name: string) => sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`]);
  const leaf = (name: string, signer: string, san: string, usage: string) => {
    sh(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
    sh(['x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.crt`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  ca('server-ca');
  ca('other-ca');
  ca('client-ca');
  leaf('server', 'server-ca', `IP:${host}`, 'serverAuth');
  leaf('admin', 'client-ca', 'DNS:admin', 'clientAuth');
  leaf('stranger', 'other-ca', 'DNS:stranger', 'clientAuth');
  fs.mkdirSync(path.join(dir, 'admins'));
  fs.copyFileSync(path.join(dir, 'admin.crt'), path.join(dir, 'admins', 'admin.crt'));
}

async function failureOf(connection: ControlPlaneConnection): Promise<Error> {
  let client: ControlPlaneClient | undefined;
  try {
    client = new ControlPlaneClient(connection);
    await client.getSecret('default', 'anything');
  } catch (err) {
    return err as Error;
  } finally {
    client?.close();
  }
  throw new Error('expected the call to fail');
}

/** Each wrong credential: its own error, and the activities do not retry it. */
function expectCredentialsFailure(error: Error, type: typeof ControlPlaneError | typeof ControlPlaneTlsError, text: string): void {
  expect(error).toBeInstanceOf(type);
  expect(error.message).toContain(text);
  expect(error.message).not.toContain('\n');
  expect(asActivityFailure(error)).toMatchObject({ type: 'ControlPlaneCredentials', nonRetryable: true });
}

describeWhenAvailable('credentials and TLS to a real kuma-cp', missing, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kuma-tls-'));
  const file = (name: string) => path.join(dir, name);
  let withTokens: RunningKumaCp;
  let withClientCerts: RunningKumaCp;
  let adminToken: string;
  const httpsOn = (cp: RunningKumaCp, host = address as string) => cp.httpsUrl.replace('127.0.0.1', host);

  beforeAll(async () => {
    certificates(dir, address as string);
    const https = { KUMA_API_SERVER_HTTPS_INTERFACE: '0.0.0.0', KUMA_API_SERVER_HTTPS_TLS_CERT_FILE: file('server.crt'), KUMA_API_SERVER_HTTPS_TLS_KEY_FILE: file('server.key') };
    [withTokens, withClientCerts] = await Promise.all([
      startKumaCp(https),
      startKumaCp({
        ...https,
        KUMA_API_SERVER_HTTPS_REQUIRE_CLIENT_CERT: 'true',
        KUMA_API_SERVER_HTTPS_TLS_CA_FILE: file('client-ca.crt'),
        KUMA_API_SERVER_AUTHN_TYPE: 'adminClientCerts',
        KUMA_API_SERVER_AUTH_CLIENT_CERTS_DIR: file('admins'),
        KUMA_API_SERVER_AUTHN_LOCALHOST_IS_ADMIN: 'false',
      }),
    ]);
    // The bootstrap admin token, read as Kuma's log says: from loopback, where the caller is admin.
    // kuma-cp saves it shortly after its API comes up.
    await waitUntil('the admin user token', async () => (await fetch(`${withTokens.url}/global-secrets/admin-user-token`)).ok, 60_000);
    const secret = (await (await fetch(`${withTokens.url}/global-secrets/admin-user-token`)).json()) as { data: string };
    adminToken = Buffer.from(secret.data, 'base64').toString('utf8').trim();
  });
  afterAll(async () => {
    await Promise.all([withTokens?.stop(), withClientCerts?.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('HTTPS with the CA file and an admin user token: identified as Kuma, secrets readable', async () => {
    const client = new ControlPlaneClient({ url: httpsOn(withTokens), caFile: file('server-ca.crt'), token: adminToken });
    try {
      expect((await client.index()).product).toBe('Kuma');
      expect(await client.getSecret('default', 'absent')).toBeUndefined(); // 404, not 403: the token is admin
    } finally {
      client.close();
    }
  });

  test('each wrong credential of the token setup says what to fix', async () => {
    const url = httpsOn(withTokens);
    expectCredentialsFailure(await failureOf({ url, caFile: file('server-ca.crt'), token: 'not-a-token' }), ControlPlaneError, 'the bearer token (CA_ROTATE_CP_TOKEN) was refused');
    expectCredentialsFailure(await failureOf({ url, caFile: file('server-ca.crt') }), ControlPlaneError, 'this call needs credentials: set CA_ROTATE_CP_TOKEN');
    expectCredentialsFailure(await failureOf({ url, token: adminToken }), ControlPlaneTlsError, 'is not signed by the system CAs (set CA_ROTATE_CP_CA_FILE)');
    expectCredentialsFailure(await failureOf({ url, caFile: file('other-ca.crt'), token: adminToken }), ControlPlaneTlsError, `is not signed by the CA in ${file('other-ca.crt')}`);
    expectCredentialsFailure(await failureOf({ url: httpsOn(withTokens, 'localhost'), caFile: file('server-ca.crt'), token: adminToken }), ControlPlaneTlsError, 'does not name the host');
  });

  test("Kuma's admin client certificate is accepted; a missing or foreign one is refused clearly", async () => {
    const url = httpsOn(withClientCerts);
    const admin = new ControlPlaneClient({ url, caFile: file('server-ca.crt'), clientCertFile: file('admin.crt'), clientKeyFile: file('admin.key') });
    try {
      expect(await admin.getSecret('default', 'absent')).toBeUndefined();
    } finally {
      admin.close();
    }
    expectCredentialsFailure(await failureOf({ url, caFile: file('server-ca.crt') }), ControlPlaneTlsError, 'wants a client certificate: set CA_ROTATE_CP_CLIENT_CERT');
    expectCredentialsFailure(
      await failureOf({ url, caFile: file('server-ca.crt'), clientCertFile: file('stranger.crt'), clientKeyFile: file('stranger.key') }),
      ControlPlaneTlsError,
      `refused the client certificate ${file('stranger.crt')}`,
    );
    expect(() => new ControlPlaneClient({ url, caFile: file('server-ca.crt'), clientCertFile: file('admin.crt'), clientKeyFile: file('stranger.key') })).toThrow(
      /do not belong together/,
    );
  });
});
