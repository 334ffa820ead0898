// Everything about one span: timing, status, IDs (copyable), attributes,
// resource, scope, events (at times relative to the span's start) and
// links (which go to the linked span, in this trace or another).

import { link } from "../router";
import { serviceColor } from "../colors";
import { CopyButton } from "./CopyButton";
import { formatDuration, formatTimestamp, formatValue } from "./format";
import type { KeyValue, Span, Trace } from "./model";

interface Props {
  trace: Trace;
  span: Span;
  onClose: () => void;
  /** Selects a span of this trace (for parent and same-trace links). */
  onSelect: (id: string) => void;
  /** Whether this trace can be linked to by URL (false for uploaded files). */
  linkable: boolean;
}

export function SpanDetail({ trace, span: s, onClose, onSelect, linkable }: Props) {
  const parent = s.parentSpanID ? trace.spanByID.get(s.parentSpanID) : undefined;
  return (
    <aside class="tr-detail" data-testid="span-detail" aria-label={`Span ${s.name}`}>
      <header class="tr-detail-head">
        <span class="tr-svc-chip" style={{ background: serviceColor(s.service) }} aria-hidden="true" />
        <h2>
          <span class="tr-row-svc">{s.service}</span> {s.name}
        </h2>
        <button type="button" class="tr-close" onClick={onClose} aria-label="Close span details" title="Close (Esc)">
          ×
        </button>
      </header>
      {s.synthetic ? (
        <p class="tr-note">
          Span <code>{s.spanID}</code> is not in this trace, but {s.children.length} span{s.children.length > 1 ? "s" : ""} name it as their parent. It
          may not have been sent, been dropped by sampling, or still be in flight.
        </p>
      ) : (
        <>
          <dl class="tr-kv tr-overview">
            <dt>Duration</dt>
            <dd>
              {formatDuration(s.duration)} <span class="tr-muted">(self {formatDuration(s.selfTime)})</span>
            </dd>
            <dt>Start</dt>
            <dd>
              +{formatDuration(s.start)} <span class="tr-muted">{formatTimestamp(s.startUnixNano, true)}</span>
            </dd>
            <dt>Kind</dt>
            <dd>{s.kind}</dd>
            <dt>Status</dt>
            <dd class={s.error ? "tr-error-text" : undefined}>
              {s.status.code}
              {s.status.message && `: ${s.status.message}`}
            </dd>
            <dt>Span ID</dt>
            <dd>
              <code>{s.spanID}</code> <CopyButton text={s.spanID} label="span ID" />
            </dd>
            <dt>Trace ID</dt>
            <dd>
              <code>{s.traceID}</code> <CopyButton text={s.traceID} label="trace ID" />
            </dd>
            {s.parentSpanID && (
              <>
                <dt>Parent</dt>
                <dd>
                  {parent ? (
                    <button type="button" class="tr-linkish" onClick={() => onSelect(parent.spanID)}>
                      {parent.service}: {parent.name}
                    </button>
                  ) : (
                    <span class="tr-muted">missing</span>
                  )}{" "}
                  <code>{s.parentSpanID}</code>
                  {s.parentRefType === "FOLLOWS_FROM" && <span class="tr-muted"> (follows from)</span>}
                </dd>
              </>
            )}
            {s.traceState && (
              <>
                <dt>Trace state</dt>
                <dd>
                  <code>{s.traceState}</code>
                </dd>
              </>
            )}
          </dl>
          <Attrs title="Attributes" kvs={s.attributes} />
          <Attrs title="Resource" kvs={s.resource} />
          {(s.scope.name || s.scope.version) && (
            <section class="tr-detail-sec">
              <h3>Instrumentation scope</h3>
              <p>
                <code>{s.scope.name}</code> {s.scope.version && <span class="tr-muted">{s.scope.version}</span>}
              </p>
            </section>
          )}
          {s.events.length > 0 && (
            <section class="tr-detail-sec">
              <h3>Events ({s.events.length})</h3>
              <ol class="tr-events">
                {s.events.map((e, i) => (
                  <li key={i}>
                    <span class="tr-event-time" title={formatTimestamp(e.timeUnixNano, true)}>
                      +{formatDuration(e.time - s.start)}
                    </span>{" "}
                    <strong>{e.name || <span class="tr-muted">(unnamed)</span>}</strong>
                    {e.attributes.length > 0 && <KVTable kvs={e.attributes} />}
                  </li>
                ))}
              </ol>
            </section>
          )}
          {s.links.length > 0 && (
            <section class="tr-detail-sec">
              <h3>Links ({s.links.length})</h3>
              <ul class="tr-links">
                {s.links.map((l, i) => {
                  const here = l.traceID === trace.traceID && trace.spanByID.get(l.spanID);
                  return (
                    <li key={i}>
                      {here ? (
                        <button type="button" class="tr-linkish" onClick={() => onSelect(l.spanID)}>
                          {here.service}: {here.name}
                        </button>
                      ) : linkable || l.traceID !== trace.traceID ? (
                        <a href={link(`/trace/${l.traceID}?uiFind=${l.spanID}`)}>
                          trace <code>{l.traceID.slice(0, 12)}…</code> span <code>{l.spanID}</code>
                        </a>
                      ) : (
                        <span>
                          span <code>{l.spanID}</code> <span class="tr-muted">(not in this trace)</span>
                        </span>
                      )}
                      {l.refType && <span class="tr-muted"> {l.refType}</span>}
                      {l.attributes.length > 0 && <KVTable kvs={l.attributes} />}
                    </li>
                  );
                })}
              </ul>
            </section>
          )}
        </>
      )}
    </aside>
  );
}

function Attrs({ title, kvs }: { title: string; kvs: KeyValue[] }) {
  if (kvs.length === 0) return null;
  return (
    <section class="tr-detail-sec">
      <h3>
        {title} ({kvs.length})
      </h3>
      <KVTable kvs={kvs} />
    </section>
  );
}

function KVTable({ kvs }: { kvs: KeyValue[] }) {
  return (
    <table class="tr-kvtable">
      <tbody>
        {kvs.map((kv, i) => {
          const text = formatValue(kv.value);
          return (
            <tr key={i}>
              <th scope="row">{kv.key}</th>
              <td>
                <span class="tr-value">{text}</span>
                <CopyButton text={text} label={kv.key} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
