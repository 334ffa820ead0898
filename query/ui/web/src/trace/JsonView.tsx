// The trace as OTLP JSON: what api_v3 answered for a stored trace (the
// same bytes a script gets from /api/v3/traces/{id}), or the model written
// back as OTLP JSON for an uploaded file. Long documents are virtualised
// line by line; copy and download always take the whole text.

import { useMemo } from "preact/hooks";
import { link } from "../router";
import { copyText, downloadText, useFillHeight, useVirtualRows } from "./hooks";

const lineH = 18;

export function JsonView({ doc, traceID, apiPath }: { doc: unknown; traceID: string; apiPath?: string }) {
  const text = useMemo(() => JSON.stringify(doc, null, 2), [doc]);
  const lines = useMemo(() => text.split("\n"), [text]);
  const fill = useFillHeight<HTMLDivElement>(300);
  const v = useVirtualRows(lines.length, lineH, fill.height - 40, 30);
  const shown = [];
  for (let i = v.first; i < v.last; i++)
    shown.push(
      <div key={i} class="tr-json-line" style={{ top: `${i * lineH}px` }}>
        {lines[i]}
      </div>,
    );
  return (
    <div class="tr-json" ref={fill.ref} style={{ height: `${fill.height}px` }}>
      <div class="tr-json-bar">
        <button type="button" onClick={() => copyText(text)}>
          Copy
        </button>
        <button type="button" onClick={() => downloadText(`trace-${traceID}.json`, text)}>
          Download
        </button>
        {apiPath && (
          <a href={link(apiPath)} target="_blank" rel="noopener">
            Open {apiPath}
          </a>
        )}
        <span class="tr-muted">
          OTLP JSON, {lines.length.toLocaleString()} lines
        </span>
      </div>
      <div class="tr-json-body" data-testid="trace-json" ref={v.scroller} onScroll={v.onScroll} style={{ height: `${fill.height - 40}px` }} tabIndex={0}>
        <pre style={{ height: `${v.totalHeight}px` }}>{shown}</pre>
      </div>
    </div>
  );
}
