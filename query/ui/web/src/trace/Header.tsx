import { serviceColor } from "../colors";
import { formatDuration, formatTimestamp } from "./format";
import type { Trace } from "./model";
import { CopyButton } from "./CopyButton";

/** The trace's vital numbers: what it was, when, how long, how big, how broken. */
export function TraceHeader({ trace }: { trace: Trace }) {
  const root = trace.root ?? trace.roots.find((r) => !r.synthetic) ?? trace.roots[0]?.children[0] ?? null;
  return (
    <section class="tr-header" data-testid="trace-header" aria-label="Trace summary">
      <h1 class="tr-title">
        {root ? (
          <>
            <span class="tr-svc-chip" style={{ background: serviceColor(root.service) }} aria-hidden="true" />
            <span>
              <span class="tr-title-svc">{root.service}</span>: <span class="tr-title-op">{root.name}</span>
            </span>
          </>
        ) : (
          "Trace"
        )}
        {!trace.root && <span class="tr-badge tr-badge-warn" title="No span of this trace is without a parent">no root span</span>}
        <span class="tr-title-id">
          <code>{trace.traceID}</code>
          <CopyButton text={trace.traceID} label="trace ID" />
        </span>
      </h1>
      <dl class="tr-facts">
        <div>
          <dt>Start</dt>
          <dd title={`${trace.startUnixNano} ns since the Unix epoch`}>{formatTimestamp(trace.startUnixNano)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(trace.duration)}</dd>
        </div>
        <div>
          <dt>Services</dt>
          <dd title={trace.services.join(", ")}>{trace.services.length}</dd>
        </div>
        <div>
          <dt>Depth</dt>
          <dd>{trace.depth}</dd>
        </div>
        <div>
          <dt>Spans</dt>
          <dd>{trace.spans.length}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd class={trace.errorCount ? "tr-error-text" : undefined}>{trace.errorCount}</dd>
        </div>
      </dl>
      {trace.warnings.length > 0 && (
        <ul class="tr-warnings" aria-label="Problems with this trace's data">
          {trace.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
