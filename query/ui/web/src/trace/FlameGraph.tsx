// A flame graph (icicle: roots on top) on a time axis, drawn on a canvas.
// Only the depth levels in view are drawn, so very deep traces cost the
// same. Clicking a span zooms to it and selects it; the breadcrumb or
// "whole trace" zooms back out.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { serviceColor } from "../colors";
import { formatDuration } from "./format";
import { useFillHeight } from "./hooks";
import type { Span, Trace } from "./model";

const levelH = 20;

export function FlameGraph({ trace, selectedID, onSelect }: { trace: Trace; selectedID: string | null; onSelect: (id: string) => void }) {
  const levels = useMemo(() => {
    const byDepth: Span[][] = [];
    const stack = [...trace.roots];
    while (stack.length) {
      const s = stack.pop()!;
      (byDepth[s.depth] ??= []).push(s);
      for (const c of s.children) stack.push(c);
    }
    return byDepth;
  }, [trace]);
  const [focus, setFocus] = useState<Span | null>(null);
  const [hover, setHover] = useState<{ span: Span; x: number; y: number } | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const fill = useFillHeight<HTMLDivElement>(260);
  const canvas = useRef<HTMLCanvasElement>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);

  const t0 = focus ? focus.start : 0;
  const t1 = focus ? focus.start + focus.duration : trace.duration;
  const span = Math.max(t1 - t0, 1e-9);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => setWidth(el.clientWidth);
    measure();
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(measure) : null;
    ro?.observe(el);
    return () => ro?.disconnect();
  }, []);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const h = fill.height;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(width * dpr);
    c.height = Math.round(h * dpr);
    const g = c.getContext("2d");
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, h);
    const css = getComputedStyle(document.documentElement);
    const errorColor = css.getPropertyValue("--error").trim() || "#c00";
    const accent = css.getPropertyValue("--accent").trim() || "#00f";
    const font = css.getPropertyValue("--font").trim() || "sans-serif";
    g.font = `12px ${font}`;
    g.textBaseline = "middle";
    const firstLevel = Math.floor(scrollTop / levelH);
    const lastLevel = Math.min(levels.length, Math.ceil((scrollTop + h) / levelH));
    for (let d = firstLevel; d < lastLevel; d++) {
      const y = d * levelH - scrollTop;
      for (const s of levels[d] ?? []) {
        const x0 = ((s.start - t0) / span) * width;
        const x1 = ((s.start + s.duration - t0) / span) * width;
        if (x1 < 0 || x0 > width) continue;
        const x = Math.max(0, x0);
        const w = Math.max(1, Math.min(width, x1) - x);
        g.globalAlpha = s.synthetic ? 0.35 : 1;
        g.fillStyle = serviceColor(s.service);
        g.fillRect(x, y + 1, w, levelH - 2);
        g.globalAlpha = 1;
        if (s.error) {
          g.strokeStyle = errorColor;
          g.lineWidth = 2;
          g.strokeRect(x + 1, y + 2, Math.max(0, w - 2), levelH - 4);
        }
        if (s.spanID === selectedID) {
          g.strokeStyle = accent;
          g.lineWidth = 2;
          g.strokeRect(x + 1, y + 2, Math.max(0, w - 2), levelH - 4);
        }
        if (w > 40) {
          g.fillStyle = textOn(serviceColor(s.service));
          const label = `${s.service}: ${s.name} (${formatDuration(s.duration)})`;
          const max = Math.floor((w - 6) / 6.5);
          g.save();
          g.beginPath();
          g.rect(x, y, w, levelH);
          g.clip();
          g.fillText(label.length > max ? label.slice(0, Math.max(0, max - 1)) + "…" : label, x + 4, y + levelH / 2);
          g.restore();
        }
      }
    }
  }, [levels, width, fill.height, scrollTop, t0, span, selectedID]);

  const spanAt = (clientX: number, clientY: number): Span | null => {
    const r = canvas.current!.getBoundingClientRect();
    const x = clientX - r.left;
    const d = Math.floor((clientY - r.top + scrollTop) / levelH);
    const t = t0 + (x / width) * span;
    for (const s of levels[d] ?? []) if (t >= s.start && t <= s.start + Math.max(s.duration, (span / width) * 1)) return s;
    return null;
  };

  return (
    <div class="tr-flame" data-testid="flame-graph">
      <div class="tr-flame-bar">
        <button type="button" disabled={!focus} onClick={() => setFocus(null)}>
          Whole trace
        </button>
        {focus && (
          <span>
            Zoomed to <strong>{focus.service}</strong>: {focus.name} ({formatDuration(focus.duration)}){" "}
            {focus.parent && (
              <button type="button" onClick={() => setFocus(focus.parent)}>
                Up to parent
              </button>
            )}
          </span>
        )}
        <span class="tr-muted">Click a span to zoom to it and show its details.</span>
      </div>
      <div
        class="tr-flame-scroll"
        ref={(el) => {
          scroller.current = el;
          fill.ref.current = el;
        }}
        style={{ height: `${fill.height}px` }}
        onScroll={(e) => setScrollTop((e.currentTarget as HTMLElement).scrollTop)}
      >
        <div style={{ height: `${levels.length * levelH}px` }}>
          <canvas
            ref={canvas}
            class="tr-flame-canvas"
            style={{ width: `${width}px`, height: `${fill.height}px` }}
            role="img"
            aria-label={`Flame graph of ${trace.spans.length} spans`}
            onMouseMove={(e) => {
              const s = spanAt(e.clientX, e.clientY);
              setHover(s ? { span: s, x: e.offsetX, y: e.offsetY } : null);
            }}
            onMouseLeave={() => setHover(null)}
            onClick={(e) => {
              const s = spanAt(e.clientX, e.clientY);
              if (!s) return;
              setFocus(s);
              if (!s.synthetic) onSelect(s.spanID);
            }}
          />
          {hover && (
            <div class="tr-flame-tip" style={{ left: `${Math.min(hover.x + 12, width - 260)}px`, top: `${hover.y + scrollTop + 14}px` }}>
              <strong>{hover.span.service}</strong>: {hover.span.name}
              <br />
              {formatDuration(hover.span.duration)} (self {formatDuration(hover.span.selfTime)})
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

/** Black or white, whichever reads better on a #rrggbb background. */
export function textOn(hex: string): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return "#000";
  const [r, g, b] = [m[1], m[2], m[3]].map((x) => parseInt(x, 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 ? "#000" : "#fff";
}
