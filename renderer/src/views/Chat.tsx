import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react'
import type { Buddy, ChatMessage } from '../../../app/api/contract.js'
import { errorText, useConversation } from '../api.js'
import { buddyName } from './Buddies.js'

const STATE_LABELS: Record<ChatMessage['state'], string> = {
  sending: 'sending…',
  delivered: 'delivered',
  // Mailed: super-nodes hold it sealed until the recipient comes online (docs/mailbox.md).
  stored: 'stored for delivery',
  failed: 'not delivered',
  received: ''
}

/** One message with its time, delivery state and markers. */
export function ChatMessageItem({ m }: { m: ChatMessage }) {
  const mailed = m.direction === 'in' && m.mailed === true
  return (
    <li className={`message message--${m.direction} message--${m.state}`} data-testid="chat-message" data-state={m.state} data-direction={m.direction} data-mailed={mailed || undefined}>
      <p className="message__text">{m.text}</p>
      <small className="message__meta">
        <time dateTime={m.at}>{new Date(m.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time>
        {STATE_LABELS[m.state] && <span data-testid="message-state"> · {STATE_LABELS[m.state]}</span>}
        {mailed && (
          <span className="message__mailed" data-testid="message-mailed" title="It waited in your mailbox on super-nodes until you came online">
            {' '}
            · sent while you were offline
          </span>
        )}
        {m.identity === 'changed' && ' · sender key changed!'}
      </small>
    </li>
  )
}

/** One buddy's conversation. Enter sends, Shift+Enter starts a new line. */
export function Chat({ buddy, onCall }: { buddy: Buddy; onCall: (aor: string) => void }) {
  const { messages, send } = useConversation(buddy.aor)
  const [text, setText] = useState('')
  const [error, setError] = useState<string | null>(null)
  const listRef = useRef<HTMLOListElement>(null)
  const blocked = buddy.identity.state === 'changed'
  const name = buddyName(buddy)

  useEffect(() => {
    const list = listRef.current
    if (list) list.scrollTop = list.scrollHeight
  }, [messages.length])

  const submit = (e?: FormEvent) => {
    e?.preventDefault()
    const body = text.trim()
    if (!body || blocked) return
    setText('')
    setError(null)
    send(body).catch((err: unknown) => {
      setError(errorText(err))
      setText((now) => now || body)
    })
  }
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault()
      submit()
    }
  }

  return (
    <section className="chat" aria-labelledby="chat-title">
      <header className="chat__header">
        <h2 id="chat-title">{name}</h2>
        <button type="button" onClick={() => onCall(buddy.aor)} disabled={blocked}>
          Call
        </button>
      </header>
      <ol className="chat__messages" ref={listRef} aria-live="polite" aria-label={`Conversation with ${name}`} tabIndex={0}>
        {messages.map((m) => (
          <ChatMessageItem key={m.id} m={m} />
        ))}
      </ol>
      {blocked && (
        <p role="alert" className="warning">
          {name}’s identity changed: accept the new key in the buddy list before chatting.
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <form className="chat__compose" onSubmit={submit}>
        <label className="visually-hidden" htmlFor="chat-input">
          Message to {name}
        </label>
        <textarea id="chat-input" data-testid="chat-input" rows={2} value={text} disabled={blocked} onChange={(e) => setText(e.target.value)} onKeyDown={onKeyDown} placeholder="Message" />
        <button type="submit" data-testid="chat-send" disabled={blocked || !text.trim()}>
          Send
        </button>
      </form>
    </section>
  )
}
