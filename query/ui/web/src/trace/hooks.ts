// Small hooks the trace views share.

import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

/**
 * Sizes an element to fill the window below where it starts (at least
 * min px), and reports that height. Views that scroll inside themselves
 * (the timeline, tables) use it so their header rows stay in sight.
 */
export function useFillHeight<T extends HTMLElement>(min = 280, bottomGap = 12) {
  const ref = useRef<T>(null);
  const [height, setHeight] = useState(min);
  useLayoutEffect(() => {
    const measure = () => {
      const el = ref.current;
      if (!el) return;
      const top = el.getBoundingClientRect().top + window.scrollY;
      const h = Math.max(min, Math.floor(window.innerHeight - top - bottomGap));
      setHeight((old) => (old === h ? old : h));
    };
    measure();
    window.addEventListener("resize", measure);
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(measure) : null;
    ro?.observe(document.body);
    return () => {
      window.removeEventListener("resize", measure);
      ro?.disconnect();
    };
  }, [min, bottomGap]);
  return { ref, height };
}

/**
 * Virtual scrolling for fixed-height rows in a scrolling element: which
 * rows [first, last) to render, and a way to bring a row into view.
 */
export function useVirtualRows(count: number, rowHeight: number, viewHeight: number, overscan = 12) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const frame = useRef(0);
  const onScroll = useCallback(() => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const el = scroller.current;
      if (el) setScrollTop(el.scrollTop);
    });
  }, []);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + viewHeight) / rowHeight) + overscan);
  const scrollToRow = useCallback(
    (i: number) => {
      const el = scroller.current;
      if (!el || i < 0) return;
      const top = i * rowHeight;
      const visible = el.clientHeight || viewHeight;
      if (top >= el.scrollTop && top + rowHeight <= el.scrollTop + visible) return;
      // One row off the edge (arrow keys): scroll by that row; further
      // (find, links): bring it to the middle.
      if (top < el.scrollTop && top >= el.scrollTop - rowHeight) el.scrollTop = top;
      else if (top + rowHeight > el.scrollTop + visible && top < el.scrollTop + visible + rowHeight) el.scrollTop = top + rowHeight - visible;
      else el.scrollTop = Math.max(0, top - visible / 2);
      setScrollTop(el.scrollTop);
    },
    [rowHeight, viewHeight],
  );
  return { scroller, onScroll, first, last, scrollToRow, totalHeight: count * rowHeight };
}

/** Copies text to the clipboard; falls back to a hidden textarea where the API is missing. */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // Permission refused (e.g. headless); fall through.
    }
  }
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.style.position = "fixed";
  ta.style.opacity = "0";
  document.body.appendChild(ta);
  ta.select();
  try {
    document.execCommand("copy");
  } finally {
    ta.remove();
  }
}

/** Offers text as a file download. */
export function downloadText(name: string, text: string, type = "application/json"): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
