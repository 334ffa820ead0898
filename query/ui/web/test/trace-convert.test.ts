import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { normalizeID } from "../src/trace/ids";
import { parseTraceFile, tracesFromJSON } from "../src/trace/parse";
import { rawSpansFromOTLP, toOTLP } from "../src/trace/otlp";
import { buildTraces } from "../src/trace/tree";
import type { Span, Trace } from "../src/trace/model";
import { otlp, tid } from "./trace-fixtures";

// The query service's own golden answers for one trace, in both APIs.
const golden = (name: string) => readFileSync(fileURLToPath(new URL(`../../../jaegerapi/testdata/${name}`, import.meta.url)), "utf8");

function only(ts: Trace[]): Trace {
  expect(ts).toHaveLength(1);
  return ts[0];
}

describe("OTLP JSON (api_v3's /api/v3/traces/{id})", () => {
  const t = only(parseTraceFile(golden("v3_trace.golden.json")));
  const root = t.spanByID.get("00f067aa0ba902b7")!;

  it("reads the trace and its root", () => {
    expect(t.traceID).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(t.spans).toHaveLength(7);
    expect(t.root).toBe(root);
    expect(root.service).toBe("frontend");
    expect(root.name).toBe("GET /checkout");
    expect(root.kind).toBe("server");
    expect(root.status).toEqual({ code: "error", message: "upstream failed" });
    expect(root.error).toBe(true);
    expect(root.scope).toEqual({ name: "io.opentelemetry.http", version: "1.2.3" });
    expect(root.traceState).toBe("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    expect(t.startUnixNano).toBe("1714563000123456789");
  });

  it("keeps times exact, relative to the trace start", () => {
    expect(root.start).toBe(0);
    expect(root.duration).toBe(150000);
    const late = t.spanByID.get("00000000000000c3")!;
    expect(late.start).toBe(200000);
    expect(t.duration).toBe(210000);
    expect(root.events.map((e) => [e.name, e.time, e.timeUnixNano])).toEqual([
      ["cache miss", 10000, "1714563000133456789"],
      ["exception", 140000, "1714563000263456789"],
    ]);
  });

  it("keeps 64-bit integers exact and every value type", () => {
    const a = Object.fromEntries(root.attributes.map((kv) => [kv.key, kv.value]));
    expect(a["http.status_code"]).toEqual({ intValue: "500" });
    expect(a["sample.ratio"]).toEqual({ doubleValue: 0.25 });
    expect(a["retry"]).toEqual({ boolValue: true });
    expect(a["payload"]).toEqual({ bytesValue: "3q2+7w==" });
    expect(a["big.number"]).toEqual({ intValue: "9007199254740993" });
    expect(a["tags"]).toEqual({ arrayValue: { values: [{ stringValue: "a" }, { intValue: "2" }] } });
  });

  it("builds the tree, with the orphan under a note for its missing parent", () => {
    expect(t.roots.map((r) => [r.spanID, r.synthetic])).toEqual([
      ["00f067aa0ba902b7", false],
      ["ffffffffffffff01", true],
    ]);
    expect(root.children.map((c) => c.spanID)).toEqual(["00000000000000b1", "00000000000000c1", "00000000000000a2"]);
    expect(t.orphanCount).toBe(1);
    expect(t.spanByID.get("00000000000000c3")!.orphan).toBe(true);
    expect(t.services).toEqual(["backend", "frontend"]);
    expect(t.errorCount).toBe(2);
    expect(t.depth).toBe(3);
    expect(t.warnings.join()).toMatch(/not in the trace/);
  });

  it("reads links", () => {
    const b1 = t.spanByID.get("00000000000000b1")!;
    expect(b1.links).toEqual([
      { traceID: "0af7651916cd43dd8448eb211c80319c", spanID: "b7ad6b7169203331", attributes: [{ key: "link.reason", value: { stringValue: "batch" } }] },
    ]);
  });

  it("writes back as the OTLP JSON it came from", () => {
    const doc = JSON.parse(golden("v3_trace.golden.json")).result;
    const again = only(buildTraces(rawSpansFromOTLP(toOTLP(t))));
    const key = (s: Span) => JSON.stringify([s.spanID, s.parentSpanID, s.name, s.service, s.kind, s.startUnixNano, s.endUnixNano, s.status, s.attributes, s.resource, s.scope, s.events, s.links, s.traceState, s.flags]);
    expect(again.spans.map(key)).toEqual(t.spans.map(key));
    // Same resources and spans as the server wrote, span by span.
    const spans = (d: any) => d.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)).sort((x: any, y: any) => (x.spanId < y.spanId ? -1 : 1));
    expect(spans(toOTLP(t))).toEqual(spans(doc));
  });
});

describe("Jaeger JSON (/api/traces/{id})", () => {
  const j = only(parseTraceFile(golden("v1_trace.golden.json")));
  const o = only(parseTraceFile(golden("v3_trace.golden.json")));

  it("gives the same model as OTLP for the same trace", () => {
    const pick = (s: Span) => ({
      spanID: s.spanID,
      parent: s.parentSpanID,
      name: s.name,
      service: s.service,
      kind: s.kind,
      start: s.start,
      duration: s.duration,
      status: s.status.code,
      error: s.error,
      scope: s.scope,
      traceState: s.traceState,
      events: s.events.map((e) => [e.name, e.time]),
    });
    expect(j.spans.map(pick)).toEqual(o.spans.map(pick));
    expect(j.startUnixNano).toBe("1714563000123456000"); // Jaeger keeps µs
    expect(j.services).toEqual(o.services);
  });

  it("turns translator tags back into fields, and keeps the rest", () => {
    const root = j.spanByID.get("00f067aa0ba902b7")!;
    const keys = root.attributes.map((kv) => kv.key);
    expect(keys).not.toContain("span.kind");
    expect(keys).not.toContain("otel.status_code");
    expect(keys).not.toContain("error");
    expect(keys).toContain("http.method");
    expect(root.attributes.find((kv) => kv.key === "big.number")!.value).toEqual({ intValue: "9007199254740993" });
    expect(root.status.message).toBe("upstream failed");
    expect(root.resource[0]).toEqual({ key: "service.name", value: { stringValue: "frontend" } });
    expect(root.resource.find((kv) => kv.key === "process.pid")!.value).toEqual({ intValue: "4242" });
  });

  it("takes the first same-trace CHILD_OF as parent and the other references as links", () => {
    const c1 = j.spanByID.get("00000000000000c1")!;
    expect(c1.parentSpanID).toBe("00f067aa0ba902b7");
    expect(c1.links).toEqual([{ traceID: tid, spanID: "00000000000000b1", attributes: [], refType: "CHILD_OF" }]);
    const b1 = j.spanByID.get("00000000000000b1")!;
    expect(b1.links[0]).toMatchObject({ traceID: "0af7651916cd43dd8448eb211c80319c", refType: "FOLLOWS_FROM" });
  });

  it("uses FOLLOWS_FROM as the parent when there is no CHILD_OF, and inline processes", () => {
    const t = only(
      tracesFromJSON({
        traceID: "abc",
        spans: [
          { spanID: "1", operationName: "a", startTime: 10, duration: 5, process: { serviceName: "s" } },
          { spanID: "2", operationName: "b", startTime: 12, duration: 1, references: [{ refType: "FOLLOWS_FROM", spanID: "1" }], process: { serviceName: "s" } },
        ],
      }),
    );
    expect(t.traceID).toBe("00000000000000000000000000000abc");
    const b = t.spanByID.get("0000000000000002")!;
    expect(b.parent?.spanID).toBe("0000000000000001");
    expect(b.parentRefType).toBe("FOLLOWS_FROM");
  });
});

describe("parseTraceFile", () => {
  const doc = otlp([
    { id: "1", start: 0, dur: 100 },
    { id: "2", parent: "1", start: 10, dur: 20 },
  ]);

  it("accepts a bare TracesData, api_v3's envelope, JSON Lines and several traces", () => {
    expect(only(parseTraceFile(JSON.stringify(doc))).spans).toHaveLength(2);
    expect(only(parseTraceFile(JSON.stringify({ result: doc }))).spans).toHaveLength(2);
    const other = otlp([{ id: "9", start: 5, dur: 1 }], "0af7651916cd43dd8448eb211c80319c");
    const lines = JSON.stringify(doc) + "\n" + JSON.stringify(other) + "\n";
    const ts = parseTraceFile(lines);
    expect(ts.map((t) => [t.traceID, t.spans.length])).toEqual([
      [tid, 2],
      ["0af7651916cd43dd8448eb211c80319c", 1],
    ]);
  });

  it("accepts base64 IDs, proto field names and enum names", () => {
    const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");
    const t = only(
      parseTraceFile(
        JSON.stringify({
          resource_spans: [
            {
              resource: { attributes: [{ key: "service.name", value: { string_value: "api" } }] },
              scope_spans: [
                {
                  spans: [
                    { trace_id: b64(tid), span_id: b64("00000000000000aa"), name: "x", kind: "SPAN_KIND_CLIENT", start_time_unix_nano: 1000, end_time_unix_nano: 3000, status: { code: "STATUS_CODE_ERROR" } },
                    { traceId: tid.toUpperCase(), spanId: "00000000000000BB", parentSpanId: b64("00000000000000aa"), name: "y", startTimeUnixNano: "1500", endTimeUnixNano: "2000" },
                  ],
                },
              ],
            },
          ],
        }),
      ),
    );
    expect(t.traceID).toBe(tid);
    const x = t.spanByID.get("00000000000000aa")!;
    expect(x.kind).toBe("client");
    expect(x.error).toBe(true);
    expect(x.service).toBe("api");
    expect(x.duration).toBe(2);
    expect(x.children.map((c) => c.spanID)).toEqual(["00000000000000bb"]);
  });

  it.each([
    ["", /empty/],
    ["not json", /not JSON/],
    ["[1]", /expected a JSON object/],
    ['{"foo": 1}', /neither Jaeger JSON .* nor OTLP JSON/],
    ['{"data": {}}', /data is not a list/],
    ['{"resourceSpans": []}', /no spans/],
    ['{"data": [{"spans": [{"spanID": "1", "startTime": 1, "duration": 1, "processID": "p9"}], "processes": {}, "traceID": "1"}]}', /processID "p9" is not in processes/],
    ['{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz!","spanId":"01"}]}]}]}', /traceId "xyz!" is neither 32 hex digits nor base64/],
    ['{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01","spanId":"01","startTimeUnixNano":"-5"}]}]}]}', /startTimeUnixNano is not a non-negative integer/],
    ['{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01","spanId":"01","kind":9}]}]}]}', /unknown span kind 9/],
    ['{"data":[{"traceID":"1","spans":[{"spanID":"1","startTime":"soon","duration":1}]}]}', /startTime is not a number of microseconds/],
  ])("names the problem in %j", (text, msg) => {
    expect(() => parseTraceFile(text)).toThrow(msg);
  });
});

describe("normalizeID", () => {
  it("pads hex, lowercases, decodes base64", () => {
    expect(normalizeID("ABC", 8, "id")).toBe("0000000000000abc");
    expect(normalizeID("AAAAAAAAAAE=", 8, "id")).toBe("0000000000000001");
    expect(normalizeID("", 8, "id")).toBe("");
    expect(() => normalizeID("0123456789abcdef0", 8, "spanId")).toThrow(/spanId/);
  });
});
