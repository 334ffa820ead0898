// A small SVG line chart over time: several series, gaps where a value is
// undefined, a time axis, a value axis from zero, a legend, and a hover
// read-out of every series at the nearest time. Sized to its container.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { JSX } from "preact";
import { formatTickTime, linearScale, niceTicks, timeTicks } from "./scale";
import "./charts.css";

export interface TimePoint {
  /** ms since the epoch */
  t: number;
  /** null where the value is undefined (no calls in that window) */
  v: number | null;
}

export interface ChartSeries {
  name: string;
  color: string;
  points: TimePoint[];
}

export interface LineChartProps {
  series: ChartSeries[];
  /** Formats values on the axis and in the read-out. */
  format: (v: number) => string;
  /** The time range to show (ms); defaults to the points' range. */
  timeRange?: [number, number];
  height?: number;
  /** A fixed top of the value axis (e.g. 1 for fractions). */
  maxValue?: number;
  /** Accessible description of the chart. */
  label: string;
}

const margin = { top: 8, right: 12, bottom: 22, left: 52 };

/** Splits points into runs without nulls, so gaps show as gaps. */
export function segments(points: TimePoint[]): TimePoint[][] {
  const out: TimePoint[][] = [];
  let cur: TimePoint[] = [];
  for (const p of points) {
    if (p.v === null || !Number.isFinite(p.v)) {
      if (cur.length) out.push(cur);
      cur = [];
    } else cur.push(p);
  }
  if (cur.length) out.push(cur);
  return out;
}

export function LineChart(props: LineChartProps): JSX.Element {
  const { series, format, height = 180, label } = props;
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(480);
  const [hover, setHover] = useState<number | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(200, Math.floor(el.clientWidth)));
    measure();
    if (typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const geo = useMemo(() => {
    let t0 = Infinity, t1 = -Infinity, vmax = 0;
    for (const s of series)
      for (const p of s.points) {
        t0 = Math.min(t0, p.t);
        t1 = Math.max(t1, p.t);
        if (p.v !== null && Number.isFinite(p.v)) vmax = Math.max(vmax, p.v);
      }
    if (props.timeRange) [t0, t1] = props.timeRange;
    if (!Number.isFinite(t0)) [t0, t1] = [Date.now() - 3600000, Date.now()];
    if (props.maxValue !== undefined) vmax = Math.max(vmax, props.maxValue);
    const yTicks = niceTicks(0, vmax, 4);
    const innerW = width - margin.left - margin.right;
    const innerH = height - margin.top - margin.bottom;
    const x = linearScale([t0, t1], [margin.left, margin.left + innerW]);
    const y = linearScale([0, yTicks[yTicks.length - 1]], [margin.top + innerH, margin.top]);
    const xTicks = timeTicks(t0, t1, Math.max(2, Math.floor(innerW / 90)));
    // Every distinct time, for the hover read-out.
    const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
    return { t0, t1, x, y, yTicks, xTicks, times, innerW, innerH };
  }, [series, width, height, props.timeRange, props.maxValue]);

  const { x, y, yTicks, xTicks, times, t0, t1 } = geo;
  const hasData = series.some((s) => s.points.some((p) => p.v !== null && Number.isFinite(p.v)));

  const onMove = (e: MouseEvent) => {
    if (!times.length) return;
    const svg = e.currentTarget as SVGSVGElement;
    const r = svg.getBoundingClientRect();
    const px = e.clientX - r.left;
    const t = t0 + ((px - margin.left) / Math.max(1, geo.innerW)) * (t1 - t0);
    let best = times[0];
    for (const c of times) if (Math.abs(c - t) < Math.abs(best - t)) best = c;
    setHover(best);
  };

  return (
    <div class="chart" ref={box}>
      <svg
        width={width}
        height={height}
        role="img"
        aria-label={label}
        onMouseMove={onMove}
        onMouseLeave={() => setHover(null)}
      >
        {yTicks.map((v) => (
          <g key={`y${v}`}>
            <line class="chart-grid" x1={margin.left} x2={width - margin.right} y1={y(v)} y2={y(v)} />
            <text class="chart-tick" x={margin.left - 6} y={y(v)} dy="0.32em" text-anchor="end">
              {format(v)}
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <text key={`x${t}`} class="chart-tick" x={x(t)} y={height - 6} text-anchor="middle">
            {formatTickTime(t, t1 - t0)}
          </text>
        ))}
        <line class="chart-axis" x1={margin.left} x2={width - margin.right} y1={y(0)} y2={y(0)} />
        {series.map((s) =>
          segments(s.points).map((seg, i) =>
            seg.length === 1 ? (
              <circle key={`${s.name}${i}`} cx={x(seg[0].t)} cy={y(seg[0].v as number)} r={2.5} style={{ fill: s.color }} />
            ) : (
              <polyline
                key={`${s.name}${i}`}
                fill="none"
                style={{ stroke: s.color }}
                stroke-width={1.75}
                stroke-linejoin="round"
                points={seg.map((p) => `${x(p.t).toFixed(1)},${y(p.v as number).toFixed(1)}`).join(" ")}
              />
            ),
          ),
        )}
        {hover !== null && (
          <line class="chart-cursor" x1={x(hover)} x2={x(hover)} y1={margin.top} y2={y(0)} />
        )}
        {!hasData && (
          <text class="chart-nodata" x={margin.left + geo.innerW / 2} y={margin.top + geo.innerH / 2} text-anchor="middle">
            No data in this time range
          </text>
        )}
      </svg>
      <div class="chart-legend">
        {series.map((s) => {
          const p = hover === null ? undefined : s.points.find((q) => q.t === hover);
          return (
            <span key={s.name} class="chart-legend-item">
              <span class="chart-swatch" style={{ background: s.color }} />
              {s.name}
              {p && <strong> {p.v === null ? "–" : format(p.v)}</strong>}
            </span>
          );
        })}
        {hover !== null && <span class="chart-legend-time">{new Date(hover).toLocaleTimeString()}</span>}
      </div>
    </div>
  );
}
