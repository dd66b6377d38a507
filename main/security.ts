import { app, session, shell } from 'electron'
import type { Logger } from '../app/log.js'
import { createExternalLinkOpener, decideNavigation, decideWindowOpen } from './external-links.js'
import { DEFAULT_APP_ORIGIN, decidePermission, decidePermissionCheck } from './permissions.js'

export interface SecurityOptions {
  /** Origin of the app's own page; only it may use the microphone. */
  appOrigin?: string
  /** Grant the camera too (video calls). */
  allowVideo?: boolean
  /** Where a failed hand-over of a link to the browser is reported. */
  log?: Pick<Logger, 'warn'>
}

/**
 * Renderer lockdown that does not depend on any one window (Electron security
 * checklist; docs/security.md): a page stays on its own origin, opens no windows,
 * embeds no <webview>, and gets only the permissions main/permissions.ts grants
 * (microphone for the app's own top frame). An http(s) link the app page follows
 * goes to the user's browser instead (main/external-links.ts).
 */
export function setupSecurity(opts: SecurityOptions = {}): void {
  const appOrigin = opts.appOrigin ?? DEFAULT_APP_ORIGIN
  const policy = { appOrigin, allowVideo: opts.allowVideo ?? false }
  const openExternal = createExternalLinkOpener({
    openExternal: (url) => shell.openExternal(url),
    onError: (err) => opts.log?.warn({ err }, 'could not open a link in the browser')
  })
  app.on('web-contents-created', (_event, contents) => {
    // Fires for the main frame and subframes alike; loadURL() from main does not trigger it.
    contents.on('will-frame-navigate', (event) => {
      const decision = decideNavigation({ url: event.url, isMainFrame: event.isMainFrame, currentUrl: contents.getURL(), appOrigin })
      if (decision.action === 'allow') return
      event.preventDefault()
      if (decision.openExternal) openExternal(decision.openExternal)
    })
    contents.on('will-attach-webview', (event) => event.preventDefault())
    contents.setWindowOpenHandler((details) => {
      const decision = decideWindowOpen({ url: details.url, disposition: details.disposition, openerUrl: contents.getURL(), appOrigin })
      if (decision.action === 'deny' && decision.openExternal) openExternal(decision.openExternal)
      return { action: 'deny' }
    })
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
  // WebHID, WebUSB, Web Serial and Bluetooth devices: a softphone needs none of them.
  session.defaultSession.setDevicePermissionHandler(() => false)
}
