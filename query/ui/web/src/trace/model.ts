// The trace model every trace view works on. Both input formats (OTLP JSON
// from api_v3 or a file, Jaeger JSON from /api/traces or a file) become
// this one shape, so the views never know where a trace came from.
//
// IDs stay lowercase hex strings; absolute times stay exact as decimal
// strings of Unix nanoseconds (a JavaScript number cannot hold them).
// Everything the views compute with is a number of microseconds relative
// to the trace's start, which is exact to the nanosecond for any trace
// shorter than about 100 days.

/** OTLP JSON's AnyValue (opentelemetry-proto common.proto), as it is on the wire. */
export type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string } // always a decimal string here, so 64-bit values stay exact
  | { doubleValue: number }
  | { bytesValue: string } // base64
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } }
  | Record<string, never>; // empty: an unset value

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export type SpanKind = "unspecified" | "internal" | "server" | "client" | "producer" | "consumer";

export type StatusCode = "unset" | "ok" | "error";

export interface SpanEvent {
  name: string;
  /** Exact Unix nanoseconds. */
  timeUnixNano: string;
  /** µs relative to the trace's start. */
  time: number;
  attributes: KeyValue[];
}

export interface SpanLink {
  traceID: string;
  spanID: string;
  attributes: KeyValue[];
  /** Jaeger's reference type when the link came from one. */
  refType?: "CHILD_OF" | "FOLLOWS_FROM";
}

export interface Span {
  traceID: string;
  spanID: string;
  /** "" when the span has no parent. */
  parentSpanID: string;
  /** How the parent was referenced; FOLLOWS_FROM children do not hold their parent up. */
  parentRefType: "CHILD_OF" | "FOLLOWS_FROM";
  name: string;
  service: string;
  kind: SpanKind;
  startUnixNano: string;
  endUnixNano: string;
  /** µs relative to the trace's start. */
  start: number;
  /** µs; never negative. */
  duration: number;
  status: { code: StatusCode; message: string };
  /** Status error (or Jaeger's error=true tag). */
  error: boolean;
  attributes: KeyValue[];
  resource: KeyValue[];
  scope: { name: string; version: string };
  events: SpanEvent[];
  links: SpanLink[];
  traceState: string;
  flags: number;

  // Filled in by buildTree.
  parent: Span | null;
  children: Span[];
  depth: number;
  /** The parent ID names a span that is not in the trace. */
  orphan: boolean;
  /**
   * A node made up by buildTree to hold the orphans of one missing parent;
   * it is not in Trace.spans and no statistic counts it.
   */
  synthetic: boolean;
  /** µs of the span not covered by any child (children clipped to the span). */
  selfTime: number;
}

export interface Trace {
  traceID: string;
  /** Every real span, in tree order (depth-first, children by start). */
  spans: Span[];
  spanByID: Map<string, Span>;
  /** Top-level nodes: real roots, spans cut out of a cycle, synthetic parents of orphans. */
  roots: Span[];
  /** The earliest span without a parent, or null when every span has one. */
  root: Span | null;
  startUnixNano: string;
  /** µs from the first start to the last end. */
  duration: number;
  services: string[];
  /** Deepest level in the tree, 1 for a single span. */
  depth: number;
  errorCount: number;
  orphanCount: number;
  /** Things wrong with the data, in words (duplicate IDs, cycles, missing parents). */
  warnings: string[];
}

/** A span as a converter produces it, before buildTree links it into a tree. */
export type RawSpan = Omit<Span, "start" | "duration" | "parent" | "children" | "depth" | "orphan" | "synthetic" | "selfTime" | "events"> & {
  events: Omit<SpanEvent, "time">[];
};
