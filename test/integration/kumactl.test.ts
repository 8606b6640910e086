/**
 * The real kumactl 2.14.3 against our control plane: it must pass for a Kuma control plane. Real proxies
 * (a data plane host) fill the dataplane and insight listings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlPlaneClient } from '../../src/controlplane/client';
import { startControlPlane, type RunningControlPlane } from '../../src/controlplane/server';
import { startDataplaneHost, type DataplaneHost } from '../../src/dataplane/host';
import { describeWhenAvailable } from '../harness/requirements';
import { kumactl, kumaMissing } from '../harness/kuma';

const TOKEN = 'kumactl-test-token-0123456789';
const MESH = 'kumactl';
const PROXIES = 3;

describeWhenAvailable('the real kumactl against our control plane', kumaMissing('kumactl'), () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumactl-'));
  const config = path.join(dir, 'kumactl.yaml');
  const file = (name: string, text: string) => {
    const target = path.join(dir, name);
    fs.writeFileSync(target, text);
    return target;
  };
  const ctl = (...args: string[]) => kumactl(config, args);
  let cp: RunningControlPlane;
  let client: ControlPlaneClient;
  let host: DataplaneHost | undefined;

  beforeAll(async () => {
    cp = await startControlPlane({ dbFile: path.join(dir, 'cp.db'), port: 0, token: TOKEN, secretKey: Buffer.alloc(32, 3), logger: () => undefined });
    client = new ControlPlaneClient({ url: cp.url, token: TOKEN, caFile: cp.caFile });
  });
  afterAll(async () => {
    await host?.stop();
    client?.close();
    await cp?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('config control-planes add accepts it as a Kuma control plane', async () => {
    const added = await ctl('config', 'control-planes', 'add', '--name', 'ours', '--address', cp.url, '--ca-cert-file', cp.caFile as string, '--auth-type=tokens', '--auth-conf', `token=${TOKEN}`);
    expect(added.stderr).toBe('');
    expect(added.stdout).toContain('added Control Plane "ours"');
    expect(added.code).toBe(0);
  });

  test('apply -f creates a mesh; get meshes and get mesh -o yaml show it; re-applying that output writes no version', async () => {
    const mesh = file('mesh.yaml', `type: Mesh\nname: ${MESH}\nmtls:\n  enabledBackend: ca-1\n  backends:\n  - name: ca-1\n    type: builtin\n`);
    const applied = await ctl('apply', '-f', mesh);
    expect(applied.stdout).toContain(`resource type="Mesh" mesh="" name="${MESH}" Created`);

    const listed = await ctl('get', 'meshes');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${MESH}\\s+builtin/ca-1`));

    const yaml = await ctl('get', 'mesh', MESH, '-o', 'yaml');
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toContain('enabledBackend: ca-1');
    expect(yaml.stdout).toContain('creationTime:');

    const versions = (await client.meshHistory(MESH)).length;
    const again = await ctl('apply', '-f', file('mesh-out.yaml', yaml.stdout));
    expect(again.code).toBe(0);
    expect((await ctl('apply', '-f', mesh)).code).toBe(0);
    // kumactl sends back the server-owned fields it printed: ignored, so nothing changed.
    expect((await client.meshHistory(MESH)).length).toBe(versions);
  });

  test('apply -f a Secret, get secrets, and get secret -o yaml', async () => {
    const secret = file('secret.yaml', `type: Secret\nmesh: ${MESH}\nname: api-key\ndata: ${Buffer.from('hello').toString('base64')}\n`);
    expect((await ctl('apply', '-f', secret)).stdout).toContain('name="api-key" Created');
    expect((await ctl('apply', '-f', secret)).code).toBe(0);
    const listed = await ctl('get', 'secrets', '--mesh', MESH);
    expect(listed.stdout).toMatch(new RegExp(`${MESH}\\s+api-key`));
    const shown = await ctl('get', 'secret', 'api-key', '--mesh', MESH, '-o', 'yaml');
    expect(shown.stdout).toContain(`data: ${Buffer.from('hello').toString('base64')}`);
    expect(shown.stdout).toContain('modificationTime:');
  });

  test('get dataplanes and inspect dataplanes list real proxies with their issued and supported backends; inspect meshes counts them', async () => {
    host = await startDataplaneHost({ controlPlaneUrl: cp.url, token: TOKEN, caPem: cp.caPem, mesh: MESH, count: PROXIES, namePrefix: 'web' });
    await host.waitUntilReady(120_000);
    const names = Array.from({ length: PROXIES }, (_, i) => `web-${i}`);

    const dataplanes = await ctl('get', 'dataplanes', '--mesh', MESH);
    expect(dataplanes.code).toBe(0);
    for (const name of names) expect(dataplanes.stdout).toContain(name);

    const inspected = await ctl('inspect', 'dataplanes', '--mesh', MESH);
    expect(inspected.code).toBe(0);
    const header = inspected.stdout.split('\n')[0] ?? '';
    expect(header).toContain('CERT BACKEND');
    expect(header).toContain('SUPPORTED CERT BACKENDS');
    for (const name of names) expect(inspected.stdout).toMatch(new RegExp(`${MESH}\\s+${name}\\s.*Online.*\\bca-1\\s+ca-1\\b`));

    const meshes = await ctl('inspect', 'meshes');
    expect(meshes.stdout).toMatch(new RegExp(`${MESH}\\s+${PROXIES}/${PROXIES}`));
  });

  test('a refused edit prints the control plane\'s reason and the proxies it waits for, and changes nothing', async () => {
    const versions = (await client.meshHistory(MESH)).length;
    // Replacing the CA in one go: no proxy trusts ca-2 yet, so admission refuses the switch.
    const edit = file('switch.yaml', `type: Mesh\nname: ${MESH}\nmtls:\n  enabledBackend: ca-2\n  backends:\n  - name: ca-2\n    type: builtin\n`);
    const refused = await ctl('apply', '-f', edit);
    expect(refused.code).not.toBe(0);
    const output = `${refused.stdout}${refused.stderr}`;
    expect(output).toContain('cannot switch enabledBackend to "ca-2"');
    expect(output).toContain('web-0, web-1, web-2');
    expect((await client.meshHistory(MESH)).length).toBe(versions);
  });
});
