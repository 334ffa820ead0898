// Shaping the metrics API's answers (Jaeger SPM's MetricFamily JSON) into
// chart series and operation rows. Pure; unit-tested in test/monitor*.test.ts.
//
// A MetricFamily, as GET /api/metrics/{calls,errors,latencies} answers it:
//   {name, type, help, metrics: [{labels: [{name, value}], metricPoints: [
//     {gaugeValue: {doubleValue: 1.5 | "NaN"}, timestamp: "2026-…Z"}]}]}
// with labels service_name (and operation when grouped by operation).

import type { TimePoint } from "../charts/LineChart";

export interface MetricFamily {
  name?: string;
  metrics?: {
    labels?: { name: string; value: string }[];
    metricPoints?: { gaugeValue?: { doubleValue?: number | string }; timestamp?: string }[];
  }[];
}

export interface Series {
  service: string;
  /** "" unless grouped by operation */
  operation: string;
  points: TimePoint[];
}

/** A protobuf-JSON double: a number or "NaN"/"Infinity"/"-Infinity"; null when undefined. */
export function doubleValue(v: unknown): number | null {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string") {
    if (v === "NaN" || v === "Infinity" || v === "-Infinity" || v.trim() === "") return null;
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null; // absent: proto3 JSON leaves zero out, but the API always writes it; treat as undefined
}

/** Parses a MetricFamily; throws an Error naming what is wrong with it. */
export function parseFamily(f: unknown, what = "metrics"): Series[] {
  if (!f || typeof f !== "object" || !Array.isArray((f as MetricFamily).metrics))
    throw new Error(`the ${what} answer has no "metrics" list`);
  const out: Series[] = [];
  for (const m of (f as MetricFamily).metrics!) {
    const label = (n: string) => m.labels?.find((l) => l.name === n)?.value ?? "";
    const points: TimePoint[] = [];
    for (const p of m.metricPoints ?? []) {
      const t = Date.parse(p.timestamp ?? "");
      if (!Number.isFinite(t)) throw new Error(`the ${what} answer has a point with timestamp ${JSON.stringify(p.timestamp)}`);
      // gaugeValue.doubleValue 0 may be left out by proto3 JSON writers.
      const raw = p.gaugeValue?.doubleValue;
      points.push({ t, v: raw === undefined ? 0 : doubleValue(raw) });
    }
    points.sort((a, b) => a.t - b.t);
    out.push({ service: label("service_name"), operation: label("operation"), points });
  }
  return out;
}

/** The one series of a service in a family not grouped by operation (none when it had no calls). */
export function serviceSeries(series: Series[], service: string): TimePoint[] {
  return series.find((s) => s.service === service && s.operation === "")?.points ?? series.find((s) => s.service === service)?.points ?? [];
}

/** Multiplies every defined value (e.g. fractions to percentages). */
export function scale(points: TimePoint[], k: number): TimePoint[] {
  return points.map((p) => ({ t: p.t, v: p.v === null ? null : p.v * k }));
}

/**
 * The time between points for a lookback: at least a minute (the API's
 * resolution, /api/metrics/minstep) and at most ~maxPoints points, in
 * whole minutes.
 */
export function chooseStep(lookbackMs: number, maxPoints = 120): number {
  const minute = 60000;
  return Math.max(minute, Math.ceil(lookbackMs / maxPoints / minute) * minute);
}

export interface OperationRow {
  operation: string;
  /** calls per second over the whole range */
  rate: number | null;
  /** errors as a fraction of calls */
  errorRate: number | null;
  /** ms */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** p95 × rate, as a fraction of the largest: where time is spent (Jaeger's "impact") */
  impact: number;
}

/** The last defined value of a series: the point that summarises the whole range when step = ratePer = lookback. */
export function lastValue(points: TimePoint[] | undefined): number | null {
  if (!points) return null;
  for (let i = points.length - 1; i >= 0; i--) if (points[i].v !== null) return points[i].v;
  return null;
}

/**
 * One row per operation from families grouped by operation, each asked
 * with step = ratePer = lookback so their last point covers the range.
 */
export function operationRows(
  service: string,
  f: { calls: Series[]; errors: Series[]; p50: Series[]; p95: Series[]; p99: Series[] },
): OperationRow[] {
  const ops = new Set<string>();
  for (const list of Object.values(f)) for (const s of list) if (s.service === service) ops.add(s.operation);
  const get = (list: Series[], op: string) => lastValue(list.find((s) => s.service === service && s.operation === op)?.points);
  const rows: OperationRow[] = [...ops].map((op) => ({
    operation: op,
    rate: get(f.calls, op),
    errorRate: get(f.errors, op),
    p50: get(f.p50, op),
    p95: get(f.p95, op),
    p99: get(f.p99, op),
    impact: 0,
  }));
  const cost = rows.map((r) => (r.rate ?? 0) * (r.p95 ?? 0));
  const max = Math.max(0, ...cost);
  rows.forEach((r, i) => (r.impact = max > 0 ? cost[i] / max : 0));
  return rows;
}

export type SortKey = "operation" | "rate" | "errorRate" | "p50" | "p95" | "p99" | "impact";

/** Sorts rows by a column; undefined values last in either direction, ties by name. */
export function sortRows(rows: OperationRow[], key: SortKey, desc: boolean): OperationRow[] {
  const dir = desc ? -1 : 1;
  return [...rows].sort((a, b) => {
    if (key === "operation") return dir * a.operation.localeCompare(b.operation);
    const x = a[key], y = b[key];
    if (x === null && y === null) return a.operation.localeCompare(b.operation);
    if (x === null) return 1;
    if (y === null) return -1;
    return dir * (x - y) || a.operation.localeCompare(b.operation);
  });
}
