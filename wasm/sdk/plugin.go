package sdk

import (
	"strconv"

	"github.com/tracelake/tracelake/wasm/abi"
)

// Feature is a set of what a plugin reads beyond the span records
// themselves; the host writes only what the plugin declared.
type Feature uint32

const (
	// SpanAttributes: the plugin reads span attributes (Span.Attr,
	// AttrAt, Attrs).
	SpanAttributes Feature = abi.FeatureSpanAttributes
	// ResourceAttributes: the plugin reads resource attributes
	// (Span.ResourceAttr...). Service needs no feature.
	ResourceAttributes Feature = abi.FeatureResourceAttributes
)

// Level is the level of a Log message.
type Level int32

// Log levels.
const (
	LevelDebug Level = abi.LogDebug
	LevelInfo  Level = abi.LogInfo
	LevelWarn  Level = abi.LogWarn
	LevelError Level = abi.LogError
)

// registered is what the plugin's init functions registered: one per
// program, and so one per WebAssembly instance.
var registered Plugin

// Handle registers fn to decide each span of every batch: the common
// case. fn runs once per span, in batch order, returns Keep or Drop (any
// other value fails the batch, in the host), and must not keep the Span
// (see Batch). It replaces any handler registered before, including one
// from HandleBatch. Call it from an init function.
func Handle(fn func(Span) Decision) {
	registered.handle, registered.handleBatch = fn, nil
}

// HandleBatch registers fn to decide whole batches, for plugins that
// decide spans together (by trace, by rate). fn decides spans with
// Batch.Decide; spans it does not decide are kept. A non-nil error fails
// the batch: the host records err.Error(), applies its failure policy to
// the whole batch (keep or drop every span) and discards the instance.
// It replaces any handler registered before, including one from Handle.
func HandleBatch(fn func(*Batch) error) {
	registered.handle, registered.handleBatch = nil, fn
}

// OnInit registers fn to receive the plugin's configuration (the bytes the
// operator configured, typically JSON) once per instance, before any
// batch. config is valid only during the call. A non-nil error fails
// loading the plugin, with err.Error() as the reason. Until fn has
// succeeded once, every batch fails (a host calling tracelake_sample
// before tracelake_init gets an error, not decisions from an unconfigured
// plugin). Without OnInit, the plugin accepts only an empty configuration
// ("", "{}" or "null").
func OnInit(fn func(config []byte) error) {
	registered.onInit, registered.configured = fn, false
}

// Features declares what the plugin reads beyond span records, so the
// host writes it into every batch; it replaces an earlier declaration.
// Call it from an init function (the ABI does not say whether the host
// asks before or after tracelake_init).
//
// The default is nothing: a plugin that never calls Features gets batches
// without attributes, which is what makes plugins that decide on IDs,
// names, status and timings cheap. Reading attributes that were not
// declared fails the batch with an error saying to declare them; it never
// silently finds nothing.
func Features(f Feature) { registered.features = f }

// Log sends a diagnostic message to the host, which may drop or
// rate-limit it. Natively (in go test) it is discarded.
func Log(level Level, msg string) { hostLog(level, msg) }

// Plugin is the plugin seen from the host: the ABI's exports as Go
// methods over what Handle, HandleBatch, OnInit and Features registered.
// In WebAssembly the tracelake_* exports call it; natively, package
// sdktest does, so that plugins are tested with go test. Plugins
// themselves never need it.
type Plugin struct {
	handle      func(Span) Decision
	handleBatch func(*Batch) error
	onInit      func([]byte) error
	configured  bool // onInit succeeded: batches may be sampled
	features    Feature
	batch       Batch
}

// Registered returns the plugin this program registered.
func Registered() *Plugin { return &registered }

// Features is what the plugin declared with Features.
func (p *Plugin) Features() Feature { return p.features }

// Init passes config to the plugin's OnInit function (tracelake_init).
func (p *Plugin) Init(config []byte) error {
	if p.onInit != nil {
		if err := p.onInit(config); err != nil {
			return err // a configuration that worked before stays in force
		}
		p.configured = true
		return nil
	}
	switch string(trimSpace(config)) {
	case "", "{}", "null":
		return nil
	}
	return sdkError("this plugin takes no configuration, but was given " + strconv.Itoa(len(config)) + " bytes")
}

// Sample runs the registered handler over the batch in buf, writing its
// decisions into buf as tracelake_sample does, and returns the edit list:
// records per wasm/FORMAT.md whose key and value "pointers" are offsets
// into data. Both are valid until the next call.
func (p *Plugin) Sample(buf []byte) (edits, data []byte, err error) {
	if err := p.sample(buf); err != nil {
		return nil, nil, err
	}
	return p.batch.edits.finish(0), p.batch.edits.data, nil
}

func (p *Plugin) sample(buf []byte) error {
	if p.onInit != nil && !p.configured {
		return sdkError("tracelake_sample before a successful tracelake_init: the plugin is not configured")
	}
	b := &p.batch
	if err := b.reset(buf); err != nil {
		return err
	}
	switch {
	case p.handle != nil:
		fn, d := p.handle, b.decisions
		for i := range d {
			d[i] = byte(fn(b.span(i)))
		}
	case p.handleBatch != nil:
		clear(b.decisions)
		if err := p.handleBatch(b); err != nil {
			return err
		}
	default:
		return sdkError("no handler: call sdk.Handle or sdk.HandleBatch from an init function")
	}
	return b.check(p.features)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
