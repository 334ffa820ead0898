// Compare two traces (Jaeger's /trace/{a}...{b} and
// /trace-diff?cohort={a}&cohort={b}): their span trees merged, each node
// marked added (only in B), removed (only in A), changed (duration moved)
// or same. A is the baseline.

import { useEffect, useMemo, useState } from "preact/hooks";
import { serviceColor } from "../colors";
import { link } from "../router";
import type { PageProps } from "../page";
import { EmptyState, ErrorMessage, Loading, markRendered } from "../states";
import { diffTraces, visibleDiffRows, type Change, type DiffNode } from "./diff";
import { formatDuration } from "./format";
import { useFillHeight, useVirtualRows } from "./hooks";
import { parseTraceIDParam } from "./ids";
import type { Trace } from "./model";
import { fetchTrace } from "./TracePage";

/** The two trace IDs a compare URL names (possibly fewer, when it is incomplete). */
export function diffIDs(path: string, params: URLSearchParams): string[] {
  const m = /^\/trace\/([^/]+)\/?$/.exec(path);
  if (m) {
    const ref = decodeURIComponent(m[1]);
    if (ref.includes("...")) return ref.split("...").filter((s) => s !== "");
  }
  return params.getAll("cohort").filter((s) => s !== "");
}

type State = { status: "loading" } | { status: "error"; error: unknown } | { status: "done"; a: Trace; b: Trace };

export function TraceDiffPage(props: PageProps) {
  const ids = diffIDs(props.path, props.params);
  let parsed: string[] = [];
  let bad: Error | null = null;
  try {
    parsed = ids.map(parseTraceIDParam);
  } catch (e) {
    bad = e as Error;
  }
  if (parsed.length < 2 || bad) return <DiffForm ids={ids} error={bad} navigate={props.navigate} />;
  if (parsed.length > 2)
    return <DiffForm ids={ids} error={new Error(`Compare takes two traces; this link names ${parsed.length}.`)} navigate={props.navigate} />;
  return <Diff a={parsed[0]} b={parsed[1]} navigate={props.navigate} />;
}

function DiffForm({ ids, error, navigate }: { ids: string[]; error: Error | null; navigate: PageProps["navigate"] }) {
  const [a, setA] = useState(ids[0] ?? "");
  const [b, setB] = useState(ids[1] ?? "");
  const [formError, setFormError] = useState<string | null>(null);
  useEffect(() => markRendered("diff"), []);
  return (
    <div class="tr-page tr-diff-form-page">
      <h1 class="tr-title">Compare two traces</h1>
      {error && <ErrorMessage error={error} />}
      <EmptyState>
        Enter two trace IDs, or select two traces in the <a href={link("/search")}>search results</a> and press Compare.
      </EmptyState>
      <form
        class="tr-diff-form"
        onSubmit={(e) => {
          e.preventDefault();
          try {
            const x = parseTraceIDParam(a);
            const y = parseTraceIDParam(b);
            setFormError(null);
            navigate(`/trace/${x}...${y}`);
          } catch (err) {
            setFormError((err as Error).message);
          }
        }}
      >
        <label>
          Trace A (baseline) <input value={a} onInput={(e) => setA((e.target as HTMLInputElement).value)} placeholder="trace ID" spellcheck={false} />
        </label>
        <label>
          Trace B <input value={b} onInput={(e) => setB((e.target as HTMLInputElement).value)} placeholder="trace ID" spellcheck={false} />
        </label>
        <button type="submit">Compare</button>
        {formError && <p class="tr-error-text" role="alert">{formError}</p>}
      </form>
    </div>
  );
}

function Diff({ a, b, navigate }: { a: string; b: string; navigate: PageProps["navigate"] }) {
  const [state, setState] = useState<State>({ status: "loading" });
  useEffect(() => {
    const ac = new AbortController();
    setState({ status: "loading" });
    Promise.all([fetchTrace(a, ac.signal), fetchTrace(b, ac.signal)]).then(
      ([x, y]) => setState({ status: "done", a: x.trace, b: y.trace }),
      (error) => {
        if (!ac.signal.aborted) setState({ status: "error", error });
      },
    );
    return () => ac.abort();
  }, [a, b]);
  if (state.status === "loading") return <Loading what="both traces" />;
  if (state.status === "error") return <ErrorMessage error={state.error} />;
  return <DiffView a={state.a} b={state.b} onSwap={() => navigate(`/trace/${b}...${a}`)} />;
}

const rowH = 26;

const changeLabels: Record<Change, string> = {
  added: "only in B",
  removed: "only in A",
  changed: "duration changed",
  same: "same",
};

/** The merged tree of two in-memory traces. */
export function DiffView({ a, b, onSwap }: { a: Trace; b: Trace; onSwap?: () => void }) {
  const diff = useMemo(() => diffTraces(a, b), [a, b]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const rows = useMemo(() => visibleDiffRows(diff, collapsed), [diff, collapsed]);
  const fill = useFillHeight<HTMLDivElement>(300);
  const v = useVirtualRows(rows.length, rowH, fill.height - rowH);
  const maxDur = Math.max(a.duration, b.duration) || 1;
  useEffect(() => markRendered("diff"));

  const toggle = (n: DiffNode) => {
    const next = new Set(collapsed);
    if (!next.delete(n.id)) next.add(n.id);
    setCollapsed(next);
  };

  const items = [];
  for (let i = v.first; i < v.last; i++) {
    const n = rows[i];
    const da = n.a?.duration;
    const db = n.b?.duration;
    items.push(
      <div
        key={n.id}
        class={`tr-diff-row tr-change-${n.change}`}
        data-testid="diff-node"
        data-change={n.change}
        style={{ top: `${i * rowH}px`, height: `${rowH}px` }}
        role="treeitem"
        aria-level={n.depth + 1}
        aria-expanded={n.children.length ? !collapsed.has(n.id) : undefined}
        title={changeLabels[n.change]}
      >
        <div class="tr-diff-name" style={{ paddingLeft: `${Math.min(n.depth, 30) * 12 + 4}px` }}>
          {n.children.length > 0 ? (
            <button type="button" class="tr-toggle" onClick={() => toggle(n)} aria-label={collapsed.has(n.id) ? "Expand" : "Collapse"}>
              {collapsed.has(n.id) ? "▸" : "▾"}
            </button>
          ) : (
            <span class="tr-toggle-space" />
          )}
          <span class="tr-svc-chip" style={{ background: serviceColor(n.service) }} aria-hidden="true" />
          <span class="tr-row-svc">{n.service}</span>
          <span class="tr-row-op">{n.operation}</span>
          <span class="tr-change-badge">{n.change}</span>
        </div>
        <span class="tr-num">
          {n.a ? (
            <a href={link(`/trace/${a.traceID}?uiFind=${n.a.spanID}`)} title="Open in trace A">
              {formatDuration(da!)}
            </a>
          ) : (
            "–"
          )}
        </span>
        <span class="tr-num">
          {n.b ? (
            <a href={link(`/trace/${b.traceID}?uiFind=${n.b.spanID}`)} title="Open in trace B">
              {formatDuration(db!)}
            </a>
          ) : (
            "–"
          )}
        </span>
        <span class="tr-num tr-delta">{da !== undefined && db !== undefined ? `${db >= da ? "+" : ""}${formatDuration(db - da)}` : ""}</span>
        <div class="tr-diff-bars" aria-hidden="true">
          {n.a && <span class="tr-diff-bar tr-diff-bar-a" style={{ left: `${(n.a.start / maxDur) * 100}%`, width: `${(n.a.duration / maxDur) * 100}%` }} />}
          {n.b && <span class="tr-diff-bar tr-diff-bar-b" style={{ left: `${(n.b.start / maxDur) * 100}%`, width: `${(n.b.duration / maxDur) * 100}%` }} />}
        </div>
      </div>,
    );
  }

  return (
    <div class="tr-page" data-testid="trace-diff">
      <h1 class="tr-title">Compare traces</h1>
      <div class="tr-diff-heads">
        <DiffHead label="A (baseline)" trace={a} />
        <DiffHead label="B" trace={b} />
        {onSwap && (
          <button type="button" onClick={onSwap} title="Make B the baseline">
            Swap A and B
          </button>
        )}
      </div>
      <p class="tr-diff-legend">
        {(Object.keys(changeLabels) as Change[]).map((c) => (
          <span key={c} class={`tr-change-${c}`}>
            <span class="tr-change-badge">{c}</span> {diff.counts[c]} {changeLabels[c]}
          </span>
        ))}
        <span class="tr-muted">Spans match by service, operation and position among their siblings; "changed" means the duration moved by more than 1 ms and 10%.</span>
      </p>
      <div class="tr-diff" ref={fill.ref} style={{ height: `${fill.height}px` }}>
        <div class="tr-diff-row tr-thead">
          <span>Service &amp; operation</span>
          <span class="tr-num">A</span>
          <span class="tr-num">B</span>
          <span class="tr-num">B − A</span>
          <span>Timing (A above, B below)</span>
        </div>
        <div class="tr-tbody" ref={v.scroller} onScroll={v.onScroll} style={{ height: `${fill.height - rowH}px` }} role="tree" aria-label="Merged span tree">
          <div style={{ height: `${v.totalHeight}px`, position: "relative" }}>{items}</div>
        </div>
      </div>
    </div>
  );
}

function DiffHead({ label, trace }: { label: string; trace: Trace }) {
  const root = trace.root ?? trace.roots[0];
  return (
    <div class="tr-diff-head">
      <div class="tr-muted">{label}</div>
      <a href={link(`/trace/${trace.traceID}`)}>
        <strong>{root?.service}</strong>: {root?.name}
      </a>
      <div class="tr-muted">
        {formatDuration(trace.duration)} · {trace.spans.length} spans · {trace.errorCount} errors · <code>{trace.traceID.slice(0, 16)}…</code>
      </div>
    </div>
  );
}
