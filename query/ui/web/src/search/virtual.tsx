// A list that renders only the rows near the viewport, so 1,500 results
// cost as much as the ~20 that are visible. Rows have a fixed height; the
// page (window) scrolls, not the list.

import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

interface Props<T> {
  items: T[];
  rowHeight: number;
  /** Rows rendered above and below the visible ones. */
  overscan?: number;
  render: (item: T, index: number) => ComponentChildren;
  testid?: string;
}

/**
 * The rows [first, last) to render for a list whose top is at listTop
 * (relative to the viewport, negative once scrolled past) in a viewport
 * viewportHeight tall: the visible rows plus overscan on each side.
 */
export function visibleRange(listTop: number, viewportHeight: number, rowHeight: number, count: number, overscan: number): [number, number] {
  const first = Math.min(count, Math.max(0, Math.floor(-listTop / rowHeight) - overscan));
  const last = Math.min(count, Math.max(0, Math.ceil((viewportHeight - listTop) / rowHeight) + overscan));
  return [first, Math.max(first, last)];
}

export function VirtualList<T>({ items, rowHeight, overscan = 8, render, testid }: Props<T>) {
  const ref = useRef<HTMLDivElement>(null);
  const [range, setRange] = useState<[number, number]>([0, Math.min(items.length, 30)]);

  useEffect(() => {
    let frame = 0;
    const measure = () => {
      frame = 0;
      const el = ref.current;
      if (!el) return;
      const [first, last] = visibleRange(el.getBoundingClientRect().top, window.innerHeight, rowHeight, items.length, overscan);
      setRange((r) => (r[0] === first && r[1] === last ? r : [first, last]));
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(measure);
    };
    measure();
    window.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", schedule);
    return () => {
      window.removeEventListener("scroll", schedule);
      window.removeEventListener("resize", schedule);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [items, rowHeight, overscan]);

  const [first, last] = range;
  const rows: ComponentChildren[] = [];
  for (let i = first; i < Math.min(last, items.length); i++) {
    rows.push(
      <div key={i} class="vrow" role="listitem" style={{ top: `${i * rowHeight}px`, height: `${rowHeight}px` }}>
        {render(items[i], i)}
      </div>,
    );
  }
  return (
    <div ref={ref} class="vlist" data-testid={testid} style={{ height: `${items.length * rowHeight}px` }} role="list">
      {rows}
    </div>
  );
}
