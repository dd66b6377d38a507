/**
 * IPC channel names of the renderer bridge, shared by main/renderer-bridge.ts
 * and the preload bundle (so this file must import nothing Node- or Electron-only).
 * Requests go renderer → main with `ipcRenderer.send`; ports come back with
 * `WebFrameMain.postMessage` (a reply cannot carry ports through `invoke`).
 */
export const BRIDGE_CHANNELS = {
  /** renderer → main, no payload: "give me the contract's port". */
  apiConnect: 'parley:api-connect',
  /** main → renderer, `null` + one port carrying contract envelopes as text. */
  apiPort: 'parley:api-port',
  /** renderer → main, `{id}`: "open a SIP connection". */
  sipConnect: 'parley:sip-connect',
  /** main → renderer, `SipPortReply` (+ the port when ok). */
  sipPort: 'parley:sip-port'
} as const

/** The shell channel (main/shell-channel.ts): things only the desktop has, about the page's calls. */
export const SHELL_CHANNELS = {
  /** renderer → main (`invoke`), one `ShellReport`. */
  report: 'parley:shell-report',
  /** main → renderer (`webContents.send`), one `ShellCommand`. */
  command: 'parley:shell-command'
} as const

export type SipPortReply = { id: number; ok: true } | { id: number | null; ok: false; error: { code: string; message: string } }

/**
 * Largest SIP message on a port, as for SIP over WebSocket (WS_DEFAULTS.maxPayload:
 * 16 KiB head + 256 KiB body). Stated here because the preload cannot import the
 * Node transport; test/main checks the two agree.
 */
export const MAX_SIP_PORT_MESSAGE = 16 * 1024 + 256 * 1024
