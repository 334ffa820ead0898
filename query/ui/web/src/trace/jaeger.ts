// Jaeger's JSON trace model (GET /api/traces/{id}, Jaeger UI downloads:
// {traceID, spans, processes}) into raw spans. The tags the OTLP→Jaeger
// translator invents (span.kind, otel.status_code, error, otel.scope.*,
// w3c.tracestate) go back to where OTLP keeps them, so a trace looks the
// same whichever API or file it came from.

import { normalizeID } from "./ids";
import type { AnyValue, KeyValue, RawSpan, SpanKind, SpanLink } from "./model";

type Obj = Record<string, unknown>;

function tagValue(t: Obj, what: string): AnyValue {
  const v = t.value;
  switch (t.type) {
    case "string":
      return { stringValue: String(v) };
    case "bool":
      return { boolValue: v === true || v === "true" };
    case "int64":
      if (typeof v === "number" && Number.isInteger(v)) return { intValue: String(v) };
      if (typeof v === "string" && /^-?\d+$/.test(v)) return { intValue: v };
      throw new Error(`${what}: int64 tag value ${JSON.stringify(v)} is not an integer`);
    case "float64":
      return { doubleValue: Number(v) };
    case "binary":
      return { bytesValue: String(v) };
  }
  // No or unknown type: go by the JSON value.
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "number") return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (v === undefined || v === null) return {};
  return { stringValue: typeof v === "string" ? v : JSON.stringify(v) };
}

function tags(v: unknown, what: string): KeyValue[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${what} is not a list`);
  return (v as Obj[]).map((t) => {
    const key = typeof t?.key === "string" ? t.key : "";
    return { key, value: tagValue(t ?? {}, `${what} ${key}`) };
  });
}

function str(v: AnyValue): string | undefined {
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return String(v.boolValue);
  return undefined;
}

function microsToNanos(v: unknown, what: string): string {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return BigInt(Math.round(v)).toString() + "000";
  if (typeof v === "string" && /^\d+$/.test(v)) return BigInt(v).toString() + "000";
  throw new Error(`${what} is not a number of microseconds: ${JSON.stringify(v)}`);
}

const kinds = new Set<SpanKind>(["internal", "server", "client", "producer", "consumer"]);

/** Reads one Jaeger JSON trace ({traceID, spans, processes}) into raw spans. */
export function rawSpansFromJaeger(trace: unknown, where = "trace"): RawSpan[] {
  if (!trace || typeof trace !== "object") throw new Error(`${where}: expected an object with spans`);
  const t = trace as Obj;
  if (!Array.isArray(t.spans)) throw new Error(`${where} has no spans list`);
  const processes = (t.processes && typeof t.processes === "object" ? t.processes : {}) as Record<string, Obj>;
  const resources = new Map<string, { service: string; resource: KeyValue[] }>();
  const resourceOf = (p: Obj | undefined, w: string) => {
    const service = typeof p?.serviceName === "string" ? p.serviceName : "";
    return { service, resource: [{ key: "service.name", value: { stringValue: service } }, ...tags(p?.tags, `${w}.tags`)] };
  };
  for (const [id, p] of Object.entries(processes)) resources.set(id, resourceOf(p, `${where}.processes.${id}`));

  return (t.spans as Obj[]).map((s, i) => {
    const w = `${where}.spans[${i}]`;
    if (!s || typeof s !== "object") throw new Error(`${w} is not an object`);
    const traceID = normalizeID(s.traceID ?? t.traceID, 16, `${w}.traceID`);
    const spanID = normalizeID(s.spanID, 8, `${w}.spanID`);
    if (!traceID) throw new Error(`${w} has no traceID`);
    if (!spanID) throw new Error(`${w} has no spanID`);
    let proc: { service: string; resource: KeyValue[] } | undefined;
    if (s.process && typeof s.process === "object") proc = resourceOf(s.process as Obj, `${w}.process`);
    else if (typeof s.processID === "string") {
      proc = resources.get(s.processID);
      if (!proc) throw new Error(`${w}: processID ${JSON.stringify(s.processID)} is not in processes`);
    } else proc = { service: "", resource: [] };

    // References: the first CHILD_OF in this trace is the parent (a
    // FOLLOWS_FROM if there is none, as Jaeger UI does); the rest are links.
    let parentSpanID = "";
    let parentRefType: "CHILD_OF" | "FOLLOWS_FROM" = "CHILD_OF";
    const links: SpanLink[] = [];
    const refs = Array.isArray(s.references) ? (s.references as Obj[]) : [];
    const parsedRefs = refs.map((r, ri) => ({
      refType: r.refType === "FOLLOWS_FROM" ? ("FOLLOWS_FROM" as const) : ("CHILD_OF" as const),
      traceID: normalizeID(r.traceID ?? traceID, 16, `${w}.references[${ri}].traceID`),
      spanID: normalizeID(r.spanID, 8, `${w}.references[${ri}].spanID`),
    }));
    let parentIdx = parsedRefs.findIndex((r) => r.refType === "CHILD_OF" && r.traceID === traceID);
    if (parentIdx < 0) parentIdx = parsedRefs.findIndex((r) => r.traceID === traceID);
    if (parentIdx >= 0) {
      parentSpanID = parsedRefs[parentIdx].spanID;
      parentRefType = parsedRefs[parentIdx].refType;
    } else if (typeof s.parentSpanID === "string" && !/^0*$/.test(s.parentSpanID)) {
      parentSpanID = normalizeID(s.parentSpanID, 8, `${w}.parentSpanID`);
    }
    parsedRefs.forEach((r, ri) => {
      if (ri !== parentIdx) links.push({ traceID: r.traceID, spanID: r.spanID, attributes: [], refType: r.refType });
    });

    let kind: SpanKind = "unspecified";
    let statusCode: "unset" | "ok" | "error" = "unset";
    let statusMessage = "";
    let errorTag = false;
    const scope = { name: "", version: "" };
    let traceState = "";
    const attributes: KeyValue[] = [];
    for (const kv of tags(s.tags, `${w}.tags`)) {
      const v = str(kv.value);
      switch (kv.key) {
        case "span.kind":
          if (v && kinds.has(v as SpanKind)) {
            kind = v as SpanKind;
            continue;
          }
          break;
        case "otel.status_code":
          if (v === "ERROR" || v === "OK") {
            statusCode = v === "ERROR" ? "error" : "ok";
            continue;
          }
          break;
        case "otel.status_description":
          statusMessage = v ?? "";
          continue;
        case "error":
          if (v === "true") {
            errorTag = true;
            continue;
          }
          break;
        case "otel.scope.name":
        case "otel.library.name":
          scope.name = v ?? "";
          continue;
        case "otel.scope.version":
        case "otel.library.version":
          scope.version = v ?? "";
          continue;
        case "w3c.tracestate":
          traceState = v ?? "";
          continue;
      }
      attributes.push(kv);
    }
    if (errorTag && statusCode === "unset") statusCode = "error";

    const startUnixNano = microsToNanos(s.startTime, `${w}.startTime`);
    const durNanos = BigInt(microsToNanos(s.duration ?? 0, `${w}.duration`));
    const logs = Array.isArray(s.logs) ? (s.logs as Obj[]) : [];
    return {
      traceID,
      spanID,
      parentSpanID,
      parentRefType,
      name: typeof s.operationName === "string" ? s.operationName : "",
      service: proc.service,
      kind,
      startUnixNano,
      endUnixNano: (BigInt(startUnixNano) + durNanos).toString(),
      status: { code: statusCode, message: statusMessage },
      error: statusCode === "error",
      attributes,
      resource: proc.resource,
      scope,
      events: logs.map((l, li) => {
        let name = "";
        const attrs: KeyValue[] = [];
        for (const f of tags(l.fields, `${w}.logs[${li}].fields`)) {
          if (f.key === "event" && !name && "stringValue" in f.value) name = f.value.stringValue;
          else attrs.push(f);
        }
        return { name, timeUnixNano: microsToNanos(l.timestamp ?? s.startTime, `${w}.logs[${li}].timestamp`), attributes: attrs };
      }),
      links,
      traceState,
      flags: Number(s.flags ?? 0) || 0,
    };
  });
}
