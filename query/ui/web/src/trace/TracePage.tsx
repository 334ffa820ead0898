// /trace/{id}: fetches the trace from api_v3 (/api/v3/traces/{id}, OTLP
// JSON: everything the model needs in one request, and the JSON view
// shows the very answer) and shows it with TraceView.

import { useEffect, useState } from "preact/hooks";
import { getJSON } from "../http";
import type { PageProps } from "../page";
import { ErrorMessage, Loading } from "../states";
import { TraceDiffPage } from "./DiffPage";
import { parseTraceIDParam } from "./ids";
import type { Trace } from "./model";
import { rawSpansFromOTLP } from "./otlp";
import { buildTraces } from "./tree";
import { TraceView } from "./TraceView";

type State = { status: "loading" } | { status: "error"; error: unknown } | { status: "done"; trace: Trace; json: unknown };

/** The api_v3 path of a trace. */
export function traceAPIPath(id: string): string {
  return `/api/v3/traces/${id}`;
}

/** Fetches one trace by ID from api_v3 and builds the model; errors name the trace. */
export async function fetchTrace(id: string, signal?: AbortSignal): Promise<{ trace: Trace; json: unknown }> {
  let body: { result?: unknown };
  try {
    body = await getJSON<{ result?: unknown }>(traceAPIPath(id).slice(1), { signal });
  } catch (e) {
    const err = e as Error & { status?: number };
    if (err.status === 404) throw new Error(`Trace ${id} was not found. It may be older than the retention, or not yet written.`);
    throw new Error(`Could not load trace ${id}: ${err.message}`);
  }
  const traces = buildTraces(rawSpansFromOTLP(body.result ?? {}));
  const trace = traces.find((t) => t.traceID === id) ?? traces[0];
  if (!trace) throw new Error(`Trace ${id} has no spans.`);
  return { trace, json: body };
}

/** The trace ID (or "a...b" compare reference) in a /trace/… path. */
function traceRef(path: string): string {
  const m = /^\/trace\/([^/]+)\/?$/.exec(path);
  return m ? decodeURIComponent(m[1]) : "";
}

export function TracePage(props: PageProps) {
  const ref = traceRef(props.path);
  // Jaeger's compare URL is /trace/{a}...{b}.
  if (ref.includes("...")) return <TraceDiffPage {...props} />;
  return <OneTrace {...props} traceRef={ref} />;
}

function OneTrace(props: PageProps & { traceRef: string }) {
  const ref = props.traceRef;
  let id = "";
  let bad: Error | null = null;
  try {
    id = parseTraceIDParam(ref);
  } catch (e) {
    bad = e as Error;
  }
  const [state, setState] = useState<State>({ status: "loading" });
  useEffect(() => {
    if (!id) return;
    const ac = new AbortController();
    setState({ status: "loading" });
    fetchTrace(id, ac.signal).then(
      (r) => setState({ status: "done", ...r }),
      (error) => {
        if (!ac.signal.aborted) setState({ status: "error", error });
      },
    );
    return () => ac.abort();
  }, [id]);

  if (bad) return <ErrorMessage error={bad} />;
  if (state.status === "loading") return <Loading what={`trace ${id}`} />;
  if (state.status === "error") return <ErrorMessage error={state.error} />;
  return <TraceView trace={state.trace} json={state.json} apiPath={traceAPIPath(id)} navigate={props.navigate} url={{ path: props.path, params: props.params }} />;
}
