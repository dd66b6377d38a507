import { useDiagnostics, useNodeStatus } from '../api.js'
import { DiagnosticsPanel } from './DiagnosticsPanel.js'
import { NodePanel } from './NodePanel.js'

/** The node panel, fed by `status` every 2 s, and its diagnostics, by `diag.get` every 5 s. */
export function NodeView() {
  const { status, error } = useNodeStatus(2000)
  const { report } = useDiagnostics(5000)
  return (
    <section className="node-view">
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {status ? <NodePanel status={status} /> : <p className="muted">Asking the peer…</p>}
      {status && report ? <DiagnosticsPanel report={report} /> : null}
    </section>
  )
}
