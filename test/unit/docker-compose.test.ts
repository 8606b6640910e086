/**
 * docker-compose.yml cannot be run here (no Docker), so its wiring is checked as data: the services
 * the README promises, who talks to whom, and that every dependency exists.
 * Run alone with `TEST_NO_SERVERS=1 npx jest test/unit/docker-compose`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  profiles?: string[];
  ports?: (string | number | Record<string, unknown>)[];
}

const root = path.resolve(__dirname, '../..');
const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const services = compose.services;

function service(name: string): Service {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** `environment` as a map, whether written as a map or as a list of NAME=value. */
function env(name: string): Record<string, string> {
  const raw = service(name).environment ?? {};
  const entries: [string, string][] = Array.isArray(raw)
    ? raw.map((line) => {
        const at = line.indexOf('=');
        return at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 1)];
      })
    : Object.entries(raw).map(([key, value]) => [key, value === null ? '' : String(value)]);
  return Object.fromEntries(entries);
}

function dependencies(name: string): string[] {
  const raw = service(name).depends_on ?? [];
  return Array.isArray(raw) ? raw : Object.keys(raw);
}

function words(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(' ') : (value ?? '');
}

const projectServices = ['control-plane', 'worker', 'dataplanes'];

describe('docker-compose.yml', () => {
  it('names the whole stack: PostgreSQL, Temporal, its UI, a Vault, the control plane, the worker, the proxies', () => {
    for (const name of ['postgresql', 'temporal', 'temporal-ui', 'control-plane', 'worker', 'dataplanes']) expect(services[name]).toBeDefined();
    expect(services.openbao ?? services.vault).toBeDefined();
  });

  it('runs Temporal on PostgreSQL', () => {
    expect(service('postgresql').image).toMatch(/^postgres:16/);
    expect(service('temporal').image).toMatch(/^temporalio\/auto-setup:/);
    const temporal = env('temporal');
    expect(temporal.DB).toBe('postgres12');
    expect(temporal.POSTGRES_SEEDS).toBe('postgresql');
    expect(temporal.POSTGRES_USER).toBe(env('postgresql').POSTGRES_USER);
    expect(temporal.POSTGRES_PWD).toBe(env('postgresql').POSTGRES_PASSWORD);
    expect(dependencies('temporal')).toContain('postgresql');
  });

  it('points the Temporal UI at the temporal service', () => {
    expect(service('temporal-ui').image).toMatch(/^temporalio\/ui:/);
    expect(env('temporal-ui').TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(service('temporal-ui').ports?.map(String).some((p) => p.endsWith(':8080'))).toBe(true);
  });

  it('runs OpenBao (or Vault) in dev mode with a fixed root token', () => {
    const name = services.openbao ? 'openbao' : 'vault';
    expect(words(service(name).command)).toContain('server -dev');
    const vars = env(name);
    expect(vars.BAO_DEV_ROOT_TOKEN_ID ?? vars.VAULT_DEV_ROOT_TOKEN_ID).toBeTruthy();
  });

  it('builds the control plane, the worker and the proxies from the project Dockerfile', () => {
    for (const name of projectServices) expect(service(name).build).toBe('.');
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    // The image runs the compiled JavaScript, with the workflow bundle built once.
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "bin/ca-rotate.js"]');
  });

  it('starts each project service with its ca-rotate command', () => {
    expect(words(service('control-plane').command)).toMatch(/^control-plane .*--host 0\.0\.0\.0/);
    expect(words(service('control-plane').command)).toContain('--port 5681');
    expect(words(service('worker').command)).toBe('worker');
    expect(words(service('dataplanes').command)).toMatch(/^dataplanes --count \d+/);
  });

  it('points the worker and the control plane at Temporal, and the worker and the proxies at the control plane', () => {
    expect(env('worker').TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(env('control-plane').TEMPORAL_ADDRESS).toBe('temporal:7233');
    for (const name of ['worker', 'dataplanes', 'ca-rotate']) {
      expect(env(name).CA_ROTATE_CP_URL).toBe('https://control-plane:5681');
      // Every client verifies the API certificate the control plane generated for "control-plane".
      expect(env(name).CA_ROTATE_CP_CA_FILE).toBe('/credentials/cp-ca.crt');
    }
    expect(words(service('control-plane').command)).toContain('--api-tls-name control-plane');
  });

  it('gives the admin token only to the operator side; the worker and the proxies get credentials minted for them', () => {
    const token = env('control-plane').CA_ROTATE_CP_TOKEN;
    expect(token).toBeTruthy();
    for (const name of ['mesh-init', 'ca-rotate']) expect(env(name).CA_ROTATE_CP_TOKEN).toBe(token);
    for (const name of ['worker', 'dataplanes']) expect(env(name).CA_ROTATE_CP_TOKEN).toBeUndefined();
    expect(env('worker').CA_ROTATE_CP_TOKEN_FILE).toBe('/credentials/worker.token');
    expect(env('dataplanes').CA_ROTATE_CP_TOKEN_FILE).toBe('/credentials/dataplanes.token');
    const init = words(service('mesh-init').command);
    expect(init).toContain("role: 'worker'");
    expect(init).toContain("role: 'dataplane'");
    expect(init).toContain("namePrefix: 'dp-compose-'");
    expect(words(service('dataplanes').command)).toContain('--name-prefix dp-compose');
    for (const name of ['worker', 'dataplanes']) expect(dependencies(name)).toContain('mesh-init');
  });

  it('gives the worker and the control plane the Vault address and token', () => {
    const vault = services.openbao ? 'openbao' : 'vault';
    for (const name of ['worker', 'control-plane']) {
      expect(env(name).VAULT_ADDR).toBe(`http://${vault}:8200`);
      expect(env(name).VAULT_TOKEN).toBe(env(vault).BAO_DEV_ROOT_TOKEN_ID ?? env(vault).VAULT_DEV_ROOT_TOKEN_ID);
    }
  });

  it('registers the search attributes MeshName and RotationStep before the worker starts', () => {
    const registering = Object.entries(services).filter(([, s]) => /search-attribute create/.test(words(s.command)));
    expect(registering).toHaveLength(1);
    const [name, registrar] = registering[0] as [string, Service];
    const script = words(registrar.command);
    expect(script).toContain('MeshName');
    expect(script).toContain('RotationStep');
    expect(script).toContain('--type Keyword');
    expect(dependencies('worker')).toContain(name);
  });

  it('creates the initial mesh before the proxies register', () => {
    const creating = Object.entries(services).filter(([, s]) => /'PUT'/.test(words(s.command)) && /enabledBackend: 'ca-1'/.test(words(s.command)));
    expect(creating).toHaveLength(1);
    expect(dependencies('dataplanes')).toContain((creating[0] as [string, Service])[0]);
  });

  it("publishes the worker's and the proxies' metrics for Prometheus, on loopback", () => {
    expect(env('worker').CA_ROTATE_METRICS_ADDRESS).toBe('0.0.0.0:9464');
    expect(service('worker').ports?.map(String)).toContain('127.0.0.1:9464:9464');
    expect(words(service('dataplanes').command)).toMatch(/--metrics-address 0\.0\.0\.0:9465/);
    expect(service('dataplanes').ports?.map(String)).toContain('127.0.0.1:9465:9465');
  });

  it('names only existing services in depends_on', () => {
    for (const name of Object.keys(services)) {
      for (const dependency of dependencies(name)) expect(`${name} -> ${dependency}: ${services[dependency] ? 'exists' : 'missing'}`).toBe(`${name} -> ${dependency}: exists`);
    }
  });
});
