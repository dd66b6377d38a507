/**
 * electron-builder: Parley's installers and auto-update feed.
 *
 *   npm run dist:linux   AppImage, deb, rpm      npm run dist:win   NSIS
 *   npm run dist:mac     dmg + zip (the zip feeds Squirrel.Mac updates)
 *   npm run package      unpacked app for this platform (release/<os>-unpacked)
 *
 * Forge (forge.config.ts) is kept for `electron-forge start`; installers, signing,
 * fuses and update metadata come from here only.
 *
 * What ships: compiled code (dist/main, dist/app), the Vite-built renderer
 * (dist/renderer), resources/, package.json and the production dependencies the
 * main process imports. React, react-dom and the renderer's own modules are bundled
 * into dist/renderer by Vite; tsx (and its esbuild) serve only the `parley` CLI
 * when run from a checkout, so they stay out of the app. test/packaging checks it.
 *
 * Auto-update (electron-updater, main/auto-update.ts) reads the feed from
 * PARLEY_UPDATE_URL at build time: a plain HTTPS folder where the `latest*.yml`
 * files and installers of a release are uploaded (`generic` provider). Without it
 * no feed is baked in and the app never checks.
 */
import type { Configuration, Protocol } from 'electron-builder'
import { PROTOCOL_SCHEMES } from './main/protocol-links.js'

/**
 * Electron fuses flipped in the packaged binary (https://www.electronjs.org/docs/latest/tutorial/fuses):
 * no running as plain Node, no NODE_OPTIONS or --inspect, the app only from its asar,
 * asar integrity checked (by Electron on macOS and Windows, where electron-builder
 * embeds the hashes), cookies encrypted, file:// without extra privileges.
 * forge.config.ts flips the same set.
 */
export const ELECTRON_FUSES = {
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  loadBrowserProcessSpecificV8Snapshot: false,
  grantFileProtocolExtraPrivileges: false
} as const satisfies NonNullable<Configuration['electronFuses']>

/** The call-link schemes Parley handles (main/protocol-links.ts), as the packagers declare them. */
export const CALL_LINK_PROTOCOL = { name: 'Call link', schemes: [...PROTOCOL_SCHEMES], role: 'Viewer' } as const satisfies Protocol

/** Why macOS asks the user for the microphone and camera (Info.plist usage descriptions). */
export const MAC_USAGE_DESCRIPTIONS = {
  NSMicrophoneUsageDescription: 'Parley uses the microphone for voice calls.',
  NSCameraUsageDescription: 'Parley uses the camera for video calls when you turn video on.'
}

/** Production dependencies that only the `parley` CLI needs when run from a checkout (bin/parley.js runs TypeScript with tsx). */
export const CLI_ONLY_PACKAGES = ['tsx', 'esbuild', '@esbuild', 'get-tsconfig', 'resolve-pkg-maps'] as const

/**
 * The app's files. A platform's own `files` replaces the top-level list in
 * electron-builder (it is not merged), so each platform gets the whole list plus a
 * filter on native prebuilds (holepunch's addons ship prebuilds/<os>-<arch>/ for
 * every platform, rocksdb-native alone 11 MB each): Linux and Windows keep only
 * the target's (`${arch}` is expanded per build), macOS both of its arches, which a
 * universal build needs.
 */
function appFiles(os?: 'linux' | 'darwin' | 'win32'): string[] {
  const files = [
    'package.json',
    'dist/main/**/*',
    'dist/app/**/*',
    'dist/renderer/**/*',
    'resources/**/*',
    // Source maps are left out of installers (they would double dist/'s size).
    '!**/*.map',
    '!**/*.d.ts',
    // The ICO and ICNS go into the executables and bundles, not the app.
    '!resources/icons/*.{ico,icns}',
    // Sources some packages publish next to their JS and prebuilds (zod/src, the addons' C): never loaded.
    '!**/node_modules/**/{*.ts,*.mts,*.cts,*.tsx,*.c,*.h,CMakeLists.txt}',
    // Development-only runtime of the CLI (bin/parley.js); see above.
    `!**/node_modules/{${CLI_ONLY_PACKAGES.join(',')}}{,/**/*}`,
    // Bare-runtime addons next to the Node ones.
    '!**/node_modules/**/prebuilds/**/*.bare'
  ]
  if (os === undefined) return files
  const keep = os === 'darwin' ? 'darwin-*' : `${os}-\${arch}`
  return [...files, `!**/node_modules/**/prebuilds/!(${keep}){,/**/*}`]
}

const updateUrl = process.env.PARLEY_UPDATE_URL?.trim()

const config: Configuration = {
  appId: 'org.parley.softphone',
  productName: 'Parley',
  copyright: 'Copyright © Parley contributors',
  directories: { output: 'release', buildResources: 'build' },
  // Electron's app_id / WM_CLASS on Linux; must match the .desktop file's name.
  extraMetadata: { desktopName: 'parley.desktop' },

  files: appFiles(),
  asar: true,
  // Native addons are Node-API prebuilds (sodium-native, udx-native, rocksdb-native…):
  // one binary serves Node and Electron, so nothing is rebuilt against Electron's headers.
  npmRebuild: false,
  // Unpacks them next to app.asar (app.asar.unpacked), where dlopen can reach them.
  asarUnpack: ['**/*.node'],

  electronFuses: ELECTRON_FUSES,

  // Call links: CFBundleURLTypes on macOS, x-scheme-handler MimeType in the Linux
  // .desktop file; NSIS has no protocols support, build/installer.nsh writes them.
  protocols: [CALL_LINK_PROTOCOL],

  linux: {
    target: ['AppImage', 'deb', 'rpm'],
    category: 'Network;Telephony',
    executableName: 'parley',
    icon: 'resources/icons/png',
    synopsis: 'Peer-to-peer SIP softphone',
    desktop: { entry: { Keywords: 'SIP;VoIP;phone;call;chat;' } },
    files: appFiles('linux')
  },

  win: {
    target: ['nsis'],
    icon: 'resources/icons/parley.ico',
    files: appFiles('win32')
  },
  nsis: {
    oneClick: true,
    perMachine: false,
    include: 'build/installer.nsh',
    artifactName: '${productName}-Setup-${version}.${ext}'
  },

  mac: {
    target: ['dmg', 'zip'],
    category: 'public.app-category.social-networking',
    icon: 'resources/icons/parley.icns',
    hardenedRuntime: true,
    gatekeeperAssess: false,
    entitlements: 'build/entitlements.mac.plist',
    entitlementsInherit: 'build/entitlements.mac.plist',
    extendInfo: MAC_USAGE_DESCRIPTIONS,
    files: appFiles('darwin')
  },
  dmg: { artifactName: '${productName}-${version}-${arch}.${ext}' },

  publish: updateUrl ? [{ provider: 'generic', url: updateUrl }] : null
}

export default config
