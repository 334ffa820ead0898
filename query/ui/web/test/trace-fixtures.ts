// Hand-made traces for the trace area's tests. Times are in µs from a
// fixed base; IDs are short and padded.

import type { RawSpan } from "../src/trace/model";
import { buildTrace } from "../src/trace/tree";

export const base = 1714563000000000000n; // ns

export interface S {
  id: string;
  parent?: string;
  /** µs from base */
  start: number;
  /** µs */
  dur: number;
  service?: string;
  name?: string;
  error?: boolean;
  followsFrom?: boolean;
}

export const tid = "4bf92f3577b34da6a3ce929d0e0e4736";

export function sid(id: string): string {
  return id.padStart(16, "0");
}

export function raw(spans: S[], traceID = tid): RawSpan[] {
  return spans.map((s) => ({
    traceID,
    spanID: sid(s.id),
    parentSpanID: s.parent ? sid(s.parent) : "",
    parentRefType: s.followsFrom ? "FOLLOWS_FROM" : "CHILD_OF",
    name: s.name ?? `op-${s.id}`,
    service: s.service ?? "svc",
    kind: "internal",
    startUnixNano: (base + BigInt(s.start) * 1000n).toString(),
    endUnixNano: (base + BigInt(s.start + s.dur) * 1000n).toString(),
    status: { code: s.error ? "error" : "unset", message: "" },
    error: !!s.error,
    attributes: [],
    resource: [{ key: "service.name", value: { stringValue: s.service ?? "svc" } }],
    scope: { name: "", version: "" },
    events: [],
    links: [],
    traceState: "",
    flags: 0,
  }));
}

export function trace(spans: S[], traceID = tid) {
  return buildTrace(raw(spans, traceID));
}

/** OTLP JSON (TracesData) for spans, one resource per service. */
export function otlp(spans: S[], traceID = tid): { resourceSpans: unknown[] } {
  const bySvc = new Map<string, unknown[]>();
  for (const s of spans) {
    const svc = s.service ?? "svc";
    if (!bySvc.has(svc)) bySvc.set(svc, []);
    bySvc.get(svc)!.push({
      traceId: traceID,
      spanId: sid(s.id),
      ...(s.parent ? { parentSpanId: sid(s.parent) } : {}),
      name: s.name ?? `op-${s.id}`,
      kind: 1,
      startTimeUnixNano: (base + BigInt(s.start) * 1000n).toString(),
      endTimeUnixNano: (base + BigInt(s.start + s.dur) * 1000n).toString(),
      status: s.error ? { code: 2 } : {},
    });
  }
  return {
    resourceSpans: [...bySvc].map(([svc, sp]) => ({
      resource: { attributes: [{ key: "service.name", value: { stringValue: svc } }] },
      scopeSpans: [{ scope: {}, spans: sp }],
    })),
  };
}
