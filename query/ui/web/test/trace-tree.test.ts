import { describe, expect, it } from "vitest";
import { findSpans } from "../src/trace/find";
import { formatDuration, formatTimestamp } from "../src/trace/format";
import { statistics } from "../src/trace/stats";
import { buildTrace, visibleRows } from "../src/trace/tree";
import { raw, sid, trace } from "./trace-fixtures";

const ids = (spans: { spanID: string }[]) => spans.map((s) => s.spanID.replace(/^0+/, ""));

describe("buildTrace", () => {
  it("orders children by start, whatever order spans arrive in", () => {
    const t = trace([
      { id: "3", parent: "1", start: 50, dur: 10 },
      { id: "1", start: 0, dur: 100 },
      { id: "4", parent: "2", start: 15, dur: 5 },
      { id: "2", parent: "1", start: 10, dur: 30 },
    ]);
    expect(ids(t.spans)).toEqual(["1", "2", "4", "3"]);
    expect(t.spans.map((s) => s.depth)).toEqual([0, 1, 2, 1]);
    expect(t.depth).toBe(3);
    expect(t.root?.spanID).toBe(sid("1"));
    expect(t.warnings).toEqual([]);
  });

  it("keeps several roots, earliest first, and picks the earliest as the root", () => {
    const t = trace([
      { id: "b", start: 40, dur: 10 },
      { id: "a", start: 5, dur: 10 },
      { id: "c", parent: "b", start: 41, dur: 1 },
    ]);
    expect(ids(t.roots)).toEqual(["a", "b"]);
    expect(t.root?.spanID).toBe(sid("a"));
    expect(t.duration).toBe(45);
  });

  it("groups orphans under one made-up node per missing parent", () => {
    const t = trace([
      { id: "1", start: 0, dur: 100 },
      { id: "2", parent: "x", start: 30, dur: 10 },
      { id: "3", parent: "x", start: 20, dur: 50 },
      { id: "4", parent: "y", start: 90, dur: 20 },
    ]);
    expect(t.roots.map((r) => [r.spanID.replace(/^0+/, ""), r.synthetic])).toEqual([
      ["1", false],
      ["x", true],
      ["y", true],
    ]);
    const x = t.roots[1];
    expect(ids(x.children)).toEqual(["3", "2"]);
    expect([x.start, x.duration]).toEqual([20, 50]);
    expect(t.spans).toHaveLength(4); // the made-up nodes are not spans
    expect(t.orphanCount).toBe(3);
    expect(t.spanByID.get(sid("2"))!.depth).toBe(1);
    expect(t.warnings).toEqual(["3 spans name a parent that is not in the trace (2 missing spans)"]);
  });

  it("tolerates clock skew: a child outside its parent stays its child", () => {
    const t = trace([
      { id: "1", start: 100, dur: 50 },
      { id: "2", parent: "1", start: 0, dur: 300 },
    ]);
    expect(t.spanByID.get(sid("2"))!.parent?.spanID).toBe(sid("1"));
    expect(t.spanByID.get(sid("1"))!.start).toBe(100);
    expect(t.spanByID.get(sid("1"))!.selfTime).toBe(0);
    expect(t.duration).toBe(300);
  });

  it("cuts cycles and drops repeated IDs, saying so", () => {
    const t = trace([
      { id: "1", start: 0, dur: 100 },
      { id: "2", parent: "3", start: 10, dur: 10 },
      { id: "3", parent: "2", start: 20, dur: 10 },
      { id: "1", start: 500, dur: 1 },
      { id: "5", parent: "5", start: 1, dur: 1 },
    ]);
    expect(t.spans).toHaveLength(4);
    expect(t.spanByID.get(sid("1"))!.duration).toBe(100);
    const tops = ids(t.roots);
    expect(tops).toContain("1");
    expect(tops).toContain("5");
    // One of the pair becomes a root; the other stays its child.
    expect(tops.filter((x) => x === "2" || x === "3")).toHaveLength(1);
    expect(t.warnings.join(" | ")).toMatch(/repeated an ID.*names itself.*cycle/);
  });

  it("handles a chain 10,000 deep without recursion", () => {
    const spans = Array.from({ length: 10000 }, (_, i) => ({ id: (i + 1).toString(16), parent: i ? i.toString(16) : undefined, start: i, dur: 20000 - 2 * i }));
    const t = trace(spans);
    expect(t.depth).toBe(10000);
    expect(t.spans[9999].depth).toBe(9999);
  });

  it("builds a 10,000-span trace quickly", () => {
    // A wide, bushy trace: 100 services, fan-out 8.
    const spans = [{ id: "1", start: 0, dur: 1_000_000, service: "svc-0" }];
    for (let i = 2; i <= 10000; i++) {
      const parent = Math.floor((i - 2) / 8) + 1;
      spans.push({ id: i.toString(16), parent: parent.toString(16), start: (i * 37) % 900_000, dur: 1000 + (i % 50) * 100, service: `svc-${i % 100}` } as never);
    }
    const r = raw(spans);
    const t0 = performance.now();
    const t = buildTrace(r);
    const ms = performance.now() - t0;
    expect(t.spans).toHaveLength(10000);
    expect(t.services).toHaveLength(100);
    expect(visibleRows(t, new Set())).toHaveLength(10000);
    // ~15 ms on the 2-core machine; the bound leaves room for a slow CI.
    expect(ms).toBeLessThan(500);
  });
});

describe("visibleRows", () => {
  it("skips what collapsed spans hold", () => {
    const t = trace([
      { id: "1", start: 0, dur: 100 },
      { id: "2", parent: "1", start: 10, dur: 30 },
      { id: "3", parent: "2", start: 12, dur: 3 },
      { id: "4", parent: "1", start: 50, dur: 10 },
    ]);
    expect(ids(visibleRows(t, new Set()))).toEqual(["1", "2", "3", "4"]);
    expect(ids(visibleRows(t, new Set([sid("2")])))).toEqual(["1", "2", "4"]);
    expect(ids(visibleRows(t, new Set([sid("1")])))).toEqual(["1"]);
  });
});

describe("self time", () => {
  it("subtracts children once where they overlap, clipped to the span", () => {
    const t = trace([
      { id: "1", start: 0, dur: 100 },
      { id: "2", parent: "1", start: 10, dur: 30 }, // 10–40
      { id: "3", parent: "1", start: 30, dur: 20 }, // 30–50, overlaps 2
      { id: "4", parent: "1", start: 90, dur: 40 }, // 90–130, clipped to 90–100
      { id: "5", parent: "2", start: 15, dur: 5 },
    ]);
    const self = (id: string) => t.spanByID.get(sid(id))!.selfTime;
    expect(self("1")).toBe(100 - 40 - 10);
    expect(self("2")).toBe(25);
    expect(self("3")).toBe(20);
    expect(self("5")).toBe(5);
  });
});

describe("statistics", () => {
  it("adds up count, total and self time by service and operation", () => {
    const t = trace([
      { id: "1", start: 0, dur: 100, service: "api", name: "GET" },
      { id: "2", parent: "1", start: 10, dur: 30, service: "db", name: "q" },
      { id: "3", parent: "1", start: 50, dur: 10, service: "db", name: "q", error: true },
      { id: "4", parent: "1", start: 70, dur: 20, service: "db", name: "ping" },
    ]);
    const st = statistics(t);
    const db = st.services.find((r) => r.service === "db")!;
    expect(db).toMatchObject({ count: 3, errors: 1, total: 60, min: 10, max: 30, selfTotal: 60, selfPercent: 60 });
    const api = st.services.find((r) => r.service === "api")!;
    expect(api).toMatchObject({ count: 1, total: 100, selfTotal: 40, selfPercent: 40 });
    expect(st.operations.map((r) => [r.service, r.operation, r.count, r.avg])).toEqual([
      ["api", "GET", 1, 100],
      ["db", "ping", 1, 20],
      ["db", "q", 2, 20],
    ]);
  });
});

describe("find", () => {
  const t = buildTrace(
    raw([
      { id: "1", start: 0, dur: 100, service: "frontend", name: "GET /cart" },
      { id: "2", parent: "1", start: 10, dur: 30, service: "redis", name: "HGET" },
      { id: "ab", parent: "1", start: 50, dur: 10, service: "mysql", name: "SELECT" },
    ]).map((s) => (s.spanID === sid("2") ? { ...s, attributes: [{ key: "db.statement", value: { stringValue: "HGET cart:17" } }] } : s)),
  );
  it("matches any word in names, services, attributes, and span IDs without leading zeros", () => {
    expect([...findSpans(t, "cart")].map((x) => x.replace(/^0+/, "")).sort()).toEqual(["1", "2"]);
    expect([...findSpans(t, "MYSQL")]).toEqual([sid("ab")]);
    expect([...findSpans(t, "ab")]).toEqual([sid("ab")]);
    expect([...findSpans(t, "00ab")]).toEqual([sid("ab")]);
    expect([...findSpans(t, "redis mysql")].length).toBe(2);
    expect(findSpans(t, "   ").size).toBe(0);
    // -key: ignore attributes whose key contains it.
    expect([...findSpans(t, "cart:17 -statement")]).toEqual([]);
  });
});

describe("format", () => {
  it.each([
    [0, "0µs"],
    [0.25, "250ns"],
    [5.5, "5.5µs"],
    [999, "999µs"],
    [1500, "1.5ms"],
    [150000, "150ms"],
    [2_345_678, "2.35s"],
    [125_000_000, "2m 5s"],
  ])("formatDuration(%s) = %s", (us, s) => expect(formatDuration(us)).toBe(s));

  it("formats timestamps exactly", () => {
    const s = formatTimestamp("1714563000123456789", true);
    expect(s).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:00\.123456789$/);
    expect(formatTimestamp("1714563000123456789")).toMatch(/\.123456$/);
  });
});
