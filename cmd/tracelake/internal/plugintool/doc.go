// Package plugintool is "tracelake plugin test" and "tracelake plugin
// bench": tools for the authors of sampling plugins (wasm/FORMAT.md) to
// see what a plugin does to spans, and what it costs, before it is
// deployed.
//
// Test loads a plugin with wasm/host, exactly as ingest does, runs it over
// spans read from a file (OTLP/JSON, a JSON-lines file of OTLP requests,
// tracelake's api_v3 trace answer or the Jaeger UI's JSON), and reports
// each span's decision and the edits the plugin made to it. Edits are
// found by diffing a copy of each span taken before the call with the span
// after it, so the report shows what the host really applied, not what the
// plugin asked for.
//
// Bench times Plugin.Process over generated or given spans at several
// batch sizes (only the call is timed; preparing its input is not), a
// baseline plugin that does nothing (so the host's own cost can be told
// from the plugin's), load time with and without a compilation cache, and
// instance creation.
//
// It must never be on a production path, nor change how plugins are run:
// it uses wasm/host's public API only, so what it shows is what ingest
// does. Its figures are measurements on a shared machine, not judgements;
// it makes no claim about a plugin's correctness beyond what it printed.
package plugintool
