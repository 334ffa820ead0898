import { describe, expect, it } from "vitest";
import {
  chooseStep,
  doubleValue,
  lastValue,
  operationRows,
  parseFamily,
  scale,
  serviceSeries,
  sortRows,
  type Series,
} from "../src/monitor/metrics";

// An answer of /api/metrics/calls?service=frontend&groupByOperation=true, as
// query/jaegerapi/monitor.go writes it (NaN as a string, RFC 3339 times).
const grouped = {
  name: "service_operation_call_rate",
  type: "GAUGE",
  help: "calls/sec, grouped by service & operation",
  metrics: [
    {
      labels: [
        { name: "service_name", value: "frontend" },
        { name: "operation", value: "GET /cart" },
      ],
      metricPoints: [
        { gaugeValue: { doubleValue: 0.5 }, timestamp: "2026-03-01T10:02:00Z" },
        { gaugeValue: { doubleValue: "NaN" }, timestamp: "2026-03-01T10:01:00Z" },
      ],
    },
    {
      labels: [
        { name: "service_name", value: "frontend" },
        { name: "operation", value: "GET /" },
      ],
      metricPoints: [{ gaugeValue: { doubleValue: 2 }, timestamp: "2026-03-01T10:02:00.5Z" }],
    },
  ],
};

const t = (s: string) => Date.parse(s);
const series = (service: string, operation: string, ...values: (number | null)[]): Series => ({
  service,
  operation,
  points: values.map((v, i) => ({ t: i * 60000, v })),
});

describe("parseFamily", () => {
  it("reads labels, sorts points by time and turns NaN into gaps", () => {
    const s = parseFamily(grouped);
    expect(s).toEqual([
      {
        service: "frontend",
        operation: "GET /cart",
        points: [
          { t: t("2026-03-01T10:01:00Z"), v: null },
          { t: t("2026-03-01T10:02:00Z"), v: 0.5 },
        ],
      },
      { service: "frontend", operation: "GET /", points: [{ t: t("2026-03-01T10:02:00.5Z"), v: 2 }] },
    ]);
  });

  it("accepts a family with no series (a service without calls)", () => {
    expect(parseFamily({ name: "service_call_rate", metrics: [] })).toEqual([]);
  });

  it("names what is wrong with a malformed answer", () => {
    expect(() => parseFamily({ data: [] }, "request rate")).toThrow(/request rate answer has no "metrics" list/);
    expect(() => parseFamily(null)).toThrow(/no "metrics" list/);
    expect(() =>
      parseFamily({ metrics: [{ labels: [], metricPoints: [{ gaugeValue: { doubleValue: 1 }, timestamp: "yesterday" }] }] }),
    ).toThrow(/timestamp "yesterday"/);
  });

  it("reads doubles as protobuf's JSON mapping writes them", () => {
    expect(doubleValue(1.25)).toBe(1.25);
    expect(doubleValue("3.5")).toBe(3.5);
    expect(doubleValue("NaN")).toBeNull();
    expect(doubleValue("Infinity")).toBeNull();
    expect(doubleValue(undefined)).toBeNull();
    // proto3 JSON may leave out a zero value.
    const s = parseFamily({ metrics: [{ labels: [{ name: "service_name", value: "a" }], metricPoints: [{ gaugeValue: {}, timestamp: "2026-03-01T10:00:00Z" }] }] });
    expect(s[0].points[0].v).toBe(0);
  });
});

describe("series helpers", () => {
  it("picks a service's ungrouped series", () => {
    const list = [series("a", "", 1), series("b", "", 2)];
    expect(serviceSeries(list, "b")).toEqual(series("b", "", 2).points);
    expect(serviceSeries(list, "c")).toEqual([]);
  });

  it("scales defined values only", () => {
    expect(scale(series("a", "", 0.25, null).points, 100).map((p) => p.v)).toEqual([25, null]);
  });

  it("takes the last defined value", () => {
    expect(lastValue(series("a", "", 1, 2, null).points)).toBe(2);
    expect(lastValue([])).toBeNull();
    expect(lastValue(undefined)).toBeNull();
  });

  it("chooses whole-minute steps giving at most ~120 points", () => {
    expect(chooseStep(15 * 60000)).toBe(60000);
    expect(chooseStep(3600000)).toBe(60000);
    expect(chooseStep(6 * 3600000)).toBe(3 * 60000);
    expect(chooseStep(86400000)).toBe(12 * 60000);
    expect(chooseStep(2 * 86400000) % 60000).toBe(0);
    expect(2 * 86400000 / chooseStep(2 * 86400000)).toBeLessThanOrEqual(120);
  });
});

describe("operationRows", () => {
  const fams = {
    calls: [series("svc", "GET /a", 1, 2), series("svc", "GET /b", 10), series("other", "GET /a", 99)],
    errors: [series("svc", "GET /a", 0.5), series("svc", "GET /b", 0)],
    p50: [series("svc", "GET /a", 5), series("svc", "GET /b", 1)],
    p95: [series("svc", "GET /a", 50), series("svc", "GET /b", 2)],
    p99: [series("svc", "GET /a", 80), series("svc", "GET /b", null)],
  };

  it("joins the families by operation, for the service only", () => {
    const rows = operationRows("svc", fams);
    expect(rows.map((r) => r.operation).sort()).toEqual(["GET /a", "GET /b"]);
    const a = rows.find((r) => r.operation === "GET /a")!;
    expect(a).toMatchObject({ rate: 2, errorRate: 0.5, p50: 5, p95: 50, p99: 80 });
    const b = rows.find((r) => r.operation === "GET /b")!;
    expect(b).toMatchObject({ rate: 10, errorRate: 0, p99: null });
  });

  it("ranks impact by rate × p95, relative to the largest", () => {
    const rows = operationRows("svc", fams);
    // GET /a: 2 × 50 = 100; GET /b: 10 × 2 = 20.
    expect(rows.find((r) => r.operation === "GET /a")!.impact).toBe(1);
    expect(rows.find((r) => r.operation === "GET /b")!.impact).toBeCloseTo(0.2);
  });

  it("sorts by any column, undefined values last, ties by name", () => {
    const rows = operationRows("svc", fams);
    expect(sortRows(rows, "rate", true).map((r) => r.operation)).toEqual(["GET /b", "GET /a"]);
    expect(sortRows(rows, "rate", false).map((r) => r.operation)).toEqual(["GET /a", "GET /b"]);
    expect(sortRows(rows, "p99", true).map((r) => r.operation)).toEqual(["GET /a", "GET /b"]);
    expect(sortRows(rows, "p99", false).map((r) => r.operation)).toEqual(["GET /a", "GET /b"]);
    expect(sortRows(rows, "operation", true).map((r) => r.operation)).toEqual(["GET /b", "GET /a"]);
    const tie = [...rows, { ...rows[0], operation: "GET /0" }];
    expect(sortRows(tie, "impact", true).map((r) => r.operation)).toEqual(["GET /0", "GET /a", "GET /b"]);
  });
});
