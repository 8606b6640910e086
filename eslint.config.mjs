import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    // Workflow code must stay deterministic: no Node APIs, no clocks, no randomness outside the SDK's.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'crypto', 'http', 'https', 'net', 'tls', '../activities/*!(types)', '../controlplane/*', '../ca/*', '../pki/*'] }],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Use workflow time (Date is deterministic inside workflows, but keep it explicit).' }],
    },
  },
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
