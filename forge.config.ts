/**
 * Electron Forge configuration (packaging and installers).
 *
 * Forge is not installed yet: it arrives with the packaging issue. Forge 8 needs
 * Node ≥ 22.13; Forge 7 installs here only with
 *   "overrides": { "@electron/node-gyp": "npm:node-gyp@^10.2.0" }
 * in package.json (see DESIGN.md, "Facts about these machines"). Until then the
 * config is typed with the small local interface below instead of importing
 * `ForgeConfig` from `@electron-forge/shared-types`; makers are named by package
 * in plain objects, which Forge resolves itself, so nothing here needs them yet.
 *
 * Packages are built from compiled output: run `npm run build:main` first
 * (Forge's `generateAssets` hook will do it once Forge is in).
 */

interface MakerEntry {
  /** npm package of the maker, e.g. `@electron-forge/maker-zip`. */
  name: string
  /** Limit to these platforms (`darwin`, `linux`, `win32`); all when absent. */
  platforms?: string[]
  config: Record<string, unknown>
}

interface ForgeConfig {
  /** Options for @electron/packager. */
  packagerConfig: {
    asar: boolean
    name: string
    executableName: string
    /** Regexps of project-relative paths (starting with `/`) left out of the package. */
    ignore?: RegExp[]
  }
  makers: MakerEntry[]
}

const config: ForgeConfig = {
  packagerConfig: {
    asar: true,
    name: 'Parley',
    executableName: 'parley',
    // Ship compiled code (dist/), the renderer and resources; leave sources and dev trees out.
    ignore: [/^\/(app|main|test|bench|docs|conformance|types|out|\.ci|\.git)(\/|$)/, /^\/forge\.config\.ts$/, /^\/tsconfig\.json$/]
  },
  makers: [
    { name: '@electron-forge/maker-zip', platforms: ['darwin', 'linux', 'win32'], config: {} },
    { name: '@electron-forge/maker-deb', platforms: ['linux'], config: {} },
    { name: '@electron-forge/maker-squirrel', platforms: ['win32'], config: {} },
    { name: '@electron-forge/maker-dmg', platforms: ['darwin'], config: {} }
  ]
}

export default config
