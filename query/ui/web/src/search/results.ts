// Search results shaped for the list and the scatter plot, and their sort
// orders.

import type { TraceSummary } from "../api";

export interface Result {
  id: string;
  rootService: string;
  rootOperation: string;
  /** Unix µs (exact: µs since 1970 fit a double until the year 2255). */
  startUs: number;
  /** µs. */
  durationUs: number;
  spanCount: number;
  errorCount: number;
  orphanCount: number;
  /** By span count, most first, then by name. */
  services: { name: string; spanCount: number; errorCount: number }[];
  summary: TraceSummary;
}

/** Unix µs of a decimal nanosecond string, without losing precision on the way. */
export function nanosToMicros(ns: string | undefined): number {
  if (!ns || !/^\d+$/.test(ns)) return 0;
  return ns.length <= 3 ? 0 : Number(ns.slice(0, -3));
}

export function toResult(s: TraceSummary): Result {
  const startUs = nanosToMicros(s.minStartTimeUnixNano);
  const endUs = nanosToMicros(s.maxEndTimeUnixNano);
  return {
    id: s.traceId,
    rootService: s.rootServiceName,
    rootOperation: s.rootOperationName,
    startUs,
    durationUs: startUs && endUs >= startUs ? endUs - startUs : 0,
    spanCount: s.spanCount,
    errorCount: s.errorSpanCount,
    orphanCount: s.orphanSpanCount,
    services: (s.services ?? [])
      .map((x) => ({ name: x.name, spanCount: x.spanCount, errorCount: x.errorSpanCount }))
      .sort((a, b) => b.spanCount - a.spanCount || a.name.localeCompare(b.name)),
    summary: s,
  };
}

export type SortOrder = "recent" | "longest" | "shortest" | "spans" | "errors";

export const sortOrders: { value: SortOrder; label: string }[] = [
  { value: "recent", label: "Most recent" },
  { value: "longest", label: "Longest first" },
  { value: "shortest", label: "Shortest first" },
  { value: "spans", label: "Most spans" },
  { value: "errors", label: "Most errors" },
];

export function isSortOrder(s: string | null): s is SortOrder {
  return sortOrders.some((o) => o.value === s);
}

/** A sorted copy; ties fall back to most recent, then trace ID, so the order is stable. */
export function sortResults(rs: Result[], order: SortOrder): Result[] {
  const byRecent = (a: Result, b: Result) => b.startUs - a.startUs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const cmp: Record<SortOrder, (a: Result, b: Result) => number> = {
    recent: byRecent,
    longest: (a, b) => b.durationUs - a.durationUs || byRecent(a, b),
    shortest: (a, b) => a.durationUs - b.durationUs || byRecent(a, b),
    spans: (a, b) => b.spanCount - a.spanCount || byRecent(a, b),
    errors: (a, b) => b.errorCount - a.errorCount || byRecent(a, b),
  };
  return [...rs].sort(cmp[order]);
}
