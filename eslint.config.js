// Type-aware lint rules, in the spirit of a careful reviewer (see STYLE.md, point 11).
import js from '@eslint/js';
import vitest from '@vitest/eslint-plugin';
import tseslint from 'typescript-eslint';

const importConventions = [
  {
    regex: '^(\\.{1,2}/|#).*\\.js$',
    message: "Import a TypeScript file by its own name: './x.ts', not './x.js'.",
  },
  {
    regex: '^(\\.\\./){2,}',
    message:
      'Reach another folder through a subpath import (#lib, #functions, #infra, #plugin, #scripts, #tests), not ../../.',
  },
  {
    regex: '^\\.\\./(functions|infra|plugins|scripts|tests)/',
    message:
      'Reach another top-level folder through a subpath import (#lib, #functions, #infra, #plugin, #scripts, #tests).',
  },
];

export default tseslint.config(
  { ignores: ['.local/**', '.serverless/**', '.esbuild/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/strict-boolean-expressions': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      'no-console': 'error',
      // `const { id, ...rest } = row` is how a field is left out.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    // One import convention: files by their own name (.ts: the plugin runs on Node's type stripping,
    // which resolves no other), and subpath imports (package.json "imports") across folders.
    files: ['**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: importConventions }],
    },
  },
  {
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...importConventions,
            { regex: '^\\.\\./lib/', message: "A function reaches its shared code as '#lib/…'." },
          ],
        },
      ],
    },
  },
  {
    files: ['tests/**/*.ts', 'plugins/*/tests/**/*.ts'],
    plugins: { vitest },
    rules: {
      ...vitest.configs.recommended.rules,
      'vitest/no-focused-tests': 'error',
      'vitest/no-disabled-tests': 'error',
      // expect(value, 'which item') names the failing item in a loop.
      'vitest/valid-expect': ['error', { maxArgs: 2 }],
      // Helpers whose name says they assert (they call expect inside).
      'vitest/expect-expect': ['error', { assertFunctionNames: ['expect', 'roundTripThroughAws'] }],
    },
  },
  { files: ['*.js', 'scripts/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
