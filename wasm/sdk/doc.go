// Package sdk is the Go SDK for tracelake sampling plugins: WebAssembly
// modules that tracelake's ingest runs on every batch of spans to keep or
// drop each span and to edit span attributes and trace state. It
// implements the plugin side of the ABI in wasm/FORMAT.md — every export
// and import — so that a plugin is only an init function:
//
//	package main
//
//	import "github.com/tracelake/tracelake/wasm/sdk"
//
//	func init() {
//		sdk.Handle(func(s sdk.Span) sdk.Decision {
//			if s.StatusCode() == sdk.StatusError {
//				return sdk.Keep
//			}
//			return sdk.Drop
//		})
//	}
//
//	func main() {}
//
// Build it with the standard toolchain (TinyGo is not needed):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// c-shared matters: it makes a WASI reactor whose _initialize runs the
// init functions once, after which the host calls the exports; a plain
// build makes a command whose main would run and exit. wasm/plugins/go
// holds example plugins, each with a README.
//
// # Registering
//
// In init, a plugin registers exactly one handler — Handle for a decision
// per span (the common case), or HandleBatch to see the whole batch (to
// decide per trace, per rate, across spans) — and optionally OnInit to
// receive its configuration (JSON by convention; package
// github.com/tracelake/tracelake/wasm/sdk/config reads it without
// encoding/json, which would double the module's size) and Features.
//
// # Features: attributes are opt-in
//
// Writing attributes into every batch is most of the host's work, so the
// host writes only what the plugin declares with Features:
//
//	sdk.Features(sdk.SpanAttributes)                          // reads span attributes
//	sdk.Features(sdk.SpanAttributes | sdk.ResourceAttributes) // and resource attributes
//
// The default is none: a plugin that never calls Features sees span
// records (IDs, name, service, kind, status, times, trace state, counts,
// flags) but no attributes. Reading attributes that were not declared is
// not silently empty: it fails the batch with an error that says which
// Features call is missing. Declare in init, not in OnInit: the ABI does
// not say whether the host asks for features before or after
// tracelake_init.
//
// # Zero copy: what is valid when
//
// The host writes each batch into the plugin's memory and the SDK reads it
// in place: a Span is a pointer into the batch, and Span.Name,
// Span.Service, Span.TraceState, attribute keys, Value.Str and
// Value.Bytes point into it too. All of them are valid only until the
// handler returns; the next batch overwrites the memory. Copy what must
// outlive the call (strings.Clone, bytes.Clone), as a rate limiter does
// with the service names it keys its buckets by. The same holds for the
// configuration bytes passed to OnInit.
//
// Edits (Span.SetAttr, DeleteAttr, SetTraceState) are the other way
// round: their arguments are copied into an SDK-owned buffer at once, so
// they may point anywhere, including into the batch or a scratch buffer
// the plugin reuses. The SDK hands the whole list to the host with one
// set_edits call when the handler returns; the host applies the edits of
// kept spans, in order.
//
// # State is per instance
//
// The host runs several instances of a plugin, each with its own memory,
// calls each from one goroutine at a time, and creates and discards them
// at will (FORMAT.md, "Instances and state"). Package variables are
// therefore per instance: safe to use without locks, but never shared
// and never durable. A counter or rate limiter in a plugin limits one
// instance of one process. Decisions that must agree across instances
// and processes — keep a whole trace or none of it — must be derived from
// the spans themselves; package
// github.com/tracelake/tracelake/wasm/sdk/probability derives them from
// trace IDs the way OpenTelemetry specifies.
//
// # Failure
//
// A batch fails when a HandleBatch handler returns an error, when the
// batch is malformed (bad magic or version, a reference outside its
// section) and when the plugin reads undeclared attributes; the SDK
// reports the reason through the host's error import. A panic traps the
// instance, which the host also counts as a failure. Either way the host
// applies its failure policy (keep or drop the whole batch) and discards
// the instance. The SDK does not recover panics: a trap is the cheaper
// and the more honest outcome.
//
// # Speed
//
// Per span the SDK does no allocation, no map lookup and no interface
// call: Handle costs one indirect call per span, and most span accessors
// are single loads, inlined. In WebAssembly compiled from Go, calls and
// taken branches are what cost (each goes through the function's
// dispatch table), so the SDK keeps both out of its paths. Measured in
// wazero at 1,024 spans per batch on a shared 2-core machine: the
// keep-all plugin costs about 11 ns per span plus about 300 ns per call;
// looking up an attribute among four costs 40–100 ns; ranging over
// attributes about 55 ns each; an edit about 45 ns. BenchmarkHandle,
// BenchmarkAttr and BenchmarkHandleBatch track the native cost of the same
// paths.
//
// # Testing plugins
//
// Package sdktest encodes batches exactly as the host does and runs the
// registered plugin over them natively, so plugin logic is tested with go
// test; Registered exposes the exports as methods for it. The SDK itself
// splits the same way: everything but the thin export and import glue
// (exports_wasip1.go) builds and is tested natively.
package sdk
