// The results' scatter plot: start time × duration, one circle per trace
// (bigger with more spans), error traces marked; a click opens the trace.
// Hand-written SVG: 1,500 circles render in a few milliseconds and no
// charting library is needed for two linear axes.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { formatClock, formatDateTime, formatDuration } from "./format";
import type { Result } from "./results";

interface Props {
  results: Result[];
  onOpen: (id: string) => void;
}

const height = 180;
const margin = { top: 10, right: 16, bottom: 26, left: 64 };

export function ScatterPlot({ results, onOpen }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  const [hover, setHover] = useState<{ id: string; x: number; y: number } | null>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth || 800);
    const ro = new ResizeObserver((entries) => {
      const w = Math.round(entries[0].contentRect.width);
      if (w > 0) setWidth(w);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const pts = results.filter((r) => r.startUs > 0);
  let x0 = Infinity,
    x1 = -Infinity,
    y1 = 0;
  for (const r of pts) {
    x0 = Math.min(x0, r.startUs);
    x1 = Math.max(x1, r.startUs);
    y1 = Math.max(y1, r.durationUs);
  }
  if (!Number.isFinite(x0)) x0 = x1 = 0;
  if (x1 === x0) {
    x0 -= 1e6;
    x1 += 1e6;
  }
  y1 = niceMax(y1 || 1);
  const iw = Math.max(10, width - margin.left - margin.right);
  const ih = height - margin.top - margin.bottom;
  // Dots at either end of the window stay whole: 10px inside the axes.
  const sx = (us: number) => margin.left + 10 + ((us - x0) / (x1 - x0)) * (iw - 20);
  const sy = (us: number) => margin.top + ih - (us / y1) * ih;
  const xTicks = ticks(x0, x1, Math.max(2, Math.floor(iw / 110)));
  const yTicks = [0, y1 / 4, y1 / 2, (3 * y1) / 4, y1];
  const span = x1 - x0;
  // The circles change only with the results and the width: kept as one
  // vnode so hovering (which re-renders the tooltip) does not diff 1,500 of them.
  const dots = useMemo(
    () => (
      <g>
        {pts.map((r) => (
          <circle
            key={r.id}
            class={r.errorCount > 0 ? "dot dot-error" : "dot"}
            cx={sx(r.startUs)}
            cy={sy(r.durationUs)}
            r={Math.min(12, 3 + Math.sqrt(r.spanCount) / 1.5)}
            data-trace-id={r.id}
          />
        ))}
      </g>
    ),
    [results, width],
  );
  const hovered = hover ? pts.find((r) => r.id === hover.id) : undefined;

  return (
    <div class="scatter" ref={ref} data-testid="scatter-plot">
      <svg
        width={width}
        height={height}
        role="img"
        aria-label={`Duration of ${pts.length} traces over time; errors marked`}
        onClick={(e) => {
          const id = (e.target as Element).getAttribute("data-trace-id");
          if (id) onOpen(id);
        }}
        onMouseOver={(e) => {
          const el = e.target as Element;
          const id = el.getAttribute("data-trace-id");
          if (id) setHover({ id, x: Number(el.getAttribute("cx")), y: Number(el.getAttribute("cy")) });
        }}
        onMouseOut={(e) => {
          if ((e.target as Element).getAttribute("data-trace-id")) setHover(null);
        }}
      >
        {yTicks.map((t) => (
          <g key={`y${t}`}>
            <line class="grid" x1={margin.left} x2={margin.left + iw} y1={sy(t)} y2={sy(t)} />
            <text class="axis" x={margin.left - 6} y={sy(t) + 4} text-anchor="end">
              {formatDuration(t)}
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <text key={`x${t}`} class="axis" x={sx(t)} y={height - 8} text-anchor="middle">
            {span > 2 * 86400e6 ? formatDateTime(t).slice(5, 16) : formatClock(t, span < 10e6)}
          </text>
        ))}
        {dots}
      </svg>
      {hovered && hover && (
        <div class="scatter-tip" style={{ left: `${Math.min(hover.x + 12, width - 260)}px`, top: `${Math.max(0, hover.y - 10)}px` }} role="tooltip">
          <b>
            {hovered.rootService || "?"}: {hovered.rootOperation || "?"}
          </b>
          <br />
          {formatDuration(hovered.durationUs)} · {hovered.spanCount} spans
          {hovered.errorCount > 0 && <span class="result-errors"> · {hovered.errorCount} errors</span>}
          <br />
          <span class="muted">{formatDateTime(hovered.startUs)}</span>
        </div>
      )}
    </div>
  );
}

/** A round upper bound for the duration axis (1, 2 or 5 × 10^n). */
function niceMax(v: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** About n evenly spaced ticks inside [a, b] at round µs steps. */
function ticks(a: number, b: number, n: number): number[] {
  const raw = (b - a) / n;
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 10e6, 15e6, 30e6, 60e6, 120e6, 300e6, 600e6, 900e6, 1800e6, 3600e6, 7200e6, 3 * 3600e6, 6 * 3600e6, 12 * 3600e6, 86400e6, 2 * 86400e6, 7 * 86400e6];
  const step = steps.find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(a / step) * step; t <= b && out.length < 50; t += step) out.push(t);
  return out;
}
