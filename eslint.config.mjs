// npm run lint (TypeScript half): typescript-eslint's type-aware recommended rules over everything
// tsconfig.json covers, so an `eslint-disable` comment in the code names a rule that really fires.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // TypeScript only (the type-aware rules need a program); dot folders hold virtualenvs and test state
  { ignores: ['**/*.js', '**/*.mjs', '**/*.cjs', '.*/**', 'dist/**', 'out/**', 'node_modules/**', 'trainer/**',
    // generated from schemas/*.json by scripts/schema-types.mjs (a test keeps it current)
    'src/core/schemaTypes.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['media/*.ts'] }, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_name` marks a parameter a callback signature requires but this body does not need
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // node:test's test() returns a promise the runner itself awaits
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] }],
    },
  },
);
