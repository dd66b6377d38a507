/**
 * Electron Forge configuration: `electron-forge start` and `electron-forge package`.
 *
 * Installers (AppImage, deb, rpm, NSIS, dmg), signing, notarization and the
 * auto-update feed come from electron-builder (electron-builder.ts, `npm run dist:*`);
 * Forge has no makers here, so there is one path to a release.
 *
 * Forge itself is not installed: `npm start` (build:main, then `electron .`) does
 * what `electron-forge start` would, and `npm run package` builds the unpacked app
 * with electron-builder. Forge 8 needs Node ≥ 22.13 and Forge 7 installs here only
 * with `"overrides": { "@electron/node-gyp": "npm:node-gyp@^10.2.0" }` and about
 * 400 more packages (DESIGN.md, "Facts about these machines"): not worth it for a
 * second packager. This file stays a valid Forge 7 config, typed with the small
 * local interface below instead of `ForgeConfig` from
 * `@electron-forge/shared-types`; plugins are named by package in plain objects,
 * which Forge resolves itself. It packages what electron-builder packages, with the
 * same fuses and call-link schemes (test/packaging checks they agree).
 *
 * Packages are built from compiled output: run `npm run build` first.
 */
import { FuseV1Options, FuseVersion, type FuseV1Config } from '@electron/fuses'
import { CALL_LINK_PROTOCOL, CLI_ONLY_PACKAGES, ELECTRON_FUSES, MAC_USAGE_DESCRIPTIONS } from './electron-builder.js'

interface PluginEntry {
  /** npm package of the plugin, e.g. `@electron-forge/plugin-fuses`. */
  name: string
  config: unknown
}

interface ForgeConfig {
  /** Options for @electron/packager. */
  packagerConfig: {
    asar: boolean | { unpack?: string }
    name: string
    executableName: string
    appBundleId: string
    appCategoryType: string
    /** Without extension: the packager picks .icns, .ico or .png per platform. */
    icon: string
    protocols: Array<{ name: string; schemes: string[] }>
    extendInfo: Record<string, string>
    osxSign: { optionsForFile: (file: string) => { hardenedRuntime: boolean; entitlements: string } }
    /** Project-relative paths (starting with `/`) left out of the package. */
    ignore: (path: string) => boolean
  }
  makers: never[]
  plugins: PluginEntry[]
}

/** The files electron-builder.ts ships: compiled code, the built renderer, resources, production modules. */
const SHIPPED = /^\/(package\.json$|dist(\/(main|app|renderer)(\/|$)|$)|resources(\/|$)|node_modules(\/|$))/
const CLI_ONLY = new RegExp(`^/node_modules/(${CLI_ONLY_PACKAGES.join('|')})(/|$)`)

const fuses: FuseV1Config = {
  version: FuseVersion.V1,
  [FuseV1Options.RunAsNode]: ELECTRON_FUSES.runAsNode,
  [FuseV1Options.EnableCookieEncryption]: ELECTRON_FUSES.enableCookieEncryption,
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: ELECTRON_FUSES.enableNodeOptionsEnvironmentVariable,
  [FuseV1Options.EnableNodeCliInspectArguments]: ELECTRON_FUSES.enableNodeCliInspectArguments,
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: ELECTRON_FUSES.enableEmbeddedAsarIntegrityValidation,
  [FuseV1Options.OnlyLoadAppFromAsar]: ELECTRON_FUSES.onlyLoadAppFromAsar,
  [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: ELECTRON_FUSES.loadBrowserProcessSpecificV8Snapshot,
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: ELECTRON_FUSES.grantFileProtocolExtraPrivileges
}

const config: ForgeConfig = {
  packagerConfig: {
    asar: { unpack: '**/*.node' },
    name: 'Parley',
    executableName: 'parley',
    appBundleId: 'org.parley.softphone',
    appCategoryType: 'public.app-category.social-networking',
    icon: 'resources/icons/parley',
    protocols: [{ name: CALL_LINK_PROTOCOL.name, schemes: [...CALL_LINK_PROTOCOL.schemes] }],
    extendInfo: MAC_USAGE_DESCRIPTIONS,
    osxSign: { optionsForFile: () => ({ hardenedRuntime: true, entitlements: 'build/entitlements.mac.plist' }) },
    ignore: (path) => path !== '' && (!SHIPPED.test(path) || CLI_ONLY.test(path) || path.endsWith('.map'))
  },
  makers: [],
  plugins: [{ name: '@electron-forge/plugin-fuses', config: fuses }]
}

export default config
