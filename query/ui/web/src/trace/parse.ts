// Reading a trace file: Jaeger JSON (a Jaeger UI download or
// /api/traces/{id}: {data:[traces]}, one trace, or a list of traces) or
// OTLP JSON (api_v3's {result:{resourceSpans}}, a bare TracesData, or the
// OpenTelemetry Collector's file exporter: one TracesData per line).

import { rawSpansFromJaeger } from "./jaeger";
import type { RawSpan, Trace } from "./model";
import { rawSpansFromOTLP } from "./otlp";
import { buildTraces } from "./tree";

type Obj = Record<string, unknown>;

function isOTLP(o: Obj): boolean {
  return "resourceSpans" in o || "resource_spans" in o;
}

function rawSpans(doc: unknown, where: string): RawSpan[] {
  if (Array.isArray(doc)) {
    return doc.flatMap((t, i) => rawSpans(t, `${where}[${i}]`));
  }
  if (!doc || typeof doc !== "object") throw new Error(`${where}: expected a JSON object, found ${doc === null ? "null" : typeof doc}`);
  const o = doc as Obj;
  if (isOTLP(o)) return rawSpansFromOTLP(o);
  if (o.result && typeof o.result === "object" && isOTLP(o.result as Obj)) return rawSpansFromOTLP(o.result);
  if ("data" in o) {
    if (!Array.isArray(o.data)) throw new Error(`${where}.data is not a list of traces`);
    return o.data.flatMap((t, i) => rawSpansFromJaeger(t, `${where}.data[${i}]`));
  }
  if ("spans" in o) return rawSpansFromJaeger(o, where);
  throw new Error(
    `${where} is neither Jaeger JSON ({"data":[…]} or a trace with "spans") nor OTLP JSON ({"resourceSpans":[…]} or {"result":{"resourceSpans":[…]}})`,
  );
}

/** Parses an already decoded document (from a file or an API). */
export function tracesFromJSON(doc: unknown): Trace[] {
  const raw = rawSpans(doc, "the file");
  if (raw.length === 0) throw new Error("the file holds no spans");
  return buildTraces(raw);
}

/**
 * Parses a trace file's text into traces, one per trace ID. Throws an
 * Error whose message names the problem.
 */
export function parseTraceFile(text: string): Trace[] {
  const trimmed = text.trim();
  if (!trimmed) throw new Error("the file is empty");
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch (e) {
    // The collector's file exporter writes JSON Lines.
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim());
    if (lines.length > 1) {
      const docs: unknown[] = [];
      for (let i = 0; i < lines.length; i++) {
        try {
          docs.push(JSON.parse(lines[i]));
        } catch (le) {
          throw new Error(`the file is not JSON, nor JSON Lines: line ${i + 1}: ${(le as Error).message}`);
        }
      }
      doc = docs;
    } else throw new Error(`the file is not JSON: ${(e as Error).message}`);
  }
  return tracesFromJSON(doc);
}
