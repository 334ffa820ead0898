// The Gantt chart: one row per visible span, bars on a time axis that the
// minimap zooms. Only the rows in (and near) the viewport exist in the
// DOM, so a 10,000-span trace costs what ~40 rows cost (RATIONALE.md,
// "Why is the timeline virtualised…").

import { useEffect, useRef, useState } from "preact/hooks";
import { serviceColor } from "../colors";
import type { CriticalPath } from "./critical";
import { formatDuration, tickStep } from "./format";
import { useFillHeight, useVirtualRows } from "./hooks";
import { Minimap, type Zoom } from "./Minimap";
import type { Span, Trace } from "./model";

export const rowHeight = 26;
const maxIndentLevels = 30;

export interface TimelineProps {
  trace: Trace;
  rows: Span[];
  collapsed: ReadonlySet<string>;
  onToggle: (s: Span) => void;
  selectedID: string | null;
  detailOpen: boolean;
  onSelect: (id: string | null, openDetail: boolean) => void;
  critical: CriticalPath | null;
  matches: ReadonlySet<string>;
  zoom: Zoom;
  onZoom: (z: Zoom) => void;
  /** Changes whenever the selected row should be scrolled into view. */
  reveal: number;
}

export function Timeline(p: TimelineProps) {
  const { trace, rows, zoom } = p;
  const fill = useFillHeight<HTMLDivElement>(320);
  const headerH = 90; // minimap + ruler
  const bodyH = Math.max(160, fill.height - headerH);
  const v = useVirtualRows(rows.length, rowHeight, bodyH);
  const [nameWidth, setNameWidth] = useState(360);

  const index = rows.findIndex((r) => r.spanID === p.selectedID);
  useEffect(() => {
    if (index >= 0) v.scrollToRow(index);
  }, [p.reveal]);

  const vs = zoom[0] * trace.duration;
  const ve = zoom[1] * trace.duration;
  const range = Math.max(ve - vs, 1e-9);
  const pct = (t: number) => ((t - vs) / range) * 100;

  const step = tickStep(range, 6);
  const ticks: number[] = [];
  for (let t = Math.ceil(vs / step) * step; t <= ve + step * 1e-9; t += step) ticks.push(t);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.target !== e.currentTarget) return;
    const i = index;
    const sel = i >= 0 ? rows[i] : null;
    let next = -1;
    switch (e.key) {
      case "ArrowDown":
        next = Math.min(rows.length - 1, i + 1);
        break;
      case "ArrowUp":
        next = Math.max(0, i < 0 ? 0 : i - 1);
        break;
      case "PageDown":
        next = Math.min(rows.length - 1, Math.max(0, i) + Math.floor(bodyH / rowHeight));
        break;
      case "PageUp":
        next = Math.max(0, i - Math.floor(bodyH / rowHeight));
        break;
      case "Home":
        next = 0;
        break;
      case "End":
        next = rows.length - 1;
        break;
      case "ArrowLeft":
        if (!sel) return;
        if (sel.children.length && !p.collapsed.has(sel.spanID)) p.onToggle(sel);
        else if (sel.parent) next = rows.indexOf(sel.parent);
        else return;
        break;
      case "ArrowRight":
        if (!sel) return;
        if (sel.children.length && p.collapsed.has(sel.spanID)) p.onToggle(sel);
        else if (sel.children.length) next = i + 1;
        else return;
        break;
      case "Enter":
      case " ":
        if (!sel) return;
        p.onSelect(sel.spanID, !(p.detailOpen && true));
        e.preventDefault();
        return;
      case "Escape":
        if (!p.detailOpen) return;
        p.onSelect(p.selectedID, false);
        e.preventDefault();
        return;
      default:
        return;
    }
    e.preventDefault();
    if (next >= 0 && next < rows.length) {
      p.onSelect(rows[next].spanID, p.detailOpen);
      v.scrollToRow(next);
    }
  };

  // Dragging the divider between names and bars.
  const startResize = (e: PointerEvent) => {
    const el = e.currentTarget as HTMLElement;
    el.setPointerCapture(e.pointerId);
    const x0 = e.clientX;
    const w0 = nameWidth;
    const move = (ev: PointerEvent) => setNameWidth(Math.min(900, Math.max(160, w0 + ev.clientX - x0)));
    const up = () => {
      el.removeEventListener("pointermove", move as EventListener);
      el.removeEventListener("pointerup", up);
    };
    el.addEventListener("pointermove", move as EventListener);
    el.addEventListener("pointerup", up);
    e.preventDefault();
  };

  const items = [];
  for (let i = v.first; i < v.last; i++) {
    const s = rows[i];
    items.push(
      <Row
        key={s.spanID}
        span={s}
        top={i * rowHeight}
        nameWidth={nameWidth}
        collapsed={p.collapsed.has(s.spanID)}
        onToggle={p.onToggle}
        selected={s.spanID === p.selectedID}
        onSelect={p.onSelect}
        detailOpen={p.detailOpen}
        sections={p.critical?.bySpan.get(s.spanID)}
        criticalShown={p.critical !== null}
        match={p.matches.has(s.spanID)}
        pct={pct}
        range={range}
      />,
    );
  }

  return (
    <div class={p.critical ? "tr-timeline tr-critical-on" : "tr-timeline"} ref={fill.ref} style={{ height: `${fill.height}px`, "--tr-name-w": `${nameWidth}px` }}>
      <Minimap trace={trace} zoom={zoom} onZoom={p.onZoom} />
      <div class="tr-ruler" aria-hidden="true">
        <div class="tr-ruler-name">
          Service &amp; operation
          <div class="tr-divider" onPointerDown={startResize} title="Drag to resize" />
        </div>
        <div class="tr-ruler-axis">
          {ticks.map((t) =>
            pct(t) > 94 ? null : (
              <span key={t} class="tr-tick" style={{ left: `${pct(t)}%` }}>
                {formatDuration(t)}
              </span>
            ),
          )}
        </div>
      </div>
      <div
        class="tr-body"
        data-testid="trace-timeline"
        ref={v.scroller}
        onScroll={v.onScroll}
        style={{ height: `${bodyH}px` }}
        tabIndex={0}
        role="tree"
        aria-label="Spans; arrow keys move, left and right collapse and expand, Enter opens details"
        aria-activedescendant={p.selectedID ? `tr-row-${p.selectedID}` : undefined}
        onKeyDown={onKeyDown}
      >
        <div class="tr-rows" style={{ height: `${v.totalHeight}px` }}>
          <div class="tr-grid" aria-hidden="true">
            {ticks.map((t) => (
              <span key={t} style={{ left: `${pct(t)}%` }} />
            ))}
          </div>
          {items}
        </div>
      </div>
    </div>
  );
}

interface RowProps {
  span: Span;
  top: number;
  nameWidth: number;
  collapsed: boolean;
  onToggle: (s: Span) => void;
  selected: boolean;
  detailOpen: boolean;
  onSelect: (id: string | null, openDetail: boolean) => void;
  sections: { start: number; end: number }[] | undefined;
  criticalShown: boolean;
  match: boolean;
  pct: (t: number) => number;
  range: number;
}

function Row(r: RowProps) {
  const s = r.span;
  const color = serviceColor(s.service);
  const left = r.pct(s.start);
  const width = (s.duration / r.range) * 100;
  const labelRight = left + width < 78;
  const indent = Math.min(s.depth, maxIndentLevels) * 12;
  const onCritical = r.criticalShown && r.sections !== undefined;
  const cls = ["tr-row", r.selected && "tr-row-selected", r.match && "tr-row-match", s.synthetic && "tr-row-synthetic", onCritical && "tr-row-critical"]
    .filter(Boolean)
    .join(" ");
  return (
    <div
      class={cls}
      id={`tr-row-${s.spanID}`}
      data-testid="span-row"
      data-span-id={s.spanID}
      data-critical={onCritical ? "true" : undefined}
      data-match={r.match ? "true" : undefined}
      role="treeitem"
      aria-level={s.depth + 1}
      aria-expanded={s.children.length ? !r.collapsed : undefined}
      aria-selected={r.selected}
      style={{ top: `${r.top}px`, height: `${rowHeight}px` }}
      onClick={() => r.onSelect(s.spanID, !(r.selected && r.detailOpen))}
    >
      <div class="tr-row-name" style={{ paddingLeft: `${indent + 4}px` }} title={s.depth > maxIndentLevels ? `depth ${s.depth}` : undefined}>
        {s.children.length > 0 ? (
          <button
            type="button"
            class="tr-toggle"
            data-testid="span-toggle"
            aria-label={r.collapsed ? `Expand (${s.children.length} children)` : "Collapse"}
            title={r.collapsed ? `Expand (${s.children.length} children)` : "Collapse"}
            tabIndex={-1}
            onClick={(e) => {
              e.stopPropagation();
              r.onToggle(s);
            }}
          >
            {r.collapsed ? "▸" : "▾"}
          </button>
        ) : (
          <span class="tr-toggle-space" />
        )}
        <span class="tr-svc-chip" style={{ background: color }} aria-hidden="true" />
        {s.error && (
          <span class="tr-error-icon" title="error" aria-label="error">
            !
          </span>
        )}
        <span class="tr-row-svc">{s.service}</span>
        <span class="tr-row-op">{s.name}</span>
        {r.collapsed && <span class="tr-row-count">{countDescendants(s)}</span>}
      </div>
      <div class="tr-row-bar" title={`${s.service}: ${s.name}\n${formatDuration(s.duration)} at +${formatDuration(s.start)}${s.error ? " (error)" : ""}`}>
        <div
          class={s.error ? "tr-bar tr-bar-error" : "tr-bar"}
          style={{ left: `${left}%`, width: `${width}%`, background: s.synthetic ? undefined : color }}
        >
          {r.criticalShown &&
            r.sections?.map((sec, i) => (
              <span
                key={i}
                class="tr-crit"
                style={{ left: `${((sec.start - s.start) / (s.duration || 1)) * 100}%`, width: `${((sec.end - sec.start) / (s.duration || 1)) * 100}%` }}
              />
            ))}
          {s.events.map((ev, i) => (
            <span key={i} class="tr-event-tick" style={{ left: `${((ev.time - s.start) / (s.duration || 1)) * 100}%` }} title={ev.name} />
          ))}
        </div>
        <span
          class="tr-bar-label"
          style={labelRight ? { left: `calc(${Math.max(0, left + width)}% + 4px)` } : { right: `calc(${Math.max(0, 100 - left)}% + 4px)` }}
        >
          {formatDuration(s.duration)}
        </span>
      </div>
    </div>
  );
}

function countDescendants(s: Span): number {
  let n = 0;
  const stack = [...s.children];
  while (stack.length) {
    const c = stack.pop()!;
    n++;
    for (const k of c.children) stack.push(k);
  }
  return n;
}
