// An overview of the whole trace (every span, one line per span in tree
// order) with the visible time range as a window. Dragging across the map
// draws a new range; once zoomed, dragging the window scrubs it and its
// edges resize it; a click outside it moves it there. Double-click resets
// to the whole trace.

import { useEffect, useRef } from "preact/hooks";
import { serviceColor } from "../colors";
import type { Trace } from "./model";

export type Zoom = [number, number]; // fractions of the trace's duration

const minWidth = 0.002;

export function Minimap({ trace, zoom, onZoom }: { trace: Trace; zoom: Zoom; onZoom: (z: Zoom) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const draw = () => {
      const w = c.clientWidth;
      const h = c.clientHeight;
      if (w === 0 || h === 0) return;
      const dpr = window.devicePixelRatio || 1;
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
      const g = c.getContext("2d");
      if (!g) return;
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.clearRect(0, 0, w, h);
      const n = trace.spans.length;
      const dur = trace.duration || 1;
      const rowH = Math.max(h / n, 0.5);
      trace.spans.forEach((s, i) => {
        g.fillStyle = serviceColor(s.service);
        const x = (s.start / dur) * w;
        g.fillRect(x, (i / n) * h, Math.max(1, (s.duration / dur) * w), Math.max(rowH, 1));
      });
    };
    draw();
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(draw) : null;
    ro?.observe(c);
    return () => ro?.disconnect();
  }, [trace]);

  const frac = (clientX: number) => {
    const r = box.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - r.left) / (r.width || 1)));
  };

  const onPointerDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    const target = e.target as HTMLElement;
    const zoomed = zoom[1] - zoom[0] < 1;
    // Inside a zoomed window a drag scrubs it; anywhere else it draws a new range.
    const mode = (zoomed && target.dataset.handle) || (zoomed && target.classList.contains("tr-mm-window") ? "move" : "new");
    const x0 = frac(e.clientX);
    const [a0, b0] = zoom;
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    e.preventDefault();
    let moved = false;
    const onMove = (ev: PointerEvent) => {
      const x = frac(ev.clientX);
      if (Math.abs(x - x0) > 0.002) moved = true;
      if (!moved) return;
      if (mode === "left") onZoom([Math.min(x, b0 - minWidth), b0]);
      else if (mode === "right") onZoom([a0, Math.max(x, a0 + minWidth)]);
      else if (mode === "move") {
        const w = b0 - a0;
        const a = Math.min(1 - w, Math.max(0, a0 + x - x0));
        onZoom([a, a + w]);
      } else {
        const a = Math.min(x0, x);
        const b = Math.max(x0, x);
        onZoom([a, Math.max(b, a + minWidth)]);
      }
    };
    const onUp = (ev: PointerEvent) => {
      const el = ev.currentTarget as HTMLElement;
      el.removeEventListener("pointermove", onMove as EventListener);
      el.removeEventListener("pointerup", onUp as EventListener);
      if (!moved && mode === "new" && b0 - a0 < 1) {
        // A click outside the window centres it there.
        const w = b0 - a0;
        const a = Math.min(1 - w, Math.max(0, x0 - w / 2));
        onZoom([a, a + w]);
      }
    };
    (e.currentTarget as HTMLElement).addEventListener("pointermove", onMove as EventListener);
    (e.currentTarget as HTMLElement).addEventListener("pointerup", onUp as EventListener);
  };

  const [a, b] = zoom;
  return (
    <div
      class="tr-minimap"
      data-testid="minimap"
      ref={box}
      onPointerDown={onPointerDown}
      onDblClick={() => onZoom([0, 1])}
      title="Drag to zoom into a time range; drag the window to scrub; double-click to reset"
      role="slider"
      aria-label="Visible time range"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(a * 100)}
      aria-valuetext={`${Math.round(a * 100)}% to ${Math.round(b * 100)}% of the trace`}
    >
      <canvas ref={canvas} class="tr-mm-canvas" aria-hidden="true" />
      <div class="tr-mm-shade" style={{ left: 0, width: `${a * 100}%` }} />
      <div class="tr-mm-shade" style={{ left: `${b * 100}%`, right: 0 }} />
      <div class="tr-mm-window" style={{ left: `${a * 100}%`, width: `${(b - a) * 100}%` }}>
        <div class="tr-mm-handle tr-mm-handle-l" data-handle="left" />
        <div class="tr-mm-handle tr-mm-handle-r" data-handle="right" />
      </div>
    </div>
  );
}
