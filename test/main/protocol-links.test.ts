import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PROTOCOL_SCHEMES, findLinkInArgv, parseProtocolLink } from '../../main/protocol-links.js'

const call = (uri: string, display: string) => ({ kind: 'call', uri, display })

const good: [string, ReturnType<typeof call>][] = [
  ['sip:alice@example.org', call('sip:alice@example.org', 'alice@example.org')],
  ['SIP:Alice@Example.ORG', call('sip:Alice@example.org', 'Alice@example.org')],
  ['sips:bob@example.org:5061', call('sips:bob@example.org:5061', 'bob@example.org:5061')],
  ['sip://alice@example.org', call('sip:alice@example.org', 'alice@example.org')],
  ['sip:alice@192.0.2.7', call('sip:alice@192.0.2.7', 'alice@192.0.2.7')],
  ['sip:alice@[2001:db8::1]:5060', call('sip:alice@[2001:db8::1]:5060', 'alice@[2001:db8::1]:5060')],
  // Headers (RFC 3261 §19.1.1) could set Subject, Route, or a body: never taken from a link.
  ['sip:alice@example.org?subject=hi&route=%3Csip:evil.example%3E', call('sip:alice@example.org', 'alice@example.org')],
  // maddr/method/lr redirect or change the request; only transport and user=phone survive.
  ['sip:alice@example.org;maddr=evil.example;method=BYE;lr', call('sip:alice@example.org', 'alice@example.org')],
  ['sip:alice@example.org;transport=TCP;user=phone', call('sip:alice@example.org;transport=tcp;user=phone', 'alice@example.org')],
  ['sip:alice@example.org;transport=carrier-pigeon', call('sip:alice@example.org', 'alice@example.org')],
  // A password in a link is never carried on.
  ['sip:alice:secret@example.org', call('sip:alice@example.org', 'alice@example.org')],
  ['sip:j%C3%BCrgen@example.org', call('sip:j%C3%BCrgen@example.org', 'jürgen@example.org')],
  ['sip:al%69ce@example.org', call('sip:alice@example.org', 'alice@example.org')],
  ['sip:+15550100@example.org;user=phone', call('sip:+15550100@example.org;user=phone', '+15550100@example.org')],
  ['tel:+1-555-0100', call('tel:+15550100', '+15550100')],
  ['TEL:+1-555-0100;phone-context=example.com', call('tel:+15550100', '+15550100')],
  ['tel:5550100;phone-context=+1', call('tel:5550100', '5550100')],
  ['tel:+1%20(555)%20010.0', call('tel:+15550100', '+15550100')],
  ['tel:*21%23', call('tel:*21#', '*21#')],
  ['tel:+15550100;ext=22;isub=1', call('tel:+15550100', '+15550100')],
  ['callto://alice@example.org', call('sip:alice@example.org', 'alice@example.org')],
  ['callto:alice@example.org', call('sip:alice@example.org', 'alice@example.org')],
  // Windows appends a slash to `scheme://authority` links it hands over.
  ['callto://alice@example.org/', call('sip:alice@example.org', 'alice@example.org')],
  ['callto:+1-555-0100', call('tel:+15550100', '+15550100')],
  ['CallTo://+15550100', call('tel:+15550100', '+15550100')],
  ['  sip:alice@example.org  ', call('sip:alice@example.org', 'alice@example.org')]
]

for (const [link, expected] of good) {
  test(`parses ${JSON.stringify(link)}`, () => {
    assert.deepEqual(parseProtocolLink(link), expected)
  })
}

const hostile: [string, string][] = [
  ['javascript:alert(1)', 'script scheme'],
  ['JaVaScRiPt:alert(1)//sip:alice@example.org', 'script scheme, mixed case'],
  ['data:text/html,<script>alert(1)</script>', 'data scheme'],
  ['file:///etc/passwd', 'file scheme'],
  ['http://example.org/', 'http is not a call'],
  ['skype:alice', 'unknown scheme'],
  ['sip:', 'empty'],
  ['sip:alice', 'no host'],
  ['sip:example.org', 'no user: Parley calls an address-of-record'],
  ['sip:@example.org', 'empty user'],
  ['sip:alice@', 'empty host'],
  ['sip:alice@exa mple.org', 'space in host'],
  ['sip:alice@example.org:99999', 'port out of range'],
  ['sip:alice@-bad-.org', 'bad label'],
  ['sip:alice@example.org/path', 'path in host'],
  ['sip:alice@javascript:alert(1)', 'script disguised as host'],
  ['sip:alice@example.org#frag', 'fragment'],
  ['sip:alice%00@example.org', 'encoded NUL'],
  ['sip:alice%0d%0aVia:x@example.org', 'encoded CRLF (header injection)'],
  ['sip:alice\r\n@example.org', 'raw CRLF'],
  ['sip:al\u0007ice@example.org', 'raw control character'],
  ['sip:alice%E2%80%AEgro.elpmaxe@example.org', 'right-to-left override in display'],
  ['sip:%E2%80%8B@example.org', 'zero-width user'],
  ['sip:alice%20smith@example.org', 'space in user'],
  ['sip:%zz@example.org', 'broken percent-encoding'],
  ['sip:%C3@example.org', 'truncated UTF-8'],
  ['sip:' + 'a'.repeat(520) + '@example.org', 'over 512 characters'],
  ['tel:', 'empty number'],
  ['tel:+', 'plus only'],
  ['tel:+1-555-CALL', 'letters'],
  ['tel:+1555%0A0100', 'encoded newline'],
  ['tel:+1-555-0100<script>', 'markup'],
  ['tel:' + '1'.repeat(40), 'too many digits'],
  ['callto:alice', 'bare name has no domain to look up'],
  ['callto://', 'empty callto'],
  ['callto:javascript:alert(1)', 'script inside callto'],
  ['', 'empty string'],
  ['sip alice@example.org', 'no colon']
]

for (const [link, why] of hostile) {
  test(`rejects ${JSON.stringify(link.slice(0, 60))} (${why})`, () => {
    assert.equal(parseProtocolLink(link), null)
  })
}

test('the 512-character limit applies to the link as handed over', () => {
  const user = 'a'.repeat(512 - 'sip:@example.org'.length)
  assert.notEqual(parseProtocolLink(`sip:${user}@example.org`), null)
  assert.equal(parseProtocolLink(`sip:${user}a@example.org`), null)
})

test('the schemes for the packagers are exactly the parsed ones', () => {
  assert.deepEqual([...PROTOCOL_SCHEMES], ['sip', 'sips', 'tel', 'callto'])
  for (const scheme of PROTOCOL_SCHEMES) {
    const link = scheme === 'tel' ? 'tel:+15550100' : `${scheme}:alice@example.org`
    assert.notEqual(parseProtocolLink(link), null, scheme)
  }
})

const argvCases: [string, string[], ReturnType<typeof call> | null][] = [
  [
    'Windows second instance',
    ['C:\\Program Files\\Parley\\Parley.exe', '--allow-file-access-from-files', '--original-process-start-time=1337', 'sip:alice@example.org'],
    call('sip:alice@example.org', 'alice@example.org')
  ],
  [
    'Linux, development (electron . link)',
    ['/usr/lib/electron/electron', '/home/me/parley', 'tel:+1-555-0100'],
    call('tel:+15550100', '+15550100')
  ],
  ['a drive letter is not a scheme', ['C:\\Parley\\Parley.exe', 'C:\\Users\\me'], null],
  ['a link smuggled inside a switch is ignored', ['/opt/Parley/parley', '--aor=sip:alice@example.org', '--x=callto:bob@example.org'], null],
  [
    'the first valid link wins; hostile ones are skipped',
    ['/opt/Parley/parley', 'javascript:alert(1)', 'sip:%00@example.org', 'sips:carol@example.org', 'sip:dave@example.org'],
    call('sips:carol@example.org', 'carol@example.org')
  ],
  ['no link at all', ['/opt/Parley/parley', '--no-sandbox'], null],
  ['empty argv', [], null]
]

for (const [name, argv, expected] of argvCases) {
  test(`findLinkInArgv: ${name}`, () => {
    assert.deepEqual(findLinkInArgv(argv), expected)
  })
}
