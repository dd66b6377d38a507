/**
 * What the installers carry: builds the Linux `dir` target with electron-builder and
 * the project's real config (electron-builder.ts) against a stub Electron folder
 * (the binary cannot be downloaded here, DESIGN.md), then reads the app.asar, the
 * unpacked native addons, the fuse wire of the renamed executable and the .desktop
 * entry a deb/AppImage would get.
 *
 * The stub `electron` carries Electron's fuse wire (the sentinel @electron/fuses
 * searches for, a version byte, a length byte and one byte per fuse, set to
 * Electron's defaults), so electron-builder really flips the fuses.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as asar from '@electron/asar'
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses'
import { Arch, Platform, build, type AfterPackContext, type Configuration } from 'electron-builder'
import builderConfig, { CALL_LINK_PROTOCOL, CLI_ONLY_PACKAGES } from '../../electron-builder.js'
import forgeConfig from '../../forge.config.js'
import { PROTOCOL_SCHEMES } from '../../main/protocol-links.js'

const ROOT = join(import.meta.dirname, '..', '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}
const CLI_ONLY: ReadonlySet<string> = new Set(CLI_ONLY_PACKAGES)

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'
/** Electron 41's shipped fuse states, by FuseV1Options index ('1' enabled, '0' disabled). */
const ELECTRON_DEFAULT_FUSES = '10110001'

/** A stand-in for electron-v41-linux-x64.zip, unpacked: what the dir target copies. */
async function stubElectron(dir: string): Promise<void> {
  await mkdir(join(dir, 'resources'), { recursive: true })
  await mkdir(join(dir, 'locales'), { recursive: true })
  const wire = Buffer.concat([
    Buffer.from('\x7fELF stub electron\n'),
    Buffer.from(SENTINEL, 'latin1'),
    Buffer.from([1, ELECTRON_DEFAULT_FUSES.length]),
    Buffer.from(ELECTRON_DEFAULT_FUSES, 'latin1'),
    Buffer.from('\n')
  ])
  await writeFile(join(dir, 'electron'), wire)
  await chmod(join(dir, 'electron'), 0o755)
  await writeFile(join(dir, 'locales', 'en-US.pak'), '')
  await writeFile(join(dir, 'version'), '41.7.1')
  await writeFile(join(dir, 'LICENSE'), 'stub')
}

/** The .desktop text electron-builder writes into the deb, rpm and AppImage, from the packager itself. */
async function desktopEntry(context: AfterPackContext): Promise<string> {
  const fromBuilder = createRequire(createRequire(import.meta.url).resolve('electron-builder'))
  const { LinuxTargetHelper } = fromBuilder('app-builder-lib/out/targets/LinuxTargetHelper') as {
    LinuxTargetHelper: new (packager: unknown) => { computeDesktopEntry(options: unknown): Promise<string> }
  }
  const packager = context.packager as unknown as { platformSpecificBuildOptions: unknown }
  return new LinuxTargetHelper(packager).computeDesktopEntry(packager.platformSpecificBuildOptions)
}

function ensureBuilt(): void {
  // The main process is compiled here (it changes with every commit); the renderer by `pretest`.
  execFileSync('npm', ['run', '--silent', 'build:main'], { cwd: ROOT, stdio: 'inherit' })
  if (!existsSync(join(ROOT, 'dist', 'renderer', 'index.html'))) {
    execFileSync('npm', ['run', '--silent', 'build:renderer'], { cwd: ROOT, stdio: 'inherit' })
  }
}

test('the Linux package: app.asar holds the built app and its production dependencies only, fuses flipped', async (t) => {
  ensureBuilt()
  const work = await mkdtemp(join(tmpdir(), 'parley-packaging-'))
  t.after(() => rm(work, { recursive: true, force: true }))
  const electronDist = join(work, 'electron')
  await stubElectron(electronDist)

  let desktop = ''
  const overrides: Configuration = {
    electronDist,
    directories: { output: join(work, 'release') },
    // Keep what the stub lacks out of the way; everything else is electron-builder.ts.
    publish: null,
    afterPack: async (context) => {
      desktop = await desktopEntry(context)
    }
  }
  await build({
    projectDir: ROOT,
    targets: Platform.LINUX.createTarget('dir', Arch.x64),
    config: overrides,
    publish: 'never'
  })

  const appOut = join(work, 'release', 'linux-unpacked')
  const asarPath = join(appOut, 'resources', 'app.asar')
  const files = new Set(asar.listPackage(asarPath, { isPack: false }).map((f) => f.replaceAll('\\', '/')))
  const has = (path: string) => files.has(path)
  const any = (pattern: RegExp) => [...files].filter((f) => pattern.test(f))

  // The built app and its data.
  for (const path of ['/package.json', '/dist/main/main.js', '/dist/app/peer.js', '/dist/renderer/index.html', '/resources/bootstrap.json', '/resources/icons/png/256x256.png']) {
    assert.ok(has(path), `${path} is in app.asar`)
  }
  assert.ok(has('/dist/main/preload.cjs'), 'the preload (dist/main/preload.cjs) is in app.asar')
  const packaged = JSON.parse(asar.extractFile(asarPath, 'package.json').toString()) as { main: string; desktopName?: string }
  assert.equal(packaged.main, 'dist/main/main.js')
  assert.equal(packaged.desktopName, 'parley.desktop')

  // Every production dependency the main process imports, and none of the dev ones.
  for (const name of Object.keys(pkg.dependencies).filter((n) => !CLI_ONLY.has(n))) {
    assert.ok(has(`/node_modules/${name}/package.json`), `production dependency ${name} is packaged`)
  }
  for (const name of [...Object.keys(pkg.devDependencies), ...CLI_ONLY, 'electron-builder', 'app-builder-lib', 'react', 'react-dom', 'scheduler']) {
    assert.deepEqual(any(new RegExp(`/node_modules/${name.replace('/', '\\/')}(/|$)`)), [], `${name} is not packaged`)
  }

  // No sources, tests, benchmarks or maps.
  assert.deepEqual(any(/^\/(test|bench|docs|conformance|renderer|app|main|types|scripts|build|bin|\.ci)(\/|$)/), [], 'no source or test trees')
  assert.deepEqual(any(/^\/[^/]+\.(ts|md|yml|json)$/).filter((f) => f !== '/package.json'), [], 'no top-level sources or configs')
  assert.deepEqual(any(/\.(map|ts|tsx)$/), [], 'no TypeScript sources, declarations or source maps')
  assert.deepEqual(any(/^\/resources\/icons\/.*\.(ico|icns)$/), [], 'the ICO and ICNS are for the executables only')

  // Native addons: this platform's prebuilds, unpacked so dlopen can reach them.
  const unpacked = join(appOut, 'resources', 'app.asar.unpacked')
  for (const addon of ['sodium-native', 'udx-native']) {
    const rel = `node_modules/${addon}/prebuilds/linux-x64/${addon}.node`
    assert.ok(has(`/${rel}`), `${rel} is listed in app.asar`)
    assert.ok(existsSync(join(unpacked, rel)), `${rel} is unpacked`)
  }
  assert.deepEqual(any(/\/prebuilds\/(?!linux-x64(\/|$))[^/]+/), [], 'no prebuilds for other platforms or arches')
  assert.deepEqual(any(/\/node_modules\/.*(\.[ch]|CMakeLists\.txt)$/), [], 'no C sources of the addons')
  assert.deepEqual(any(/\.bare$/), [], 'no Bare-runtime addons')

  // Fuses, read back from the renamed executable.
  const fuses = await getCurrentFuseWire(join(appOut, 'parley'))
  const state = (option: FuseV1Options) => String.fromCharCode(fuses[option] as number)
  assert.deepEqual(
    {
      runAsNode: state(FuseV1Options.RunAsNode),
      cookieEncryption: state(FuseV1Options.EnableCookieEncryption),
      nodeOptions: state(FuseV1Options.EnableNodeOptionsEnvironmentVariable),
      inspectArguments: state(FuseV1Options.EnableNodeCliInspectArguments),
      asarIntegrity: state(FuseV1Options.EnableEmbeddedAsarIntegrityValidation),
      onlyLoadAppFromAsar: state(FuseV1Options.OnlyLoadAppFromAsar),
      grantFileProtocolExtraPrivileges: state(FuseV1Options.GrantFileProtocolExtraPrivileges)
    },
    { runAsNode: '0', cookieEncryption: '1', nodeOptions: '0', inspectArguments: '0', asarIntegrity: '1', onlyLoadAppFromAsar: '1', grantFileProtocolExtraPrivileges: '0' }
  )

  // The .desktop entry: launcher, category and the call-link schemes.
  const entry = Object.fromEntries(desktop.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  assert.equal(entry.Name, 'Parley')
  assert.equal(entry.Exec, '/opt/Parley/parley %U')
  assert.equal(entry.Categories, 'Network;Telephony;')
  assert.equal(entry.StartupWMClass, 'parley')
  assert.deepEqual(entry.MimeType?.split(';').filter(Boolean).sort(), PROTOCOL_SCHEMES.map((s) => `x-scheme-handler/${s}`).sort())
})

test('Windows and macOS declarations: the NSIS script registers every call-link scheme, the mac bundle asks for the microphone', () => {
  const nsis = readFileSync(join(ROOT, 'build', 'installer.nsh'), 'utf8')
  assert.equal(builderConfig.nsis?.include, 'build/installer.nsh')
  const registered = [...nsis.matchAll(/^\s*!insertmacro parleyRegisterScheme "([^"]+)"/gm)].map((m) => m[1])
  const unregistered = [...nsis.matchAll(/^\s*!insertmacro parleyUnregisterScheme "([^"]+)"/gm)].map((m) => m[1])
  assert.deepEqual(registered, [...PROTOCOL_SCHEMES])
  assert.deepEqual(unregistered, [...PROTOCOL_SCHEMES])

  const mac = builderConfig.mac!
  assert.match(String(mac.extendInfo?.NSMicrophoneUsageDescription), /microphone/)
  assert.match(String(mac.extendInfo?.NSCameraUsageDescription), /camera/)
  assert.equal(mac.hardenedRuntime, true)
  const entitlements = readFileSync(join(ROOT, String(mac.entitlements)), 'utf8')
  for (const key of ['com.apple.security.cs.allow-jit', 'com.apple.security.device.audio-input', 'com.apple.security.device.camera']) {
    assert.match(entitlements, new RegExp(`<key>${key.replaceAll('.', '\\.')}</key>\\s*<true/>`), key)
  }
  assert.deepEqual(builderConfig.protocols, [CALL_LINK_PROTOCOL])
  assert.deepEqual(CALL_LINK_PROTOCOL.schemes, [...PROTOCOL_SCHEMES])
})

test('forge.config.ts (electron-forge start/package) ships the same files, fuses and schemes as electron-builder', () => {
  const { ignore, protocols, extendInfo } = forgeConfig.packagerConfig
  for (const kept of ['', '/package.json', '/dist', '/dist/main/main.js', '/dist/renderer/index.html', '/resources/bootstrap.json', '/node_modules/hyperdht/index.js']) {
    assert.equal(ignore(kept), false, `${kept} is packaged`)
  }
  for (const left of ['/test/main/auto-update.test.ts', '/app/peer.ts', '/main/main.ts', '/renderer/src', '/bench', '/dist/main/main.js.map', '/node_modules/tsx/package.json', '/node_modules/@esbuild/linux-x64', '/electron-builder.ts', '/forge.config.ts']) {
    assert.equal(ignore(left), true, `${left} is left out`)
  }
  assert.deepEqual(protocols, [{ name: 'Call link', schemes: [...PROTOCOL_SCHEMES] }])
  assert.deepEqual(extendInfo, builderConfig.mac?.extendInfo)
  const fuses = forgeConfig.plugins.find((p) => p.name === '@electron-forge/plugin-fuses')?.config as Record<number, boolean>
  assert.deepEqual(
    [FuseV1Options.RunAsNode, FuseV1Options.EnableCookieEncryption, FuseV1Options.EnableNodeOptionsEnvironmentVariable, FuseV1Options.EnableNodeCliInspectArguments, FuseV1Options.EnableEmbeddedAsarIntegrityValidation, FuseV1Options.OnlyLoadAppFromAsar, FuseV1Options.GrantFileProtocolExtraPrivileges].map((o) => fuses[o]),
    [false, true, false, false, true, true, false]
  )
})
