import { describe, expect, it } from "vitest";
import type { TraceSummary } from "../src/api";
import { formatLogfmt, parseLogfmt } from "../src/search/logfmt";
import {
  apiParams,
  checkDuration,
  defaultForm,
  durationMicros,
  formFromParams,
  hasSearch,
  isoFromMicros,
  lookbackMillis,
  paramsFromForm,
  searchKey,
  searchWindow,
  validate,
  type SearchForm,
} from "../src/search/query";
import { nanosToMicros, sortResults, toResult, type SortOrder } from "../src/search/results";
import { formatDuration } from "../src/search/format";
import { summarizeJaeger, type JaegerTrace } from "../src/search/byid";
import { visibleRange } from "../src/search/virtual";

describe("parseLogfmt", () => {
  it.each([
    ["", {}],
    ["   ", {}],
    ["error=true", { error: "true" }],
    ["http.status_code=500 error=true", { "http.status_code": "500", error: "true" }],
    ['db.statement="select * from t" x=1', { "db.statement": "select * from t", x: "1" }],
    ['msg="say \\"hi\\"" path="C:\\\\tmp"', { msg: 'say "hi"', path: "C:\\tmp" }],
    ["error", { error: "true" }],
    ["a= b=2", { a: "", b: "2" }],
    ['a=""', { a: "" }],
    ["url=http://x/?q=1", { url: "http://x/?q=1" }],
    ["  k=v\tk2=v2\n", { k: "v", k2: "v2" }],
    ["k=1 k=2", { k: "2" }],
    ["ünïcode=välue", { "ünïcode": "välue" }],
  ])("%j", (text, want) => {
    expect(parseLogfmt(text)).toEqual(want);
  });

  it.each([
    ["=v", /without a key/],
    ['k="open', /not closed/],
    ['k="a"b', /space after the quoted value/],
    ['k=a"b', /quote inside/],
    ['"k"=v', /quote values, not keys/],
  ])("rejects %j", (text, msg) => {
    expect(() => parseLogfmt(text)).toThrow(msg);
  });

  it("round-trips through formatLogfmt", () => {
    const tags = { a: "1", b: "two words", c: 'q"uote', d: "", e: "back\\slash", f: "x=y" };
    expect(parseLogfmt(formatLogfmt(tags))).toEqual(tags);
  });
});

describe("form and URL", () => {
  it("reads Jaeger UI's search URL", () => {
    const p = new URLSearchParams(
      "end=1763733600000000&limit=20&lookback=1h&maxDuration=2s&minDuration=100ms&operation=GET%20%2Fcart&service=frontend&start=1763730000000000&tags=%7B%22http.status_code%22%3A%22500%22%2C%22error%22%3A%22true%22%7D",
    );
    expect(formFromParams(p)).toEqual({
      service: "frontend",
      operation: "GET /cart",
      tags: "http.status_code=500 error=true",
      lookback: "1h",
      start: "1763730000000000",
      end: "1763733600000000",
      minDuration: "100ms",
      maxDuration: "2s",
      limit: "20",
    });
  });

  it("accepts logfmt tags and repeated tag=k:v in the URL", () => {
    expect(formFromParams(new URLSearchParams("tags=error%3Dtrue")).tags).toBe("error=true");
    expect(formFromParams(new URLSearchParams("tag=a:1&tag=b:x y")).tags).toBe('a=1 b="x y"');
  });

  it("treats start/end without a lookback as a custom range", () => {
    expect(formFromParams(new URLSearchParams("start=1&end=2")).lookback).toBe("custom");
  });

  it("defaults an empty URL", () => {
    expect(formFromParams(new URLSearchParams())).toEqual(defaultForm);
    expect(hasSearch(new URLSearchParams())).toBe(false);
    expect(hasSearch(new URLSearchParams("sort=longest"))).toBe(false);
    expect(hasSearch(new URLSearchParams("lookback=1h"))).toBe(true);
  });

  it("writes tags as a JSON map and round-trips", () => {
    const f: SearchForm = { ...defaultForm, service: "api", operation: "op", tags: 'error=true q="a b"', lookback: "2h", minDuration: "1ms", limit: "50" };
    const q = paramsFromForm(f);
    expect(q.get("tags")).toBe('{"error":"true","q":"a b"}');
    expect(q.has("start")).toBe(false); // presets stay relative to now
    expect(q.has("maxDuration")).toBe(false); // empty fields are left out
    expect(formFromParams(q)).toEqual({ ...f, tags: 'error=true q="a b"' });
  });

  it("keeps start and end for a custom range", () => {
    const q = paramsFromForm({ ...defaultForm, lookback: "custom", start: "100", end: "200" });
    expect(q.get("start")).toBe("100");
    expect(q.get("end")).toBe("200");
  });

  it("keys searches on their parameters only", () => {
    expect(searchKey(new URLSearchParams("service=a&sort=longest"))).toBe(searchKey(new URLSearchParams("sort=spans&service=a")));
    expect(searchKey(new URLSearchParams("service=a"))).not.toBe(searchKey(new URLSearchParams("service=b")));
  });
});

describe("validation and the api_v3 query", () => {
  const now = Date.UTC(2026, 10, 21, 12, 0, 0);

  it("builds trace-summaries parameters", () => {
    const f: SearchForm = { ...defaultForm, service: "api", operation: "GET /x", tags: "error=true", lookback: "15m", minDuration: "1.5ms", maxDuration: "2s", limit: "1500" };
    expect(apiParams(f, now)).toEqual({
      "query.service_name": "api",
      "query.operation_name": "GET /x",
      "query.attributes": '{"error":"true"}',
      "query.start_time_min": "2026-11-21T11:45:00.000000Z",
      "query.start_time_max": "2026-11-21T12:00:00.000000Z",
      "query.duration_min": "1.5ms",
      "query.duration_max": "2s",
      "query.search_depth": "1500",
    });
  });

  it("leaves out what is not set", () => {
    expect(Object.keys(apiParams(defaultForm, now)).sort()).toEqual(["query.search_depth", "query.start_time_max", "query.start_time_min"]);
  });

  it("uses a custom range exactly, to the microsecond", () => {
    const startUs = now * 1000 - 1234567;
    const p = apiParams({ ...defaultForm, lookback: "custom", start: String(startUs), end: String(now * 1000) }, now + 99999);
    expect(p["query.start_time_min"]).toBe("2026-11-21T11:59:58.765433Z");
    expect(p["query.start_time_max"]).toBe("2026-11-21T12:00:00.000000Z");
  });

  it.each([
    [{ tags: 'a="x' }, /not closed/],
    [{ minDuration: "10" }, /min duration "10" is not a duration/],
    [{ maxDuration: "1 s" }, /max duration/],
    [{ minDuration: "2s", maxDuration: "100ms" }, /greater than max duration/],
    [{ limit: "0" }, /limit "0" must be a whole number from 1 to 1500/],
    [{ limit: "1501" }, /1 to 1500/],
    [{ limit: "2.5" }, /whole number/],
    [{ lookback: "forever" }, /lookback "forever"/],
    [{ lookback: "custom", start: "", end: "" }, /start "" is not a time/],
    [{ lookback: "custom", start: "200", end: "100" }, /start before it ends/],
  ] as [Partial<SearchForm>, RegExp][])("rejects %j", (patch, msg) => {
    expect(() => validate({ ...defaultForm, ...patch }, now)).toThrow(msg);
  });

  it("parses Go durations and lookbacks", () => {
    expect(checkDuration("x", " 2m30s ")).toBe("2m30s");
    expect(durationMicros("2m30s")).toBe(150e6);
    expect(durationMicros("1.5ms")).toBe(1500);
    expect(durationMicros("500µs")).toBe(500);
    expect(lookbackMillis("2d")).toBe(2 * 86400e3);
    expect(lookbackMillis("1w")).toBe(7 * 86400e3);
    expect(() => lookbackMillis("0h")).toThrow();
    expect(searchWindow({ ...defaultForm, lookback: "1h" }, now)).toEqual({ startUs: (now - 3600e3) * 1000, endUs: now * 1000 });
  });

  it("formats µs timestamps as RFC 3339", () => {
    expect(isoFromMicros(1763726400000001)).toBe("2025-11-21T12:00:00.000001Z");
    expect(isoFromMicros(0)).toBe("1970-01-01T00:00:00.000000Z");
  });
});

function summary(id: string, startMs: number, durMs: number, spans: number, errors: number): TraceSummary {
  const ns = BigInt(startMs) * 1000000n;
  return {
    traceId: id,
    rootServiceName: "svc",
    rootOperationName: "op",
    minStartTimeUnixNano: ns.toString(),
    maxEndTimeUnixNano: (ns + BigInt(durMs) * 1000000n).toString(),
    spanCount: spans,
    errorSpanCount: errors,
    orphanSpanCount: 0,
    services: [
      { name: "b", spanCount: 1, errorSpanCount: 0 },
      { name: "a", spanCount: spans - 1, errorSpanCount: errors },
    ],
  };
}

describe("results", () => {
  const rs = [summary("01", 1000, 50, 5, 0), summary("02", 3000, 10, 9, 2), summary("03", 2000, 90, 2, 1), summary("04", 3000, 10, 9, 2)].map(toResult);
  const ids = (order: SortOrder) => sortResults(rs, order).map((r) => r.id);

  it.each([
    ["recent", ["02", "04", "03", "01"]],
    ["longest", ["03", "01", "02", "04"]],
    ["shortest", ["02", "04", "01", "03"]],
    ["spans", ["02", "04", "01", "03"]],
    ["errors", ["02", "04", "03", "01"]],
  ] as [SortOrder, string[]][])("sorts by %s", (order, want) => {
    expect(ids(order)).toEqual(want);
  });

  it("does not sort in place", () => {
    sortResults(rs, "longest");
    expect(rs.map((r) => r.id)).toEqual(["01", "02", "03", "04"]);
  });

  it("shapes a summary", () => {
    const r = toResult(summary("0a", 1763726400123, 42, 4, 1));
    expect(r.startUs).toBe(1763726400123000);
    expect(r.durationUs).toBe(42000);
    expect(r.services.map((s) => s.name)).toEqual(["a", "b"]); // most spans first
  });

  it("keeps microsecond precision of nanosecond strings", () => {
    expect(nanosToMicros("1763726400123456789")).toBe(1763726400123456);
    expect(nanosToMicros(undefined)).toBe(0);
    expect(nanosToMicros("garbage")).toBe(0);
    const s = summary("0b", 0, 0, 1, 0);
    delete s.minStartTimeUnixNano;
    expect(toResult(s).durationUs).toBe(0);
  });

  it("formats durations", () => {
    expect(formatDuration(850)).toBe("850µs");
    expect(formatDuration(12345)).toBe("12.3ms");
    expect(formatDuration(4560000)).toBe("4.56s");
    expect(formatDuration(125e6)).toBe("2m 5s");
    expect(formatDuration(3720e6)).toBe("1h 2m");
  });
});

describe("summarizeJaeger", () => {
  it("summarises like /api/v3/trace-summaries", () => {
    const t: JaegerTrace = {
      traceID: "t1",
      processes: { p1: { serviceName: "front" }, p2: { serviceName: "back" } },
      spans: [
        { traceID: "t1", spanID: "b", startTime: 1000, duration: 50, operationName: "child", processID: "p2", references: [{ refType: "CHILD_OF", traceID: "t1", spanID: "a" }], tags: [{ key: "error", value: true }] },
        { traceID: "t1", spanID: "a", startTime: 990, duration: 100, operationName: "root", processID: "p1" },
        { traceID: "t1", spanID: "c", startTime: 995, duration: 200, operationName: "lost", processID: "p2", references: [{ refType: "CHILD_OF", traceID: "t1", spanID: "zz" }], tags: [{ key: "otel.status_code", value: "ERROR" }] },
        // A reference into another trace is a link, not a parent: a second root, later than "a".
        { traceID: "t1", spanID: "d", startTime: 999, duration: 1, operationName: "linked", processID: "p1", references: [{ refType: "FOLLOWS_FROM", traceID: "t9", spanID: "x" }] },
      ],
    };
    expect(summarizeJaeger(t)).toEqual({
      traceId: "t1",
      rootServiceName: "front",
      rootOperationName: "root",
      minStartTimeUnixNano: "990000",
      maxEndTimeUnixNano: "1195000",
      spanCount: 4,
      errorSpanCount: 2,
      orphanSpanCount: 1,
      services: [
        { name: "back", spanCount: 2, errorSpanCount: 2 },
        { name: "front", spanCount: 2, errorSpanCount: 0 },
      ],
    });
    expect(summarizeJaeger({ ...t, spans: [] })).toBeNull();
  });

  it("makes a URL with traceID a search", () => {
    expect(hasSearch(new URLSearchParams("traceID=abc"))).toBe(true);
  });
});

describe("visibleRange", () => {
  it.each([
    // listTop, viewport, row, count, overscan → range
    [100, 900, 100, 1500, 0, [0, 8]], // list starts 100px down: rows 0..7 visible
    [100, 900, 100, 1500, 2, [0, 10]],
    [-1050, 900, 100, 1500, 0, [10, 20]], // scrolled 1,050px into the list
    [-1050, 900, 100, 1500, 3, [7, 23]],
    [-149950, 900, 100, 1500, 5, [1494, 1500]], // at the end
    [2000, 900, 100, 1500, 5, [0, 0]], // below the viewport: nothing but overscan… clipped to none
    [0, 900, 100, 3, 8, [0, 3]], // fewer rows than fit
    [0, 900, 100, 0, 8, [0, 0]],
    [-500000, 900, 100, 1500, 5, [1500, 1500]], // scrolled far past it
  ] as [number, number, number, number, number, [number, number]][])("top %d", (top, vh, rh, n, over, want) => {
    expect(visibleRange(top, vh, rh, n, over)).toEqual(want);
  });
});
