// Find in trace, with Jaeger UI's semantics (filter-spans.tsx) so its
// uiFind links keep working: the text splits on spaces; a span matches
// when any word occurs (case-insensitively) in its operation, service,
// an attribute or resource key or value, an event's name or attribute, or
// is its span ID (leading zeros ignored). "-key" words make attributes
// whose key contains key never match.

import { formatValue } from "./format";
import type { KeyValue, Span, Trace } from "./model";

export function findSpans(trace: Trace, text: string): Set<string> {
  const include: string[] = [];
  const exclude: string[] = [];
  for (const w of text.split(/\s+/)) {
    if (!w) continue;
    if (w[0] === "-" && w.length > 1) exclude.push(w.slice(1).toLowerCase());
    else include.push(w.toLowerCase());
  }
  const out = new Set<string>();
  if (include.length === 0) return out;
  const has = (s: string) => {
    const l = s.toLowerCase();
    return include.some((f) => l.includes(f));
  };
  const kvs = (l: KeyValue[]) => l.some((kv) => !exclude.some((x) => kv.key.toLowerCase().includes(x)) && (has(kv.key) || has(formatValue(kv.value))));
  const ids = include.map((f) => f.replace(/^0+/, ""));
  const match = (s: Span) =>
    has(s.name) ||
    has(s.service) ||
    kvs(s.attributes) ||
    kvs(s.resource) ||
    s.events.some((e) => has(e.name) || kvs(e.attributes)) ||
    ids.includes(s.spanID.replace(/^0+/, ""));
  for (const s of trace.spans) if (match(s)) out.add(s.spanID);
  return out;
}
