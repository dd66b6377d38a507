import { app, session } from 'electron'

/**
 * Renderer lockdown that does not depend on any one window (Electron security
 * checklist): every page stays on the page it was loaded with, opens no windows,
 * embeds no <webview>, and is granted no permission. The calls issue grants
 * `media` to the main window's own frame here.
 */
export function setupSecurity(): void {
  app.on('web-contents-created', (_event, contents) => {
    // Fires for the main frame and subframes alike; loadFile() from main does not trigger it.
    contents.on('will-frame-navigate', (event) => event.preventDefault())
    contents.on('will-attach-webview', (event) => event.preventDefault())
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
}
