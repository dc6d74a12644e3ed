import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layering (VS Code style): engine code never imports app code; the renderer sees only
// shared types and the typed bridge. Violations are errors, not warnings.
export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'runtime-agent/native/build/**', 'tests/fixtures/**', 'bench/results/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['runtime-agent/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/electron/**', 'electron', '**/renderer/**'], message: 'engine code must not import app code' },
        ],
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
  },
);
