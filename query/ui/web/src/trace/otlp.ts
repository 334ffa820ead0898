// OTLP JSON (opentelemetry-proto's TracesData in proto3 JSON) to and from
// the model. Reading is lenient the way protobuf's JSON parsers are:
// lowerCamelCase or the proto field names, enums as numbers or names,
// 64-bit integers as strings or numbers, IDs as hex or base64.

import { normalizeID, isZeroID } from "./ids";
import type { AnyValue, KeyValue, RawSpan, SpanKind, StatusCode, Trace } from "./model";

type Obj = Record<string, unknown>;

function field(o: Obj, camel: string, snake?: string): unknown {
  if (camel in o) return o[camel];
  if (snake && snake in o) return o[snake];
  return undefined;
}

function list(o: Obj, what: string, camel: string, snake?: string): Obj[] {
  const v = field(o, camel, snake);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${what}.${camel} is not a list`);
  return v as Obj[];
}

const kinds: SpanKind[] = ["unspecified", "internal", "server", "client", "producer", "consumer"];

function parseKind(v: unknown, what: string): SpanKind {
  if (v === undefined || v === null) return "unspecified";
  if (typeof v === "number" && kinds[v]) return kinds[v];
  if (typeof v === "string") {
    const k = v.replace(/^SPAN_KIND_/, "").toLowerCase() as SpanKind;
    if (kinds.includes(k)) return k;
  }
  throw new Error(`${what}: unknown span kind ${JSON.stringify(v)}`);
}

function parseStatus(v: unknown, what: string): { code: StatusCode; message: string } {
  if (!v || typeof v !== "object") return { code: "unset", message: "" };
  const s = v as Obj;
  const c = s.code;
  let code: StatusCode;
  if (c === undefined || c === null || c === 0 || c === "STATUS_CODE_UNSET") code = "unset";
  else if (c === 1 || c === "STATUS_CODE_OK") code = "ok";
  else if (c === 2 || c === "STATUS_CODE_ERROR") code = "error";
  else throw new Error(`${what}: unknown status code ${JSON.stringify(c)}`);
  return { code, message: typeof s.message === "string" ? s.message : "" };
}

const digitsRe = /^\d+$/;

/** A 64-bit unsigned integer as a decimal string; throws when it is not one. */
export function uint64(v: unknown, what: string): string {
  if (typeof v === "string" && digitsRe.test(v)) return v.replace(/^0+(?=\d)/, "");
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return BigInt(v).toString();
  throw new Error(`${what} is not a non-negative integer: ${JSON.stringify(v)}`);
}

function anyValue(v: unknown, what: string): AnyValue {
  if (!v || typeof v !== "object") return {};
  const o = v as Obj;
  const sv = field(o, "stringValue", "string_value");
  if (sv !== undefined) return { stringValue: String(sv) };
  const bv = field(o, "boolValue", "bool_value");
  if (bv !== undefined) return { boolValue: bv === true || bv === "true" };
  const iv = field(o, "intValue", "int_value");
  if (iv !== undefined) {
    if (typeof iv === "string" && /^-?\d+$/.test(iv)) return { intValue: iv };
    if (typeof iv === "number" && Number.isInteger(iv)) return { intValue: String(iv) };
    throw new Error(`${what}: intValue ${JSON.stringify(iv)} is not an integer`);
  }
  const dv = field(o, "doubleValue", "double_value");
  if (dv !== undefined) return { doubleValue: typeof dv === "number" ? dv : Number(dv) };
  const by = field(o, "bytesValue", "bytes_value");
  if (by !== undefined) return { bytesValue: String(by) };
  const av = field(o, "arrayValue", "array_value");
  if (av !== undefined) {
    const vals = av && typeof av === "object" ? list(av as Obj, what, "values") : [];
    return { arrayValue: { values: vals.map((x, i) => anyValue(x, `${what}[${i}]`)) } };
  }
  const kv = field(o, "kvlistValue", "kvlist_value");
  if (kv !== undefined) {
    const vals = kv && typeof kv === "object" ? list(kv as Obj, what, "values") : [];
    return { kvlistValue: { values: keyValues(vals, what) } };
  }
  return {};
}

function keyValues(kvs: Obj[], what: string): KeyValue[] {
  return kvs.map((kv) => {
    const key = typeof kv.key === "string" ? kv.key : "";
    return { key, value: anyValue(kv.value, `${what} ${key}`) };
  });
}

/** The value of a string attribute, or undefined. */
export function stringAttr(kvs: KeyValue[], key: string): string | undefined {
  for (const kv of kvs) if (kv.key === key && "stringValue" in kv.value) return kv.value.stringValue;
  return undefined;
}

// What the collector's Jaeger translator names a resource without a
// service.name (the query service shows the same).
const noServiceName = "OTLPResourceNoServiceName";

/**
 * Reads OTLP JSON's TracesData (the object holding resourceSpans) into raw
 * spans. Throws an Error naming the first thing that is wrong.
 */
export function rawSpansFromOTLP(data: unknown): RawSpan[] {
  if (!data || typeof data !== "object") throw new Error("OTLP JSON: expected an object with resourceSpans");
  const out: RawSpan[] = [];
  const rss = list(data as Obj, "TracesData", "resourceSpans", "resource_spans");
  rss.forEach((rs, ri) => {
    const where = `resourceSpans[${ri}]`;
    const resObj = field(rs, "resource") as Obj | undefined;
    const resource = resObj ? keyValues(list(resObj, `${where}.resource`, "attributes"), `${where}.resource`) : [];
    const service = resource.length === 0 ? noServiceName : (stringAttr(resource, "service.name") ?? "");
    const sss = [
      ...list(rs, where, "scopeSpans", "scope_spans"),
      ...list(rs, where, "instrumentationLibrarySpans", "instrumentation_library_spans"),
    ];
    sss.forEach((ss, si) => {
      const swhere = `${where}.scopeSpans[${si}]`;
      const sc = (field(ss, "scope") ?? field(ss, "instrumentationLibrary", "instrumentation_library") ?? {}) as Obj;
      const scope = { name: typeof sc.name === "string" ? sc.name : "", version: typeof sc.version === "string" ? sc.version : "" };
      list(ss, swhere, "spans").forEach((sp, i) => {
        const w = `${swhere}.spans[${i}]`;
        const traceID = normalizeID(field(sp, "traceId", "trace_id"), 16, `${w}.traceId`);
        const spanID = normalizeID(field(sp, "spanId", "span_id"), 8, `${w}.spanId`);
        if (!traceID || isZeroID(traceID)) throw new Error(`${w} has no traceId`);
        if (!spanID || isZeroID(spanID)) throw new Error(`${w} has no spanId`);
        let parentSpanID = normalizeID(field(sp, "parentSpanId", "parent_span_id"), 8, `${w}.parentSpanId`);
        if (isZeroID(parentSpanID)) parentSpanID = "";
        const startUnixNano = uint64(field(sp, "startTimeUnixNano", "start_time_unix_nano") ?? "0", `${w}.startTimeUnixNano`);
        let endUnixNano = uint64(field(sp, "endTimeUnixNano", "end_time_unix_nano") ?? startUnixNano, `${w}.endTimeUnixNano`);
        if (BigInt(endUnixNano) < BigInt(startUnixNano)) endUnixNano = startUnixNano;
        const status = parseStatus(field(sp, "status"), w);
        out.push({
          traceID,
          spanID,
          parentSpanID,
          parentRefType: "CHILD_OF",
          name: typeof sp.name === "string" ? sp.name : "",
          service,
          kind: parseKind(field(sp, "kind"), w),
          startUnixNano,
          endUnixNano,
          status,
          error: status.code === "error",
          attributes: keyValues(list(sp, w, "attributes"), w),
          resource,
          scope,
          events: list(sp, w, "events").map((ev, ei) => ({
            name: typeof ev.name === "string" ? ev.name : "",
            timeUnixNano: uint64(field(ev, "timeUnixNano", "time_unix_nano") ?? startUnixNano, `${w}.events[${ei}].timeUnixNano`),
            attributes: keyValues(list(ev, `${w}.events[${ei}]`, "attributes"), `${w}.events[${ei}]`),
          })),
          links: list(sp, w, "links").map((l, li) => ({
            traceID: normalizeID(field(l, "traceId", "trace_id"), 16, `${w}.links[${li}].traceId`),
            spanID: normalizeID(field(l, "spanId", "span_id"), 8, `${w}.links[${li}].spanId`),
            attributes: keyValues(list(l, `${w}.links[${li}]`, "attributes"), `${w}.links[${li}]`),
          })),
          traceState: String(field(sp, "traceState", "trace_state") ?? ""),
          flags: Number(field(sp, "flags") ?? 0) || 0,
        });
      });
    });
  });
  return out;
}

const kindNumber: Record<SpanKind, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const statusNumber: Record<StatusCode, number> = { unset: 0, ok: 1, error: 2 };

/**
 * Writes a trace as OTLP JSON's TracesData, the way the query service's
 * api_v3 does (hex IDs, enums as numbers, 64-bit integers as strings):
 * one resourceSpans per distinct resource, one scopeSpans per scope.
 */
export function toOTLP(trace: Trace): { resourceSpans: unknown[] } {
  const byResource = new Map<string, { resource: KeyValue[]; scopes: Map<string, { scope: { name: string; version: string }; spans: unknown[] }> }>();
  for (const s of trace.spans) {
    const rkey = JSON.stringify(s.resource);
    let r = byResource.get(rkey);
    if (!r) byResource.set(rkey, (r = { resource: s.resource, scopes: new Map() }));
    const skey = `${s.scope.name}\u0000${s.scope.version}`;
    let sc = r.scopes.get(skey);
    if (!sc) r.scopes.set(skey, (sc = { scope: s.scope, spans: [] }));
    const span: Record<string, unknown> = { traceId: s.traceID, spanId: s.spanID };
    if (s.traceState) span.traceState = s.traceState;
    if (s.parentSpanID) span.parentSpanId = s.parentSpanID;
    if (s.flags) span.flags = s.flags;
    span.name = s.name;
    if (s.kind !== "unspecified") span.kind = kindNumber[s.kind];
    span.startTimeUnixNano = s.startUnixNano;
    span.endTimeUnixNano = s.endUnixNano;
    if (s.attributes.length) span.attributes = s.attributes;
    if (s.events.length)
      span.events = s.events.map((e) => ({ timeUnixNano: e.timeUnixNano, name: e.name, ...(e.attributes.length ? { attributes: e.attributes } : {}) }));
    if (s.links.length)
      span.links = s.links.map((l) => ({ traceId: l.traceID, spanId: l.spanID, ...(l.attributes.length ? { attributes: l.attributes } : {}) }));
    const status: Record<string, unknown> = {};
    if (s.status.message) status.message = s.status.message;
    if (s.status.code !== "unset") status.code = statusNumber[s.status.code];
    span.status = status;
    sc.spans.push(span);
  }
  return {
    resourceSpans: [...byResource.values()].map((r) => ({
      resource: { attributes: r.resource },
      scopeSpans: [...r.scopes.values()].map((sc) => ({
        scope: { ...(sc.scope.name ? { name: sc.scope.name } : {}), ...(sc.scope.version ? { version: sc.scope.version } : {}) },
        spans: sc.spans,
      })),
    })),
  };
}
