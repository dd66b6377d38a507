import c from 'compact-encoding'
import type HyperDHT from 'hyperdht'
// hyperdht's wire schemas; the peer record is what ANNOUNCE stores.
import messages from 'hyperdht/lib/messages.js'

interface PersistentInternals {
  records: { add(k: string, id: Buffer, record: Buffer): void; get(k: string, n: number): Buffer[]; remove(k: string, id: Buffer): void }
}

function persistent(dht: HyperDHT): PersistentInternals | null {
  return (dht as unknown as { _persistent: PersistentInternals | null })._persistent
}

/**
 * A persistent node stores other peers' announcements but never queries itself,
 * and its own ANNOUNCE goes only to *other* nodes. When it is the first node of
 * a new overlay there are none, so its own records are placed in its own record
 * store (hyperdht does the reverse, "unlink self", in lookupAndUnannounce) and
 * lookups consult that store too.
 */
export function addLocalRecord(dht: HyperDHT, topic: Buffer, publicKey: Buffer): boolean {
  const store = persistent(dht)
  if (!store) return false
  store.records.add(topic.toString('hex'), publicKey, Buffer.from(c.encode(messages.peer, { publicKey, relayAddresses: [] })))
  return true
}

export function removeLocalRecord(dht: HyperDHT, topic: Buffer, publicKey: Buffer): void {
  persistent(dht)?.records.remove(topic.toString('hex'), publicKey)
}

export function localRecords(dht: HyperDHT, topic: Buffer): Buffer[] {
  const store = persistent(dht)
  if (!store) return []
  return store.records.get(topic.toString('hex'), 20).map((raw) => (c.decode(messages.peer, raw) as { publicKey: Buffer }).publicKey)
}
