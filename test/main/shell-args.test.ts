import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseShellArgs } from '../../main/shell-args.js'

test('the shell reads --aor=, --bootstrap= and --hidden, and nothing Chromium adds', () => {
  assert.deepEqual(parseShellArgs(['/opt/Parley/parley', '--no-sandbox', '--aor=sip:alice@example.org', '--bootstrap=127.0.0.1:1, 127.0.0.1:2,', '--hidden']), {
    aor: 'sip:alice@example.org',
    bootstrap: ['127.0.0.1:1', '127.0.0.1:2'],
    hidden: true
  })
  assert.deepEqual(parseShellArgs(['/opt/Parley/parley', '--hidden=no', 'sip:bob@example.org']), {})
})
