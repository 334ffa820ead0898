// Every span as a sortable table row (virtualised like the timeline).

import { useMemo, useState } from "preact/hooks";
import { serviceColor } from "../colors";
import { formatDuration } from "./format";
import { useFillHeight, useVirtualRows } from "./hooks";
import type { Span, Trace } from "./model";

type Col = "service" | "name" | "start" | "duration" | "selfTime" | "kind" | "status" | "spanID";

const cols: { key: Col; label: string; numeric?: boolean }[] = [
  { key: "service", label: "Service" },
  { key: "name", label: "Operation" },
  { key: "start", label: "Start", numeric: true },
  { key: "duration", label: "Duration", numeric: true },
  { key: "selfTime", label: "Self time", numeric: true },
  { key: "kind", label: "Kind" },
  { key: "status", label: "Status" },
  { key: "spanID", label: "Span ID" },
];

const rowH = 26;

function value(s: Span, c: Col): string | number {
  return c === "status" ? s.status.code : s[c];
}

export function SpanTable({ trace, selectedID, onSelect }: { trace: Trace; selectedID: string | null; onSelect: (id: string) => void }) {
  const [sort, setSort] = useState<{ col: Col; desc: boolean }>({ col: "start", desc: false });
  const rows = useMemo(() => {
    const out = [...trace.spans];
    const { col, desc } = sort;
    out.sort((a, b) => {
      const x = value(a, col);
      const y = value(b, col);
      const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return (desc ? -c : c) || a.start - b.start;
    });
    return out;
  }, [trace, sort]);
  const fill = useFillHeight<HTMLDivElement>(300);
  const v = useVirtualRows(rows.length, rowH, fill.height - rowH);

  const body = [];
  for (let i = v.first; i < v.last; i++) {
    const s = rows[i];
    body.push(
      <div
        key={s.spanID}
        class={s.spanID === selectedID ? "tr-trow tr-row-selected" : "tr-trow"}
        style={{ top: `${i * rowH}px`, height: `${rowH}px` }}
        role="row"
        onClick={() => onSelect(s.spanID)}
      >
        <span role="cell">
          <span class="tr-svc-chip" style={{ background: serviceColor(s.service) }} aria-hidden="true" />
          {s.service}
        </span>
        <span role="cell">{s.name}</span>
        <span role="cell" class="tr-num">
          {formatDuration(s.start)}
        </span>
        <span role="cell" class="tr-num">
          {formatDuration(s.duration)}
        </span>
        <span role="cell" class="tr-num">
          {formatDuration(s.selfTime)}
        </span>
        <span role="cell">{s.kind}</span>
        <span role="cell" class={s.error ? "tr-error-text" : undefined}>
          {s.status.code}
        </span>
        <span role="cell">
          <code>{s.spanID}</code>
        </span>
      </div>,
    );
  }
  return (
    <div class="tr-table" data-testid="span-table" role="table" aria-label="Spans" aria-rowcount={rows.length} ref={fill.ref} style={{ height: `${fill.height}px` }}>
      <div class="tr-trow tr-thead" role="row">
        {cols.map((c) => (
          <button
            key={c.key}
            type="button"
            role="columnheader"
            class={c.numeric ? "tr-num" : undefined}
            aria-sort={sort.col === c.key ? (sort.desc ? "descending" : "ascending") : "none"}
            onClick={() => setSort((o) => ({ col: c.key, desc: o.col === c.key ? !o.desc : !!c.numeric }))}
          >
            {c.label}
            {sort.col === c.key ? (sort.desc ? " ▾" : " ▴") : ""}
          </button>
        ))}
      </div>
      <div class="tr-tbody" ref={v.scroller} onScroll={v.onScroll} style={{ height: `${fill.height - rowH}px` }}>
        <div style={{ height: `${v.totalHeight}px`, position: "relative" }}>{body}</div>
      </div>
    </div>
  );
}
