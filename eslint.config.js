// ESLint flat config. typescript-eslint's recommended rules everywhere, its type-aware ones on the .ts files,
// eslint-plugin-astro for the pages (frontmatter parsed by typescript-eslint). Layout is Prettier's job.
import js from '@eslint/js';
import astro from 'eslint-plugin-astro';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', '.astro/', 'node_modules/', 'atlas-data/', 'bench-out/', '.atlas-cache/', 'test-results/'] },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { globals: { ...globals.node } },
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    ignores: ['**/*.astro/*'], // client scripts of .astro files are not in the TS project
    extends: [tseslint.configs.recommendedTypeCheckedOnly],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises that the runner awaits itself.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] }],
      // `xs[i]!` marks an index the code knows exists; with noUncheckedIndexedAccess off, TS calls that unnecessary.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // `any` is written out (and allowed line by line) where it is meant: optional modules loaded by name,
      // the zod/YAML walk in config/load.ts, JSON.parse results. Flagging every use of such a value adds nothing.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Messages interpolate numbers, arrays and unknown errors on purpose.
      '@typescript-eslint/restrict-template-expressions': 'off',
      // `async` is how an interface's Promise-returning method is written even when it awaits nothing.
      '@typescript-eslint/require-await': 'off',
    },
  },
  astro.configs['flat/recommended'],
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      // Its findings here were a counter's last `i++` and a default set before try/finally: both harmless.
      'no-useless-assignment': 'off',
    },
  },
);
