/**
 * Preload for the sandboxed main window.
 *
 * Why `.cts`: a sandboxed preload is not loaded by Node's module loader but run as
 * a CommonJS-style script with a restricted `require` (only `electron` and a few
 * built-ins; no local files). ESM preloads are not supported in sandboxed
 * renderers, and since package.json says `"type": "module"`, a `preload.ts` would
 * be emitted as ESM (tsc appends `export {}`), which fails to parse there.
 * A `.cts` source compiles to CommonJS `dist/main/preload.cjs`, which loads both
 * sandboxed and, should that ever change, unsandboxed.
 *
 * Keep this file free of local imports (type-only imports are fine: erased).
 */
import { contextBridge, ipcRenderer } from 'electron'

// Same string as STATUS_CHANNEL in main/ipc.ts; both are derived from app/api later.
const STATUS_CHANNEL = 'parley:status'

contextBridge.exposeInMainWorld('parley', {
  status: (): Promise<unknown> => ipcRenderer.invoke(STATUS_CHANNEL)
})
