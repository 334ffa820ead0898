// Jaeger UI's /search?traceID=a&traceID=b lists exactly those traces. They
// come from GET /api/traces?traceID=… (Jaeger JSON) and are summarised here
// the way /api/v3/trace-summaries summarises a search's traces
// (query/jaegerapi/summaries.go), so the list shows both alike.

import type { TraceSummary } from "../api";

interface JaegerTag {
  key: string;
  value: unknown;
}
interface JaegerSpan {
  traceID: string;
  spanID: string;
  startTime: number; // µs
  duration: number; // µs
  operationName: string;
  processID: string;
  references?: { refType: string; traceID: string; spanID: string }[];
  tags?: JaegerTag[];
}
export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/** Whether a Jaeger span is an error: error=true, or OTel's status code ERROR. */
function isError(s: JaegerSpan): boolean {
  return (s.tags ?? []).some(
    (t) => (t.key === "error" && (t.value === true || t.value === "true")) || (t.key === "otel.status_code" && t.value === "ERROR"),
  );
}

export function summarizeJaeger(t: JaegerTrace): TraceSummary | null {
  const spans = t.spans ?? [];
  if (spans.length === 0) return null;
  const ids = new Set(spans.map((s) => s.spanID));
  const services = new Map<string, { name: string; spanCount: number; errorSpanCount: number }>();
  let minStart = Infinity,
    maxEnd = -Infinity,
    errors = 0,
    orphans = 0;
  let root: JaegerSpan | null = null;
  for (const s of spans) {
    const name = t.processes?.[s.processID]?.serviceName ?? "";
    let svc = services.get(name);
    if (!svc) services.set(name, (svc = { name, spanCount: 0, errorSpanCount: 0 }));
    svc.spanCount++;
    if (isError(s)) {
      errors++;
      svc.errorSpanCount++;
    }
    minStart = Math.min(minStart, s.startTime);
    maxEnd = Math.max(maxEnd, s.startTime + s.duration);
    const parent = (s.references ?? []).find((r) => r.traceID === s.traceID);
    if (!parent) {
      if (!root || s.startTime < root.startTime || (s.startTime === root.startTime && s.spanID < root.spanID)) root = s;
    } else if (!ids.has(parent.spanID)) orphans++;
  }
  const r = root as JaegerSpan | null;
  return {
    traceId: t.traceID,
    rootServiceName: r ? (t.processes?.[r.processID]?.serviceName ?? "") : "",
    rootOperationName: r ? r.operationName : "",
    minStartTimeUnixNano: `${minStart}000`,
    maxEndTimeUnixNano: `${maxEnd}000`,
    spanCount: spans.length,
    errorSpanCount: errors,
    orphanSpanCount: orphans,
    services: [...services.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}
