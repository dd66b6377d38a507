import { useNodeStatus } from '../api.js'
import { NodePanel } from './NodePanel.js'

/** The node panel, fed by `status` every 2 s. */
export function NodeView() {
  const { status, error } = useNodeStatus(2000)
  return (
    <section className="node-view">
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {status ? <NodePanel status={status} /> : <p className="muted">Asking the peer…</p>}
    </section>
  )
}
