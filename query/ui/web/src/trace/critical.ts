// The critical path: the spans a trace's end-to-end latency waited on.
//
// Jaeger UI's algorithm (packages/jaeger-ui/src/components/TracePage/
// CriticalPath): children are first clipped to their parent (a child
// wholly outside is dropped; FOLLOWS_FROM children never hold a parent up
// and are ignored). Then, walking back from the root's end: the
// last-finishing child that ends before the current point is on the path;
// the parent owns the gap between that child's end and the point; the walk
// descends into the child from its end; when a span has no such child left
// it owns the time back to its start, and the walk returns to its parent
// at that start, looking for the next child that finished before it.
//
// One difference from Jaeger: a child that ends exactly when the current
// point is ("ends before or at") still counts. Jaeger's strict "before"
// skips back-to-back sequential children, giving their time to the parent.

import type { Span, Trace } from "./model";

export interface Section {
  span: Span;
  /** µs relative to the trace's start. */
  start: number;
  end: number;
}

export interface CriticalPath {
  /** Sections in walk order (latest first). */
  sections: Section[];
  /** The sections of each span on the path, by span ID. */
  bySpan: Map<string, Section[]>;
}

interface Clipped {
  span: Span;
  start: number;
  end: number;
  /** Clipped children, latest end first. */
  kids: Clipped[];
}

function clip(top: Span): Clipped {
  const root: Clipped = { span: top, start: top.start, end: top.start + top.duration, kids: [] };
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    for (const c of p.span.children) {
      if (c.parentRefType === "FOLLOWS_FROM") continue;
      const cs = c.start;
      const ce = c.start + c.duration;
      if (cs >= p.end || ce <= p.start) continue; // wholly outside the parent
      const k: Clipped = { span: c, start: Math.max(cs, p.start), end: Math.min(ce, p.end), kids: [] };
      p.kids.push(k);
      stack.push(k);
    }
    p.kids.sort((a, b) => b.end - a.end || b.start - a.start);
  }
  return root;
}

/** The critical path of one top-level span's tree. */
export function criticalPathOf(top: Span): Section[] {
  const out: Section[] = [];
  const root = clip(top);
  const frames: { node: Clipped; next: number }[] = [{ node: root, next: 0 }];
  let cursor = root.end;
  while (frames.length) {
    const f = frames[frames.length - 1];
    const kids = f.node.kids;
    while (f.next < kids.length && kids[f.next].end > cursor) f.next++;
    if (f.next < kids.length) {
      const child = kids[f.next++];
      if (child.end < cursor) out.push({ span: f.node.span, start: child.end, end: cursor });
      cursor = child.end;
      frames.push({ node: child, next: 0 });
    } else {
      if (cursor > f.node.start) out.push({ span: f.node.span, start: f.node.start, end: cursor });
      cursor = Math.min(cursor, f.node.start);
      frames.pop();
    }
  }
  return out;
}

/**
 * The critical path of the whole trace: that of each top-level span (one,
 * for a well-formed trace); the orphans under a missing parent count as
 * top-level spans.
 */
export function criticalPath(trace: Trace): CriticalPath {
  const sections: Section[] = [];
  for (const top of trace.roots) {
    if (top.synthetic) for (const o of top.children) sections.push(...criticalPathOf(o));
    else sections.push(...criticalPathOf(top));
  }
  const bySpan = new Map<string, Section[]>();
  for (const s of sections) {
    let l = bySpan.get(s.span.spanID);
    if (!l) bySpan.set(s.span.spanID, (l = []));
    l.push(s);
  }
  return { sections, bySpan };
}
