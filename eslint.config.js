import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'out/', '.cache/', 'src/**/*.generated.ts']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {globals: {process: 'readonly', console: 'readonly', URL: 'readonly', AbortSignal: 'readonly', AbortController: 'readonly', fetch: 'readonly', performance: 'readonly', TextDecoder: 'readonly', Buffer: 'readonly', structuredClone: 'readonly'}},
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_'}],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // vm/ works on what the target's own programs wrote (a sysroot, a boot
    // entry, a loader): a path in it is the tree's choice. The functions that
    // follow a path are not imported here; such files are read through
    // sandbox/confined-open.ts (docs/architecture.md, "Boundaries"). A use on
    // the tool's or the user's own file says why, beside an eslint-disable.
    files: ['src/vm/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [
          ...['node:fs', 'node:fs/promises'].map((name) => ({
            name,
            importNames: ['readFile', 'readdir', 'opendir', 'readlink', 'realpath', 'open', 'copyFile', 'cp', 'link', 'stat', 'lstat', 'createReadStream', 'readFileSync', 'readdirSync', 'openSync', 'statSync'],
            message: 'a path in a sysroot or a tree is the tree\'s choice: read it through sandbox/confined-open.ts',
          })),
          {name: '../fs.js', importNames: ['pathExists', 'walkTree', 'treeDigest'], message: 'a path in a sysroot or a tree is the tree\'s choice: read it through sandbox/confined-open.ts'},
        ],
      }],
    },
  },
)
