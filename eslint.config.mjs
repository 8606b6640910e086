import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Rooms (README, "Architecture"): each folder of src/ may import only the rooms listed here, so the
 * arrows point one way. `cli` may import everything and is imported by none.
 */
const ROOMS = ['mesh', 'pki', 'ca', 'controlplane', 'dataplane', 'workflows', 'kubernetes', 'activities', 'devstack', 'cli', 'worker'];
/** A room, or one module of a room (`room/module`): only that module may be imported. */
const MAY_IMPORT = {
  mesh: [],
  pki: ['mesh'],
  ca: ['pki', 'mesh'],
  controlplane: ['ca', 'pki', 'mesh'],
  dataplane: ['pki', 'mesh'],
  workflows: ['mesh', 'activities/types'],
  kubernetes: ['controlplane', 'pki', 'mesh'],
  // The control plane's client and the wire shapes it reads with, not the server.
  activities: ['controlplane/client', 'controlplane/api-schemas', 'kubernetes', 'ca', 'pki', 'mesh'],
  devstack: [],
  worker: ['activities', 'workflows'],
};

/** A `no-restricted-imports` pattern for what `room` may not import (paths relative to the room). */
function roomPattern(room, allowed) {
  const forbidden = ROOMS.filter((other) => other !== room && !allowed.includes(other)).map((other) => {
    const modules = allowed.filter((entry) => entry.startsWith(`${other}/`)).map((entry) => entry.slice(other.length + 1));
    return modules.length ? `${other}(?!/(${modules.join('|')})$)` : other;
  });
  const up = room === 'worker' ? '\\./' : '(\\.\\./)+';
  return {
    regex: `^${up}(${forbidden.join('|')})(/|$)`,
    message: `src/${room} ${allowed.length ? `may import only ${allowed.join(', ')}` : 'imports nothing of the project'} (README, "Architecture": rooms).`,
  };
}

const NODE_APIS = ['node:*', 'fs', 'crypto', 'http', 'https', 'net', 'tls', 'child_process', 'os', 'path'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // Type-aware: a promise nobody awaits or catches loses its error. `void` marks an intended
    // fire-and-forget, with a comment saying why.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error' },
  },
  ...Object.entries(MAY_IMPORT).map(([room, allowed]) => ({
    files: room === 'worker' ? ['src/worker.ts', 'src/worker-metrics.ts'] : [`src/${room}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            roomPattern(room, allowed),
            // Code that runs inside workflows stays deterministic: no I/O.
            ...(room === 'mesh' || room === 'workflows' ? [{ group: NODE_APIS, message: `src/${room} runs inside workflows: no Node APIs.` }] : []),
          ],
        },
      ],
      ...(room === 'workflows'
        ? { 'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Use workflow time (Date is deterministic inside workflows, but keep it explicit).' }] }
        : {}),
    },
  })),
  {
    // The Kubernetes room sits between the control plane and the activities: nothing above it.
    files: ['src/kubernetes/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['../activities/*', '../cli/*', '../workflows/*', '../dataplane/*', '../worker'] }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
