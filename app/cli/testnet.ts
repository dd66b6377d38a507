import createTestnet from 'hyperdht/testnet.js'

/** `parley testnet`: a local HyperDHT testnet on 127.0.0.1 until SIGINT/SIGTERM. */
export async function runTestnet(nodes: number, host: string, out: (line: object) => void): Promise<void> {
  const testnet = await createTestnet(nodes, { host })
  out({ bootstrap: testnet.bootstrap.map((b) => `${b.host}:${b.port}`), nodes })
  await new Promise<void>((resolve) => {
    const stop = () => void testnet.destroy().then(resolve)
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
