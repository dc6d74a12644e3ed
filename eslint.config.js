import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import pluginVue from 'eslint-plugin-vue';

// Layering (VS Code style): engine code never imports app code; the renderer sees only
// shared types and the typed bridge. Violations are errors, not warnings.
export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'runtime-agent/native/build/**', 'tests/fixtures/**', 'bench/results/**', '.tmp/**', 'renderer/dist/**', 'electron/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Single-file components: Vue's recommended rules, their <script lang="ts"> parsed by typescript-eslint.
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'], sourceType: 'module' } },
    rules: {
      // TypeScript checks names (vue-tsc); ESLint's no-undef does not know DOM types.
      'no-undef': 'off',
      // Formatting is not lint's business here: the code's layout is reviewed, not machine-set.
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/html-indent': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/attribute-hyphenation': 'off',
      'vue/v-on-event-hyphenation': 'off',
      // Optional props typed `T | undefined` mean "absent"; a default would hide that.
      'vue/require-default-prop': 'off',
    },
  },
  // Component tests define small host components inline.
  { files: ['tests/**/*.ts'], rules: { 'vue/one-component-per-file': 'off', 'vue/require-default-prop': 'off' } },
  // A sparkline is a thing of its own name; no HTML element is called that.
  { files: ['renderer/src/components/Sparkline.vue'], rules: { 'vue/multi-word-component-names': 'off' } },
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
    // The bridge contract is imported by the renderer, the preload and the main process alike.
    files: ['electron/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'electron', 'dockerode', 'ws', 'vue', 'pinia'], message: 'electron/shared is pure: it imports nothing but itself' },
          { group: ['../*', '!./*'], message: 'electron/shared is pure: it imports nothing but itself' },
        ],
      }],
    },
  },
  {
    // The renderer sees only the typed bridge: no Node, no Electron, no main-process or engine code.
    files: ['renderer/**/*.ts', 'renderer/**/*.vue'],
    ignores: ['renderer/vite.config.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'electron', 'dockerode', 'ws', 'ssh2'], message: 'the renderer reaches the engine only through the bridge (@shared/bridge)' },
          { group: ['**/electron/main/**', '**/electron/preload/**', '**/runtime-agent/**'], message: 'the renderer imports only @shared and its own code' },
        ],
      }],
    },
  },
  {
    // The app never imports engine code: it talks to berthd over the Docker API like any client.
    files: ['electron/**/*.ts'],
    ignores: ['electron/shared/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/runtime-agent/**', '**/renderer/**'], message: 'the main process talks to the engine over its API and to the renderer over the bridge' },
        ],
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
  },
);
