// A structural diff of two traces' span trees, for comparing a slow trace
// with a fast one of the same request. Children are matched by service,
// operation and occurrence (the 2nd "db query" of "api" matches the 2nd);
// a matched pair is "changed" when its duration moved by more than both
// 1 ms and 10 % of trace A's span — either bound alone flags jitter: 10 %
// of a 20 µs span, or 1 ms of a 2 s one.

import type { Span, Trace } from "./model";

export type Change = "added" | "removed" | "changed" | "same";

export interface DiffNode {
  /** Unique in the diff: the path of match keys from the top. */
  id: string;
  service: string;
  operation: string;
  /** The span in trace A (the baseline), null when added in B. */
  a: Span | null;
  /** The span in trace B, null when removed. */
  b: Span | null;
  change: Change;
  children: DiffNode[];
  depth: number;
}

export interface TraceDiff {
  roots: DiffNode[];
  counts: Record<Change, number>;
}

export const changedMinMicros = 1000;
export const changedMinFraction = 0.1;

/** True when a duration moved enough to call a matched span "changed". */
export function durationChanged(a: number, b: number): boolean {
  const d = Math.abs(b - a);
  return d > changedMinMicros && d > changedMinFraction * a;
}

function opName(s: Span): string {
  return s.synthetic ? "(missing span)" : s.name;
}

function keyed(spans: Span[]): Map<string, Span> {
  const seen = new Map<string, number>();
  const out = new Map<string, Span>();
  for (const s of spans) {
    const base = `${s.service}\u0000${opName(s)}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.set(`${base}\u0000${n}`, s);
  }
  return out;
}

export function diffTraces(a: Trace, b: Trace): TraceDiff {
  const counts: Record<Change, number> = { added: 0, removed: 0, changed: 0, same: 0 };
  const roots: DiffNode[] = [];
  // Work list of (A's children, B's children, where to put the merged nodes).
  const work: { as: Span[]; bs: Span[]; out: DiffNode[]; depth: number; prefix: string }[] = [
    { as: a.roots, bs: b.roots, out: roots, depth: 0, prefix: "" },
  ];
  while (work.length) {
    const w = work.pop()!;
    const ka = keyed(w.as);
    const kb = keyed(w.bs);
    const merged: { node: DiffNode; at: number }[] = [];
    const add = (key: string, sa: Span | null, sb: Span | null) => {
      const s = (sa ?? sb)!;
      let change: Change;
      if (!sa) change = "added";
      else if (!sb) change = "removed";
      else change = durationChanged(sa.duration, sb.duration) ? "changed" : "same";
      counts[change]++;
      const node: DiffNode = { id: `${w.prefix}/${key}`, service: s.service, operation: opName(s), a: sa, b: sb, change, children: [], depth: w.depth };
      merged.push({ node, at: s.start });
      work.push({ as: sa?.children ?? [], bs: sb?.children ?? [], out: node.children, depth: w.depth + 1, prefix: node.id });
    };
    for (const [k, sa] of ka) add(k, sa, kb.get(k) ?? null);
    for (const [k, sb] of kb) if (!ka.has(k)) add(k, null, sb);
    merged.sort((x, y) => x.at - y.at);
    for (const m of merged) w.out.push(m.node);
  }
  return { roots, counts };
}

/** The diff's rows, depth first, skipping the descendants of collapsed node IDs. */
export function visibleDiffRows(d: TraceDiff, collapsed: ReadonlySet<string>): DiffNode[] {
  const out: DiffNode[] = [];
  const stack: DiffNode[] = [];
  for (let i = d.roots.length - 1; i >= 0; i--) stack.push(d.roots[i]);
  while (stack.length) {
    const n = stack.pop()!;
    out.push(n);
    if (collapsed.has(n.id)) continue;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return out;
}
