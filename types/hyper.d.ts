// Minimal declarations for the Holepunch modules Parley uses; they ship none.
// Only the surface Parley touches is typed.

declare module 'sodium-universal' {
  const sodium: {
    crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array): void
    crypto_sign_keypair(pk: Uint8Array, sk: Uint8Array): void
    crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void
    crypto_sign_ed25519_sk_to_pk(pk: Uint8Array, sk: Uint8Array): void
    crypto_sign_PUBLICKEYBYTES: number
    crypto_sign_SECRETKEYBYTES: number
    randombytes_buf(out: Uint8Array): void
    crypto_sign_detached(sig: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void
    crypto_sign_verify_detached(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
    crypto_sign_ed25519_pk_to_curve25519(curve: Uint8Array, ed: Uint8Array): void
    crypto_sign_ed25519_sk_to_curve25519(curve: Uint8Array, ed: Uint8Array): void
    crypto_box_seal(out: Uint8Array, message: Uint8Array, publicKey: Uint8Array): void
    crypto_box_seal_open(out: Uint8Array, sealed: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): boolean
    crypto_box_SEALBYTES: number
  }
  export default sodium
}

declare module 'hyperdht' {
  import { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'

  export interface KeyPair { publicKey: Buffer; secretKey: Buffer }
  export interface DhtNodeAddress { host: string; port: number; id?: Buffer | null }
  export interface DhtReply {
    from: { id: Buffer | null; host: string; port: number }
    to: { host: string; port: number } | null
    rtt?: number
    error?: number
    closerNodes: Array<{ host: string; port: number; id?: Buffer }> | null
    peers?: Array<{ publicKey: Buffer; relayAddresses: Array<{ host: string; port: number }> }>
  }
  export interface DhtQuery extends AsyncIterable<DhtReply> {
    closestReplies: DhtReply[]
    closestNodes: DhtNodeAddress[]
    finished(): Promise<void>
    destroy(err?: Error): void
  }
  export interface NoiseSecretStream extends Duplex {
    remotePublicKey: Buffer
    publicKey: Buffer
    rawStream: { remoteHost?: string; remotePort?: number } | null
    opened: Promise<boolean>
    userData: unknown
  }
  export interface DhtServer extends EventEmitter {
    listen(keyPair?: KeyPair): Promise<void>
    close(): Promise<void>
    address(): { host: string; port: number; publicKey: Buffer } | null
    relayAddresses: Array<{ host: string; port: number }>
  }
  /** A blind relay's public key, or a function choosing one per connection (null: none). */
  export type RelayThrough = Buffer | null | (() => Buffer | null)
  export interface DhtOptions {
    bootstrap?: Array<string | { host: string; port: number }> | false
    keyPair?: KeyPair
    port?: number
    host?: string
    ephemeral?: boolean
    firewalled?: boolean
    anyPort?: boolean
    /** false: never switch between ephemeral and persistent on its own (Parley's policy decides). */
    adaptive?: boolean
  }

  class HyperDHT extends EventEmitter {
    constructor(opts?: DhtOptions)
    static keyPair(seed?: Uint8Array): KeyPair
    static bootstrapper(port: number, host: string, opts?: DhtOptions): HyperDHT
    static BOOTSTRAP: string[]
    readonly defaultKeyPair: KeyPair
    readonly destroyed: boolean
    readonly ephemeral: boolean
    readonly firewalled: boolean
    readonly randomized: boolean
    readonly bootstrapped: boolean
    readonly table: { id: Buffer; k: number; closest(target: Buffer, k?: number): DhtNodeAddress[]; toArray(): Array<{ id: Buffer; host: string; port: number }> }
    readonly udx: { bytesTransmitted: number; bytesReceived: number; packetsTransmitted: number; packetsReceived: number }
    stats: { queries: { active: number; total: number } }
    fullyBootstrapped(): Promise<void>
    ready(): Promise<void>
    address(): { host: string; port: number; family: number } | null
    remoteAddress(): { host: string; port: number } | null
    toArray(opts?: { limit?: number }): Array<{ host: string; port: number }>
    addNode(node: { host: string; port: number }): void
    ping(node: { host: string; port: number }, opts?: { retry?: boolean }): Promise<unknown>
    lookup(target: Buffer, opts?: Record<string, unknown>): DhtQuery
    announce(target: Buffer, keyPair: KeyPair, relayAddresses?: Array<{ host: string; port: number }>, opts?: Record<string, unknown>): DhtQuery
    unannounce(target: Buffer, keyPair: KeyPair, opts?: Record<string, unknown>): Promise<void>
    connect(publicKey: Buffer, opts?: { keyPair?: KeyPair; relayThrough?: RelayThrough; relayAddresses?: Array<{ host: string; port: number }> }): NoiseSecretStream
    createServer(opts?: Record<string, unknown>, onconnection?: (stream: NoiseSecretStream) => void): DhtServer
    /** dht-rpc: pause timers and sockets (machine going to sleep) and start again; both idempotent. */
    readonly suspended: boolean
    suspend(opts?: { log?: (msg: string) => void }): Promise<void>
    resume(opts?: { log?: (msg: string) => void }): Promise<void>
    destroy(opts?: { force?: boolean }): Promise<void>
    createRawStream(opts?: Record<string, unknown>): unknown
  }
  export default HyperDHT
}

declare module 'hyperdht/lib/constants.js' {
  export const COMMANDS: { PLUGIN: number }
}

declare module 'hyperdht/testnet.js' {
  import type HyperDHT from 'hyperdht'
  interface Testnet {
    nodes: HyperDHT[]
    bootstrap: Array<{ host: string; port: number }>
    createNode(opts?: Record<string, unknown>): HyperDHT
    destroy(): Promise<void>
  }
  function createTestnet(size?: number, opts?: { host?: string; port?: number; bootstrap?: Array<{ host: string; port: number }> }): Promise<Testnet>
  export default createTestnet
}

declare module 'protomux' {
  import type { Duplex } from 'node:stream'
  export interface ProtomuxMessage<T> { send(value: T): boolean }
  export interface ProtomuxChannel {
    open(handshake?: unknown): void
    close(): void
    addMessage<T>(opts: { encoding: unknown; onmessage: (value: T) => void }): ProtomuxMessage<T>
    readonly opened: boolean
    readonly closed: boolean
  }
  class Protomux {
    static from(stream: Duplex): Protomux
    createChannel(opts: {
      protocol: string
      id?: Buffer | null
      handshake?: unknown
      onopen?: (handshake: unknown) => void
      onclose?: () => void
      ondestroy?: () => void
    }): ProtomuxChannel | null
    pair(opts: { protocol: string; id?: Buffer | null }, notify: (id: Buffer | null) => void): void
    unpair(opts: { protocol: string; id?: Buffer | null }): void
    destroy(err?: Error): void
  }
  export default Protomux
}

declare module 'hyperdht/lib/messages.js' {
  const messages: {
    peer: Parameters<typeof import('compact-encoding').encode>[0]
    pluginRequest: import('compact-encoding').Encoder<{ plugin: string; version: number; command: number; value: Uint8Array | null }>
  }
  export default messages
}

declare module 'z32' {
  const z32: { encode(buf: Uint8Array): string; decode(s: string): Buffer }
  export default z32
}

declare module 'blind-relay' {
  import type { Duplex } from 'node:stream'
  interface Counters { [k: string]: number }
  export class Server {
    constructor(opts: { createStream(opts: Record<string, unknown>): unknown })
    accept(stream: Duplex, opts?: { id?: Buffer }): { on(event: 'error', fn: (err: Error) => void): unknown }
    close(): Promise<void>
    stats: { sessions: Counters; pairings: Counters; streams: Counters }
  }
  const relay: { Server: typeof Server }
  export default relay
}

declare module 'corestore' {
  class Corestore {
    constructor(storage: string)
    get(opts: { name: string }): unknown
    ready(): Promise<void>
    close(): Promise<void>
  }
  export default Corestore
}

declare module 'hyperbee' {
  interface Codec<T> {
    encode(value: T): Buffer
    decode(buf: Buffer): T
  }
  class Hyperbee<K, V> {
    constructor(core: unknown, opts: { keyEncoding: 'utf-8'; valueEncoding: Codec<V> })
    ready(): Promise<void>
    get(key: K): Promise<{ key: K; value: V } | null>
    put(key: K, value: V): Promise<void>
    del(key: K): Promise<void>
    createReadStream(range?: { gt?: K; gte?: K; lt?: K; lte?: K }): AsyncIterable<{ key: K; value: V }>
    batch(): {
      get(key: K): Promise<{ key: K; value: V } | null>
      put(key: K, value: V): Promise<void>
      del(key: K): Promise<void>
      flush(): Promise<void>
    }
    close(): Promise<void>
  }
  export default Hyperbee
}

// Blob store (app/mailbox/blob-store.ts): the Hypercore surface it uses. The Corestore
// class above cannot be merged from here, so callers cast it to CorestoreOfCores.
declare module 'corestore' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'
  export interface Hypercore extends EventEmitter {
    readonly key: Buffer
    readonly discoveryKey: Buffer
    readonly length: number
    readonly contiguousLength: number
    readonly byteLength: number
    ready(): Promise<void>
    close(): Promise<void>
    append(blocks: Buffer | Buffer[]): Promise<{ length: number; byteLength: number }>
    get(index: number, opts?: { wait?: boolean; timeout?: number }): Promise<Buffer | null>
    has(start: number, end?: number): Promise<boolean>
    clear(start: number, end?: number): Promise<unknown>
    download(range: { start: number; end: number }): { done(): Promise<void>; destroy(): void }
    on(event: 'download', fn: (index: number, byteLength: number) => void): this
    off(event: 'download', fn: (index: number, byteLength: number) => void): this
  }
  export interface CorestoreOfCores {
    get(opts: { key: Buffer } | { name: string }): Hypercore
    replicate(stream: Duplex): Duplex
    ready(): Promise<void>
    close(): Promise<void>
  }
}
