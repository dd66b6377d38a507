import { createHash } from 'node:crypto'

/**
 * The only thing served without the token: a page that holds nothing of the
 * app. It takes the token from the URL fragment, trades it for the session
 * cookie, drops it from the address bar and history, and opens the app.
 */
const SCRIPT = `
const token = new URLSearchParams(location.hash.slice(1)).get('token')
history.replaceState(null, '', '/')
const say = (text) => { document.getElementById('status').textContent = text }
if (!token) say('Open the address printed by "parley serve --web" (it ends with #token=…).')
else fetch('/session', { method: 'POST', headers: { Authorization: 'Bearer ' + token } })
  .then((res) => res.ok ? location.replace('/app/') : say('This address is not valid any more: restart "parley serve --web" and use the new one.'))
  .catch(() => say('The Parley peer is not answering.'))
`

const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64')

export const LOADER_CSP = `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`

export const LOADER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Parley</title>
<style>body{font:16px system-ui,sans-serif;margin:3rem;color:#222;background:#fafafa}@media(prefers-color-scheme:dark){body{color:#eee;background:#181818}}</style>
</head><body><p id="status" role="status">Opening Parley…</p><script>${SCRIPT}</script></body></html>
`
