import { app, session } from 'electron'
import { DEFAULT_APP_ORIGIN, decidePermission, decidePermissionCheck } from './permissions.js'

export interface SecurityOptions {
  /** Origin of the app's own page; only it may use the microphone. */
  appOrigin?: string
  /** Grant the camera too (video calls). */
  allowVideo?: boolean
}

/**
 * Renderer lockdown that does not depend on any one window (Electron security
 * checklist): every page stays on the page it was loaded with, opens no windows,
 * embeds no <webview>, and gets only the permissions main/permissions.ts grants
 * (microphone for the app's own top frame).
 */
export function setupSecurity(opts: SecurityOptions = {}): void {
  const policy = { appOrigin: opts.appOrigin ?? DEFAULT_APP_ORIGIN, allowVideo: opts.allowVideo ?? false }
  app.on('web-contents-created', (_event, contents) => {
    // Fires for the main frame and subframes alike; loadFile() from main does not trigger it.
    contents.on('will-frame-navigate', (event) => event.preventDefault())
    contents.on('will-attach-webview', (event) => event.preventDefault())
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })
  // Checklist: "Handle session permission requests from remote content". Both handlers:
  // the request handler answers prompts, the check handler synchronous queries.
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback, details) => {
    const mediaTypes = 'mediaTypes' in details ? details.mediaTypes : undefined
    callback(decidePermission({ ...policy, permission, requestingUrl: details.requestingUrl, isMainFrame: details.isMainFrame, mediaTypes }))
  })
  session.defaultSession.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) =>
    decidePermissionCheck({
      ...policy,
      permission,
      requestingOrigin,
      isMainFrame: details.isMainFrame,
      mediaType: details.mediaType,
      embeddingOrigin: details.embeddingOrigin
    })
  )
}
