// Shows what the shell knows about the peer (window.parley, from main/preload.cts).
// A classic script, not a module: module scripts are CORS-checked, and file://
// pages have an opaque origin. Placeholder until the React UI lands.
'use strict'

const POLL_MS = 2000
const stateLine = document.getElementById('peer-state')
const statusBlock = document.getElementById('peer-status')

const DESCRIPTIONS = {
  'no-identity': 'No address yet: start once with --aor=sip:user@domain.',
  starting: 'Joining the overlay…',
  running: 'Online.',
  failed: 'The peer did not start.',
  closed: 'The peer has left the overlay.'
}

async function refresh() {
  if (!window.parley) {
    stateLine.textContent = 'Not connected to a peer (no bridge in this page).'
    return
  }
  try {
    const status = await window.parley.status()
    stateLine.textContent = DESCRIPTIONS[status.state] ?? status.state
    statusBlock.textContent = JSON.stringify(status, null, 2)
    statusBlock.hidden = false
  } catch (err) {
    stateLine.textContent = `Status unavailable: ${err instanceof Error ? err.message : String(err)}`
  }
}

void refresh()
setInterval(refresh, POLL_MS)
