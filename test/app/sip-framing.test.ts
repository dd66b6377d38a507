import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SipStreamFramer } from '../../app/sip/stream-framer.js'
import { parseSipMessage } from '../../app/sip/parser.js'
import { SipRequest, createResponse, type SipMessage } from '../../app/sip/message.js'

function frames(chunks: Buffer[], limits = { maxHeadBytes: 1024, maxBodyBytes: 1024 }) {
  const framer = new SipStreamFramer(limits)
  const got: SipMessage[] = []
  const errors: string[] = []
  framer.on('message', (m) => got.push(m))
  framer.on('error', (e) => errors.push(e.message))
  for (const c of chunks) framer.push(c)
  return { got, errors }
}

function message(body: string): Buffer {
  const req = new SipRequest('MESSAGE', 'sip:bob@example.org')
  req.append('Via', 'SIP/2.0/PARLEY x.parley.invalid;branch=z9hG4bK1')
  req.append('CSeq', '1 MESSAGE')
  req.body = Buffer.from(body)
  return req.serialize()
}

test('messages are cut by Content-Length across arbitrary chunking', () => {
  const wire = Buffer.concat([Buffer.from('\r\n\r\n'), message('héllo'), message(''), message('x'.repeat(300))])
  for (const size of [1, 7, 64, wire.length]) {
    const chunks: Buffer[] = []
    for (let i = 0; i < wire.length; i += size) chunks.push(wire.subarray(i, i + size))
    const { got, errors } = frames(chunks)
    assert.deepEqual(errors, [])
    assert.deepEqual(got.map((m) => m.body.toString()), ['héllo', '', 'x'.repeat(300)])
  }
})

test('garbage, missing Content-Length and oversized frames are errors', () => {
  assert.match(frames([Buffer.from('GARBAGE\r\n\r\n')]).errors[0] ?? '', /start line/)
  assert.match(frames([Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n')]).errors[0] ?? '', /Content-Length is required/)
  assert.match(frames([Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999\r\n\r\n')]).errors[0] ?? '', /exceeds/)
  assert.match(frames([Buffer.alloc(2000, 'a')]).errors[0] ?? '', /headers exceed/)
  assert.match(frames([Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n')]).errors[0] ?? '', /bad Content-Length/)
})

test('folded and compact headers parse; responses copy the dialog headers', () => {
  const req = parseSipMessage(
    Buffer.from('MESSAGE sip:bob@example.org SIP/2.0\r\nv: SIP/2.0/PARLEY a.invalid;branch=z9hG4bKx\r\nf: <sip:a@b>\r\n ;tag=1\r\nt: <sip:bob@example.org>\r\ni: abc\r\nCSeq: 4 MESSAGE\r\nl: 2\r\n\r\nhi')
  ) as SipRequest
  assert.equal(req.method, 'MESSAGE')
  assert.equal(req.get('From'), '<sip:a@b> ;tag=1')
  assert.equal(req.topBranch, 'z9hG4bKx')
  assert.deepEqual(req.cseq, { seq: 4, method: 'MESSAGE' })
  const res = createResponse(req, 200)
  assert.match(res.get('To') ?? '', /;tag=/)
  assert.equal(res.get('Call-ID'), 'abc')
  assert.match(res.serialize().toString(), /^SIP\/2.0 200 OK\r\n/)
})
