package sdk_test

import (
	"testing"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/sdktest"
)

// readAll reads everything a plugin can read from a span, recursively
// through arrays and maps.
func readAll(s sdk.Span) {
	_, _, _, _ = s.TraceID(), s.SpanID(), s.ParentSpanID(), s.IsRoot()
	_, _, _ = s.Name(), s.TraceState(), s.Service()
	_, _, _, _, _, _ = s.Kind(), s.StatusCode(), s.StartUnixNano(), s.DurationNano(), s.EventCount(), s.Flags()
	for k, v := range s.Attrs() {
		_, _ = s.Attr(k)
		readValue(v)
	}
	for k, v := range s.ResourceAttrs() {
		_, _ = s.ResourceAttr(k)
		readValue(v)
	}
	s.SetAttr(s.Name(), s.TraceState())
}

func readValue(v sdk.Value) {
	_, _, _, _, _, _, _ = v.Str(), v.Int(), v.Double(), v.Bool(), v.Bytes(), v.Len(), v.AsString()
	for e := range v.Items() {
		readValue(e)
	}
	for _, e := range v.Entries() {
		readValue(e)
	}
}

// FuzzSample feeds the SDK arbitrary batches: it must return an error or
// decide the batch, never panic or read outside it.
func FuzzSample(f *testing.F) {
	all := sdk.SpanAttributes | sdk.ResourceAttributes
	b := testBatch()
	b.Contents = all
	f.Add(b.Encode())
	b.ReverseSections = true
	f.Add(b.Encode())
	f.Add(sdktest.Batch{}.Encode())
	f.Fuzz(func(t *testing.T, buf []byte) {
		sdk.Features(all)
		sdk.Handle(func(s sdk.Span) sdk.Decision { readAll(s); return sdk.Drop })
		_, _ = sdktest.RunEncoded(buf)
	})
}

// FuzzSampleField corrupts one field of a valid batch — any 32-bit word
// at any offset — which reaches the per-span checks far more often than
// random bytes do.
func FuzzSampleField(f *testing.F) {
	all := sdk.SpanAttributes | sdk.ResourceAttributes
	b := testBatch()
	b.Contents = all
	good := b.Encode()
	f.Add(uint16(70), uint32(1<<31))
	f.Add(uint16(200), uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, off uint16, v uint32) {
		buf := append([]byte(nil), good...)
		if int(off)+4 <= len(buf) {
			buf[off], buf[off+1], buf[off+2], buf[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
		sdk.Features(all)
		sdk.Handle(func(s sdk.Span) sdk.Decision { readAll(s); return sdk.Drop })
		_, _ = sdktest.RunEncoded(buf)
	})
}
