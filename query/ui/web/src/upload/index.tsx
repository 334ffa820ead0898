// The upload page (/upload, Jaeger UI's "JSON File" tab): drop or pick a
// JSON file (Jaeger JSON as /api/traces or Jaeger UI's download writes it,
// or OTLP JSON as /api/v3/traces or an OTel exporter writes it) and view
// it with the same trace page. Nothing is sent anywhere; the file is read
// in the browser.
//
// The parsed file lives in this module, not the URL (a file cannot be
// linked to), so /upload?trace=N and the back button move between the
// traces of the file while the page is open.

import { useEffect, useState } from "preact/hooks";
import type { PageProps } from "../page";
import { link } from "../router";
import { formatDuration } from "../search/format";
import { EmptyState, ErrorMessage, Loading, markRendered } from "../states";
import { parseTraceFile, TraceView, type Trace } from "../trace";

interface Loaded {
  name: string;
  traces: Trace[];
}

let loaded: Loaded | null = null;

/** Largest file read (the browser holds it, and its parsed form, in memory). */
export const maxFileBytes = 512 * 1024 * 1024;

export function UploadPage({ params, navigate }: PageProps) {
  const [file, setFile] = useState<Loaded | null>(loaded);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);

  const choice = pickIndex(params.get("trace"), file);

  useEffect(() => {
    if (!busy) markRendered("upload");
  }, [file, choice, busy, error]);

  const read = async (f: File) => {
    setError(null);
    if (f.size > maxFileBytes) {
      setError(`${f.name} is ${(f.size / 1048576).toFixed(0)} MiB; files up to ${maxFileBytes / 1048576} MiB can be opened`);
      return;
    }
    setBusy(f.name);
    try {
      const text = await f.text();
      // Let the "Reading…" state paint before a long parse.
      await new Promise((r) => setTimeout(r, 0));
      const traces = parseTraceFile(text);
      if (traces.length === 0) throw new Error("the file holds no traces");
      loaded = { name: f.name, traces };
      setFile(loaded);
      navigate(traces.length === 1 ? "/upload?trace=0" : "/upload");
    } catch (e) {
      setError(`Cannot open ${f.name}: ${(e as Error).message}`);
    } finally {
      setBusy(null);
    }
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const f = e.dataTransfer?.files?.[0];
    if (f) void read(f);
    else setError("Nothing to open: drop a .json file");
  };

  if (file && choice !== null) {
    const t = file.traces[choice];
    return (
      <div class="upload-view">
        <div class="upload-crumbs">
          <a href={link("/upload")} title="Back to the file">
            {file.name}
          </a>
          {file.traces.length > 1 && ` · trace ${choice + 1} of ${file.traces.length}`}
        </div>
        <TraceView trace={t} navigate={navigate} />
      </div>
    );
  }

  return (
    <div class="upload-page">
      <label
        class={dragging ? "upload-drop dragging" : "upload-drop"}
        data-testid="upload-drop"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <input
          type="file"
          accept=".json,application/json"
          data-testid="upload-input"
          onChange={(e) => {
            const input = e.currentTarget as HTMLInputElement;
            const f = input.files?.[0];
            if (f) void read(f);
            input.value = "";
          }}
        />
        <span class="upload-hint">
          <b>Drop a JSON file here</b> or click to pick one.
          <br />
          Jaeger JSON (as <code>/api/traces</code> or Jaeger UI's “Download Results” writes it) or OTLP JSON (as <code>/api/v3/traces</code> or an
          OpenTelemetry file exporter writes it). The file stays in your browser.
        </span>
      </label>
      {busy && <Loading what={busy} />}
      {error && <ErrorMessage>{error}</ErrorMessage>}
      {file && file.traces.length > 1 && <Chooser file={file} />}
      {file && file.traces.length === 1 && !busy && (
        <EmptyState>
          <a href={link("/upload?trace=0")}>
            Back to the trace in {file.name}
          </a>
        </EmptyState>
      )}
    </div>
  );
}

function pickIndex(s: string | null, file: Loaded | null): number | null {
  if (s === null || !file || !/^\d+$/.test(s)) return null;
  const i = Number(s);
  return i < file.traces.length ? i : null;
}

function Chooser({ file }: { file: Loaded }) {
  return (
    <div class="upload-chooser panel">
      <h2>
        {file.name} holds {file.traces.length} traces
      </h2>
      <ul>
        {file.traces.map((t, i) => (
          <li key={t.traceID + i}>
            <a href={link(`/upload?trace=${i}`)} data-testid="upload-choice">
              <b>{t.root ? `${t.root.service}: ${t.root.name}` : "(no root span)"}</b> <span class="result-id">{t.traceID.slice(0, 7)}</span>
            </a>{" "}
            <span class="muted">
              {formatDuration(t.duration)} · {t.spans.length} spans · {t.services.length} services
              {t.errorCount > 0 && <span class="result-errors"> {t.errorCount} errors</span>}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
