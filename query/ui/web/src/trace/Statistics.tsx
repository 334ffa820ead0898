// Trace statistics: count, total and self time per service, and per
// operation within each service, sortable by any column.

import { useMemo, useState } from "preact/hooks";
import { serviceColor } from "../colors";
import { formatDuration } from "./format";
import type { Trace } from "./model";
import { statistics, type StatRow } from "./stats";

type Col = keyof Pick<StatRow, "count" | "errors" | "total" | "avg" | "min" | "max" | "selfTotal" | "selfAvg" | "selfMin" | "selfMax" | "selfPercent">;

const cols: { key: Col; label: string; title: string }[] = [
  { key: "count", label: "Count", title: "Number of spans" },
  { key: "errors", label: "Errors", title: "Spans with an error status" },
  { key: "total", label: "Total", title: "Sum of durations" },
  { key: "avg", label: "Avg", title: "Mean duration" },
  { key: "min", label: "Min", title: "Shortest duration" },
  { key: "max", label: "Max", title: "Longest duration" },
  { key: "selfTotal", label: "Self total", title: "Sum of self times (time not spent waiting on a child)" },
  { key: "selfAvg", label: "Self avg", title: "Mean self time" },
  { key: "selfMin", label: "Self min", title: "Shortest self time" },
  { key: "selfMax", label: "Self max", title: "Longest self time" },
  { key: "selfPercent", label: "Self % of trace", title: "Self total as a share of the trace's duration" },
];

export function Statistics({ trace }: { trace: Trace }) {
  const stats = useMemo(() => statistics(trace), [trace]);
  const [sort, setSort] = useState<{ col: Col; desc: boolean }>({ col: "selfTotal", desc: true });
  const [byOperation, setByOperation] = useState(true);
  const sorted = (rows: StatRow[]) => [...rows].sort((a, b) => (sort.desc ? b[sort.col] - a[sort.col] : a[sort.col] - b[sort.col]));
  const cell = (r: StatRow, c: Col) =>
    c === "count" || c === "errors" ? r[c] : c === "selfPercent" ? `${r.selfPercent.toFixed(1)}%` : formatDuration(r[c]);
  return (
    <div class="tr-stats" data-testid="trace-statistics">
      <label class="tr-inline">
        <input type="checkbox" checked={byOperation} onChange={(e) => setByOperation((e.target as HTMLInputElement).checked)} /> Break down by operation
      </label>
      <table class="tr-stats-table">
        <thead>
          <tr>
            <th scope="col">Service{byOperation ? " / operation" : ""}</th>
            {cols.map((c) => (
              <th key={c.key} scope="col" title={c.title} aria-sort={sort.col === c.key ? (sort.desc ? "descending" : "ascending") : "none"}>
                <button type="button" onClick={() => setSort((o) => ({ col: c.key, desc: o.col === c.key ? !o.desc : true }))}>
                  {c.label}
                  {sort.col === c.key ? (sort.desc ? " ▾" : " ▴") : ""}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted(stats.services).map((svc) => [
            <tr key={svc.service} class="tr-stats-svc">
              <th scope="row">
                <span class="tr-svc-chip" style={{ background: serviceColor(svc.service) }} aria-hidden="true" />
                {svc.service}
              </th>
              {cols.map((c) => (
                <td key={c.key} class="tr-num">
                  {cell(svc, c.key)}
                </td>
              ))}
            </tr>,
            ...(byOperation
              ? sorted(stats.operations.filter((o) => o.service === svc.service)).map((op) => (
                  <tr key={`${svc.service}\u0000${op.operation}`} class="tr-stats-op">
                    <th scope="row">{op.operation}</th>
                    {cols.map((c) => (
                      <td key={c.key} class="tr-num">
                        {cell(op, c.key)}
                      </td>
                    ))}
                  </tr>
                ))
              : []),
          ])}
        </tbody>
      </table>
    </div>
  );
}
