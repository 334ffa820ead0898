// The query service's public APIs the shell and the search page read.
// Every call is one a script can make too (see README "Web UI").

import { apiURL, getJSON } from "./http";

/** One entry of GET /api/v3/trace-summaries (query/jaegerapi/summaries.go). */
export interface TraceSummary {
  traceId: string;
  rootServiceName: string;
  rootOperationName: string;
  /** Unix nanoseconds as a decimal string; absent when unknown. */
  minStartTimeUnixNano?: string;
  maxEndTimeUnixNano?: string;
  spanCount: number;
  errorSpanCount: number;
  orphanSpanCount: number;
  services: { name: string; spanCount: number; errorSpanCount: number }[];
}

export interface Operation {
  name: string;
  spanKind: string;
}

/** GET /api/v3/services: the service names, sorted. */
export async function fetchServices(signal?: AbortSignal): Promise<string[]> {
  const body = await getJSON<{ services?: string[] }>("api/v3/services", { signal });
  return [...(body.services ?? [])].sort((a, b) => a.localeCompare(b));
}

/** GET /api/v3/operations?service=: a service's operations (names deduplicated over span kinds, sorted). */
export async function fetchOperations(service: string, signal?: AbortSignal): Promise<string[]> {
  const body = await getJSON<{ operations?: Operation[] }>(apiURL("api/v3/operations", { service }), { signal });
  const names = new Set((body.operations ?? []).map((o) => o.name));
  return [...names].sort((a, b) => a.localeCompare(b));
}

/** GET /api/v3/trace-summaries with api_v3 query parameters. */
export async function fetchTraceSummaries(params: Record<string, string>, signal?: AbortSignal): Promise<TraceSummary[]> {
  const body = await getJSON<{ summaries?: TraceSummary[] }>(apiURL("api/v3/trace-summaries", params), { signal });
  return body.summaries ?? [];
}

/** How many trace IDs one GET /api/traces?traceID=… names, keeping URLs short. */
const idsPerRequest = 100;

/**
 * The whole traces of ids in Jaeger's JSON, {"data": [...]}: the format
 * Jaeger UI downloads and its "JSON File" tab (and ours) opens.
 */
export async function fetchJaegerTraces(ids: string[], signal?: AbortSignal): Promise<{ data: unknown[] }> {
  const data: unknown[] = [];
  for (let i = 0; i < ids.length; i += idsPerRequest) {
    const body = await getJSON<{ data?: unknown[] }>(apiURL("api/traces", { traceID: ids.slice(i, i + idsPerRequest) }), { signal });
    data.push(...(body.data ?? []));
  }
  return { data };
}
