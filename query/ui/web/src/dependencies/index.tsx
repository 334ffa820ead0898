// The System Architecture view (/dependencies): the service dependency graph
// of GET /api/dependencies for a chosen time range, as a layered directed
// graph with call counts on the edges. Clicking a service opens its search.
//
// URL: /dependencies?lookback=1d&endTs=<ms>  (both optional: a day up to now)
import { useEffect, useMemo, useState } from "preact/hooks";
import type { JSX } from "preact";
import type { PageProps } from "../page";
import { apiURL, getJSON } from "../http";
import { serviceColor } from "../colors";
import { EmptyState, ErrorMessage, Loading, markRendered } from "../states";
import { formatCount } from "../charts/format";
import { formatLookback, parseEndTs, parseLookback, toLocalInput } from "../charts/lookback";
import { edgePath, labelPoint, layout, mergeLinks, type Layout, type LayoutEdge, type Link } from "./layout";
import "./dependencies.css";

export const lookbackOptions = [
  { value: "15m", label: "Last 15 minutes" },
  { value: "1h", label: "Last hour" },
  { value: "2h", label: "Last 2 hours" },
  { value: "6h", label: "Last 6 hours" },
  { value: "12h", label: "Last 12 hours" },
  { value: "1d", label: "Last day" },
  { value: "2d", label: "Last 2 days" },
  { value: "7d", label: "Last 7 days" },
];
const defaultLookback = "1d";

type State =
  | { status: "loading" }
  | { status: "error"; message: string }
  | { status: "done"; links: Link[]; endTs: number; lookbackMs: number };

/** The query of the page's URL, checked. */
function readParams(params: URLSearchParams, now: number): { lookback: string; lookbackMs: number; endTs: number; explicitEnd: boolean } {
  const lookback = params.get("lookback") || defaultLookback;
  const lookbackMs = parseLookback(lookback);
  const endTs = parseEndTs(params.get("endTs"), now);
  return { lookback, lookbackMs, endTs, explicitEnd: params.has("endTs") && params.get("endTs") !== "" };
}

export function DependenciesPage(props: PageProps): JSX.Element {
  const { params, navigate } = props;
  const key = params.toString();
  const [reload, setReload] = useState(0);
  const [state, setState] = useState<State>({ status: "loading" });
  let parsed: ReturnType<typeof readParams> | undefined;
  let paramError: string | undefined;
  try {
    parsed = readParams(params, Date.now());
  } catch (e) {
    paramError = (e as Error).message;
  }

  useEffect(() => {
    delete document.documentElement.dataset.rendered;
    if (!parsed) return;
    const ctl = new AbortController();
    const { endTs, lookbackMs } = readParams(params, Date.now());
    setState({ status: "loading" });
    getJSON<{ data: Link[] | null }>(apiURL("api/dependencies", { endTs, lookback: lookbackMs }), { signal: ctl.signal })
      .then((body) => {
        if (ctl.signal.aborted) return;
        if (!body || (body.data !== null && !Array.isArray(body.data)))
          throw new Error("/api/dependencies answered without a data list");
        setState({ status: "done", links: mergeLinks(body.data ?? []), endTs, lookbackMs });
      })
      .catch((e: Error) => {
        if (!ctl.signal.aborted) setState({ status: "error", message: e.message });
      });
    return () => ctl.abort();
  }, [key, reload]);

  useEffect(() => {
    if (state.status === "done") markRendered("dependencies");
  }, [state]);

  const set = (changes: Record<string, string | undefined>) => {
    const q = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined || v === "") q.delete(k);
      else q.set(k, v);
    }
    navigate(`/dependencies?${q.toString()}`);
  };

  const lookback = parsed?.lookback ?? defaultLookback;
  const options = lookbackOptions.some((o) => o.value === lookback)
    ? lookbackOptions
    : [...lookbackOptions, { value: lookback, label: parsed ? `Last ${formatLookback(parsed.lookbackMs)}` : lookback }];

  return (
    <div class="deps-page">
      <div class="deps-toolbar">
        <h1>System Architecture</h1>
        <label>
          Time range{" "}
          <select
            data-testid="dependencies-lookback"
            value={lookback}
            onChange={(e) => set({ lookback: (e.currentTarget as HTMLSelectElement).value })}
          >
            {options.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          ending{" "}
          <input
            type="datetime-local"
            data-testid="dependencies-end"
            value={parsed?.explicitEnd ? toLocalInput(parsed.endTs) : ""}
            onChange={(e) => {
              const v = (e.currentTarget as HTMLInputElement).value;
              const t = v ? new Date(v).getTime() : NaN;
              set({ endTs: Number.isFinite(t) ? String(t) : undefined });
            }}
            title="End of the time range; empty means now"
          />
        </label>
        {parsed?.explicitEnd && (
          <button type="button" onClick={() => set({ endTs: undefined })}>
            Now
          </button>
        )}
        <button type="button" onClick={() => setReload((n) => n + 1)} title="Fetch the graph again">
          Refresh
        </button>
      </div>
      {paramError ? (
        <ErrorMessage>{paramError}</ErrorMessage>
      ) : state.status === "loading" ? (
        <Loading what="the dependency graph" />
      ) : state.status === "error" ? (
        <ErrorMessage>Could not load the dependency graph: {state.message}</ErrorMessage>
      ) : state.links.length === 0 ? (
        <EmptyState>
          No calls between services between {new Date(state.endTs - state.lookbackMs).toLocaleString()} and{" "}
          {new Date(state.endTs).toLocaleString()}. A call is counted when a span's parent span belongs to another service.
        </EmptyState>
      ) : (
        <Graph links={state.links} onOpen={(s) => navigate(`/search?service=${encodeURIComponent(s)}`)} />
      )}
    </div>
  );
}

interface GraphProps {
  links: Link[];
  onOpen: (service: string) => void;
}

function Graph({ links, onOpen }: GraphProps): JSX.Element {
  const g: Layout = useMemo(() => layout(links), [links]);
  const [focus, setFocus] = useState<string | null>(null);
  const maxCalls = Math.max(1, ...g.edges.map((e) => e.calls));
  const stats = useMemo(() => {
    const m = new Map<string, { in: number; out: number }>();
    for (const l of links) {
      const p = m.get(l.parent) ?? { in: 0, out: 0 };
      p.out += l.callCount;
      m.set(l.parent, p);
      const c = m.get(l.child) ?? { in: 0, out: 0 };
      c.in += l.callCount;
      m.set(l.child, c);
    }
    return m;
  }, [links]);
  const services = g.nodes.filter((n) => n.real);
  const related = (e: LayoutEdge) => focus !== null && (e.from === focus || e.to === focus);

  return (
    <>
      <p class="deps-summary">
        {services.length} services, {links.length} links, {formatCount(links.reduce((s, l) => s + l.callCount, 0))} calls. Click a
        service to search its traces.
      </p>
      <div class="deps-graph-box">
        <svg
          data-testid="dependency-graph"
          class={focus ? "deps-graph focused" : "deps-graph"}
          viewBox={`0 -16 ${g.width} ${g.height + 16}`}
          width={g.width}
          height={g.height + 16}
          role="group"
          aria-label="Service dependency graph"
        >
          <defs>
            <marker id="deps-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto">
              <path class="deps-arrow" d="M0,1 L9,5 L0,9 z" />
            </marker>
            <marker id="deps-arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto">
              <path class="deps-arrow hot" d="M0,1 L9,5 L0,9 z" />
            </marker>
          </defs>
          {g.edges.map((e) => {
            const mid = labelPoint(e);
            const hot = related(e);
            return (
              <g
                key={`${e.from}>${e.to}`}
                data-testid="dependency-edge"
                data-from={e.from}
                data-to={e.to}
                data-calls={String(e.calls)}
                class={hot ? "deps-edge hot" : "deps-edge"}
              >
                <title>{`${e.from} → ${e.to}: ${formatCount(e.calls)} calls`}</title>
                <path
                  d={edgePath(e)}
                  stroke-width={1 + 2.5 * (Math.log10(e.calls + 1) / Math.log10(maxCalls + 1))}
                  marker-end={hot ? "url(#deps-arrow-hot)" : "url(#deps-arrow)"}
                />
                <text x={mid.x} y={mid.y - 4} text-anchor="middle" class="deps-edge-label">
                  {formatCount(e.calls)}
                </text>
              </g>
            );
          })}
          {services.map((n) => {
            const s = stats.get(n.id) ?? { in: 0, out: 0 };
            const color = serviceColor(n.id);
            return (
              <g
                key={n.id}
                data-testid="dependency-node"
                data-service={n.id}
                class={focus === n.id ? "deps-node hot" : "deps-node"}
                transform={`translate(${n.x - n.width / 2},${n.y - n.height / 2})`}
                tabIndex={0}
                role="link"
                aria-label={`${n.id}: ${formatCount(s.in)} calls in, ${formatCount(s.out)} calls out. Open its search.`}
                onClick={() => onOpen(n.id)}
                onKeyDown={(ev) => {
                  if (ev.key === "Enter" || ev.key === " ") {
                    ev.preventDefault();
                    onOpen(n.id);
                  }
                }}
                onMouseEnter={() => setFocus(n.id)}
                onMouseLeave={() => setFocus(null)}
                onFocus={() => setFocus(n.id)}
                onBlur={() => setFocus(null)}
              >
                <title>{`${n.id}\n${formatCount(s.in)} calls in, ${formatCount(s.out)} calls out`}</title>
                <rect width={n.width} height={n.height} rx={6} style={{ stroke: color }} />
                <rect width={6} height={n.height} rx={3} style={{ fill: color }} />
                <text x={14} y={n.height / 2} dy="0.32em">
                  {truncate(n.id, Math.floor((n.width - 20) / 7.2))}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
      <details class="deps-table">
        <summary>All links as a table</summary>
        <table>
          <thead>
            <tr>
              <th>Caller</th>
              <th>Callee</th>
              <th class="num">Calls</th>
            </tr>
          </thead>
          <tbody>
            {[...links]
              .sort((a, b) => b.callCount - a.callCount)
              .map((l) => (
                <tr key={`${l.parent}>${l.child}`}>
                  <td>{l.parent}</td>
                  <td>{l.child}</td>
                  <td class="num">{formatCount(l.callCount)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </>
  );
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, Math.max(1, n - 1)) + "…";
}
