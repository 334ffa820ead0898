// The trace page for one in-memory trace: header, toolbar and the chosen
// view. The trace page (fetched by ID) and the upload page (read from a
// file) both show a trace through this component.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { PageProps } from "../page";
import { markRendered } from "../states";
import { criticalPath } from "./critical";
import { findSpans } from "./find";
import { FlameGraph } from "./FlameGraph";
import { TraceHeader } from "./Header";
import { JsonView } from "./JsonView";
import type { Zoom } from "./Minimap";
import type { Span, Trace } from "./model";
import { toOTLP } from "./otlp";
import { SpanDetail } from "./SpanDetail";
import { SpanTable } from "./SpanTable";
import { Statistics } from "./Statistics";
import { Timeline } from "./Timeline";
import { visibleRows } from "./tree";

export const views = ["timeline", "table", "statistics", "flamegraph", "json"] as const;
export type ViewName = (typeof views)[number];
const viewLabels: Record<ViewName, string> = {
  timeline: "Timeline",
  table: "Span table",
  statistics: "Statistics",
  flamegraph: "Flame graph",
  json: "OTLP JSON",
};

export interface TraceViewProps {
  trace: Trace;
  navigate: PageProps["navigate"];
  /**
   * The page's URL. When given, the view, the find text (uiFind) and the
   * critical-path switch live in its query, so they deep-link and the
   * back button undoes them; without it they are local state.
   */
  url?: { path: string; params: URLSearchParams };
  /** What the JSON view shows; by default the trace written as OTLP JSON. */
  json?: unknown;
  /** The API path the JSON came from, offered as a link. */
  apiPath?: string;
  /**
   * The name set in <html data-rendered> after each render; by default
   * "trace" when url is given, and nothing otherwise (the page that holds
   * the view marks itself).
   */
  renderedAs?: string;
}

function useParam(url: TraceViewProps["url"], navigate: PageProps["navigate"], key: string, initial: string) {
  const [local, setLocal] = useState(url?.params.get(key) ?? initial);
  const value = url ? (url.params.get(key) ?? initial) : local;
  const set = (v: string, push: boolean) => {
    if (!url) {
      setLocal(v);
      return;
    }
    const q = new URLSearchParams(url.params);
    if (v === initial) q.delete(key);
    else q.set(key, v);
    const s = q.toString();
    navigate(url.path + (s ? `?${s}` : ""), { replace: !push });
  };
  return [value, set] as const;
}

export function TraceView({ trace, navigate, url, json, apiPath, renderedAs = url ? "trace" : undefined }: TraceViewProps) {
  const [viewParam, setView] = useParam(url, navigate, "view", "timeline");
  const view: ViewName = (views as readonly string[]).includes(viewParam) ? (viewParam as ViewName) : "timeline";
  const [findParam, setFindParam] = useParam(url, navigate, "uiFind", "");
  const [criticalParam, setCritical] = useParam(url, navigate, "critical", "0");
  const showCritical = criticalParam === "1";

  const [findInput, setFindInput] = useState(findParam);
  const lastWritten = useRef(findParam);
  useEffect(() => {
    // The URL changed under us (back button, a link): follow it.
    if (findParam !== lastWritten.current) {
      lastWritten.current = findParam;
      setFindInput(findParam);
    }
  }, [findParam]);
  useEffect(() => {
    if (findInput === findParam) return;
    const t = setTimeout(() => {
      lastWritten.current = findInput;
      setFindParam(findInput, false);
    }, 200);
    return () => clearTimeout(t);
  }, [findInput]);

  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [selectedID, setSelectedID] = useState<string | null>(null);
  const [detailOpen, setDetailOpen] = useState(false);
  const [zoom, setZoom] = useState<Zoom>([0, 1]);
  const [reveal, setReveal] = useState(0);
  const [matchIndex, setMatchIndex] = useState(0);

  useEffect(() => {
    setCollapsed(new Set());
    setSelectedID(null);
    setDetailOpen(false);
    setZoom([0, 1]);
  }, [trace]);

  const rows = useMemo(() => visibleRows(trace, collapsed), [trace, collapsed]);
  const critical = useMemo(() => (showCritical ? criticalPath(trace) : null), [trace, showCritical]);
  const matches = useMemo(() => findSpans(trace, findParam), [trace, findParam]);
  const matchList = useMemo(() => trace.spans.filter((s) => matches.has(s.spanID)), [trace, matches]);

  const revealSpan = (s: Span, open: boolean) => {
    // Expand every collapsed ancestor so the row exists.
    let changed = false;
    const next = new Set(collapsed);
    for (let p = s.parent; p; p = p.parent) if (next.delete(p.spanID)) changed = true;
    if (changed) setCollapsed(next);
    setSelectedID(s.spanID);
    if (open) setDetailOpen(true);
    setReveal((n) => n + 1);
  };

  const first = useRef(true);
  useEffect(() => {
    setMatchIndex(0);
    if (matchList.length > 0) {
      // A link that names one span (uiFind=<span ID>) lands on it, open.
      revealSpan(matchList[0], first.current && matchList.length === 1);
    }
    first.current = false;
  }, [matchList]);

  const step = (d: number) => {
    if (matchList.length === 0) return;
    const i = (matchIndex + d + matchList.length) % matchList.length;
    setMatchIndex(i);
    revealSpan(matchList[i], detailOpen);
  };

  useEffect(() => {
    if (renderedAs) markRendered(renderedAs);
  });

  const onToggle = (s: Span) => {
    const next = new Set(collapsed);
    if (!next.delete(s.spanID)) next.add(s.spanID);
    setCollapsed(next);
  };
  const onSelect = (id: string | null, open: boolean) => {
    setSelectedID(id);
    setDetailOpen(open && id !== null);
  };
  const selectAndReveal = (id: string) => {
    const s = trace.spanByID.get(id);
    if (s) revealSpan(s, true);
  };

  const selected = selectedID ? (trace.spanByID.get(selectedID) ?? trace.roots.find((r) => r.spanID === selectedID) ?? null) : null;
  const showDetail = detailOpen && selected !== null && (view === "timeline" || view === "table" || view === "flamegraph");
  const jsonDoc = useMemo(() => (view === "json" ? (json ?? toOTLP(trace)) : null), [view, json, trace]);

  return (
    <div class="tr-page">
      <TraceHeader trace={trace} />
      <div class="tr-toolbar" role="toolbar" aria-label="Trace view">
        <label class="tr-inline">
          <span class="tr-sr">View</span>
          <select data-testid="view-select" value={view} onChange={(e) => setView((e.target as HTMLSelectElement).value, true)}>
            {views.map((v) => (
              <option key={v} value={v}>
                {viewLabels[v]}
              </option>
            ))}
          </select>
        </label>
        <div class="tr-find" role="search">
          <input
            type="search"
            data-testid="trace-find"
            placeholder="Find in trace…"
            aria-label="Find in trace (operation, service, attribute, span ID)"
            value={findInput}
            onInput={(e) => setFindInput((e.target as HTMLInputElement).value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                step(e.shiftKey ? -1 : 1);
              }
            }}
          />
          {findParam && (
            <span class="tr-find-count" aria-live="polite">
              {matchList.length === 0 ? "no match" : `${Math.min(matchIndex + 1, matchList.length)} of ${matchList.length}`}
            </span>
          )}
          <button type="button" disabled={matchList.length === 0} onClick={() => step(-1)} aria-label="Previous match" title="Previous match (Shift+Enter)">
            ↑
          </button>
          <button type="button" disabled={matchList.length === 0} onClick={() => step(1)} aria-label="Next match" title="Next match (Enter)">
            ↓
          </button>
        </div>
        <button
          type="button"
          data-testid="critical-path-toggle"
          aria-pressed={showCritical}
          class={showCritical ? "tr-on" : undefined}
          onClick={() => setCritical(showCritical ? "0" : "1", false)}
          title="Highlight the spans the trace's end-to-end time waited on"
        >
          Critical path
        </button>
        {view === "timeline" && (
          <>
            <button type="button" onClick={() => setCollapsed(new Set())} disabled={collapsed.size === 0}>
              Expand all
            </button>
            <button
              type="button"
              onClick={() => {
                const all = new Set<string>();
                for (const r of trace.roots) if (r.children.length) all.add(r.spanID);
                for (const s of trace.spans) if (s.children.length) all.add(s.spanID);
                setCollapsed(all);
              }}
            >
              Collapse all
            </button>
            {(zoom[0] > 0 || zoom[1] < 1) && (
              <button type="button" onClick={() => setZoom([0, 1])}>
                Reset zoom
              </button>
            )}
          </>
        )}
      </div>
      <div class={showDetail ? "tr-main tr-main-split" : "tr-main"}>
        <div class="tr-view">
          {view === "timeline" && (
            <Timeline
              trace={trace}
              rows={rows}
              collapsed={collapsed}
              onToggle={onToggle}
              selectedID={selectedID}
              detailOpen={detailOpen}
              onSelect={onSelect}
              critical={critical}
              matches={matches}
              zoom={zoom}
              onZoom={setZoom}
              reveal={reveal}
            />
          )}
          {view === "table" && <SpanTable trace={trace} selectedID={selectedID} onSelect={(id) => onSelect(id, true)} />}
          {view === "statistics" && <Statistics trace={trace} />}
          {view === "flamegraph" && <FlameGraph trace={trace} selectedID={selectedID} onSelect={(id) => onSelect(id, true)} />}
          {view === "json" && <JsonView doc={jsonDoc} traceID={trace.traceID} apiPath={apiPath} />}
        </div>
        {showDetail && selected && (
          <SpanDetail trace={trace} span={selected} onClose={() => setDetailOpen(false)} onSelect={selectAndReveal} linkable={url !== undefined} />
        )}
      </div>
    </div>
  );
}
