// The trace area's public surface: the trace page, the compare page, the
// trace view the upload page reuses, and the file parser.
import "./trace.css";

export type { Trace, Span } from "./model";
export { parseTraceFile, tracesFromJSON } from "./parse";
export { TracePage } from "./TracePage";
export { TraceDiffPage } from "./DiffPage";
export { TraceView } from "./TraceView";
