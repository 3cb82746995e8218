// The core (everything under src/ except src/node/ and src/cli/) must run in browsers
// unchanged: no Node built-ins, no Buffer, no process. This config enforces it.
import tseslint from 'typescript-eslint';

const NODE_MESSAGE = 'The core must not import Node built-ins; put Node code in src/node/.';
const NODE_MODULES = ['assert', 'buffer', 'child_process', 'crypto', 'events', 'fs', 'fs/promises', 'http', 'https', 'net', 'os', 'path', 'process', 'stream', 'url', 'util', 'worker_threads', 'zlib'];
const nodeOnly = {
  paths: NODE_MODULES.map((name) => ({ name, message: NODE_MESSAGE })),
  patterns: [
    { group: ['node:*'], message: NODE_MESSAGE },
    { group: ['**/node/*', '**/cli/*'], message: 'The core must not depend on the Node adapters or the CLI.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'dist-web/**', 'docs/api/**', 'node_modules/**', 'coverage/**', 'bench/.work/**', 'fixtures/.work/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/**/*.ts', 'web/**/*.ts'],
    ignores: ['src/node/**', 'src/cli/**'],
    rules: {
      'no-restricted-imports': ['error', nodeOnly],
      'no-restricted-globals': [
        'error',
        { name: 'Buffer', message: 'Use Uint8Array in the core.' },
        { name: 'process', message: 'The core must not read process; take options instead.' },
        { name: 'require', message: 'The core is ESM.' },
        { name: '__dirname', message: 'The core has no file system.' },
      ],
    },
  },
);
