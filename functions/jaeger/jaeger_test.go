package jaeger

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	model "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	tjaeger "github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/tracelake/tracelake/functions/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testConfig = Config{MaxRequestBytes: 64 << 10, TenantHeader: "X-Scope-OrgID", DefaultTenant: "single-tenant"}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// call is one Consume call seen by fakeConsumer.
type call struct {
	protocol, tenant string
	td               ptrace.Traces
}

// fakeConsumer records what reaches the pipeline and answers as told.
type fakeConsumer struct {
	result pipeline.Result
	err    error
	// entered, when set, gets a value as each call starts; release, when
	// set, holds each call until it is closed or the call's ctx ends.
	entered chan struct{}
	release chan struct{}

	mu    sync.Mutex
	calls []call
}

func (f *fakeConsumer) Consume(ctx context.Context, protocol, tenant string, td ptrace.Traces) (pipeline.Result, error) {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return pipeline.Result{}, ctx.Err()
		}
	}
	kept := ptrace.NewTraces()
	td.CopyTo(kept)
	f.mu.Lock()
	f.calls = append(f.calls, call{protocol, tenant, kept})
	f.mu.Unlock()
	if f.err != nil {
		return pipeline.Result{}, f.err
	}
	r := f.result
	if r.Accepted == 0 && r.Rejected == 0 {
		r.Accepted = td.SpanCount()
	}
	return r, nil
}

func (f *fakeConsumer) seen() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// waitFor polls cond until it holds or a generous deadline passes: the
// machine is shared and slow, and UDP delivery is asynchronous.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// The fixture: one process, five spans covering 128- and 64-bit trace
// IDs, a CHILD_OF parent (as parentSpanId and as a reference),
// FOLLOWS_FROM references within and across traces, tags of every type,
// logs with fields, span kinds, an error, and sampled / debug / unsampled
// flags.
var (
	start = time.Date(2025, 3, 14, 15, 9, 26, 535_897_000, time.UTC)

	traceHigh, traceLow = uint64(0x0af7651916cd43dd), uint64(0x8448eb211c80319c)
	trace64Low          = uint64(0x5f3e9d2c1b0a9988)
	rootID              = uint64(0xb7ad6b7169203331)
	queryID             = uint64(0x00f067aa0ba902b7)
	publishID           = uint64(0x1122334455667788)
	legacyID            = uint64(0x8877665544332211)
)

func i64(u uint64) int64   { return int64(u) }
func ptr[T any](v T) *T    { return &v }
func us(t time.Time) int64 { return t.UnixMicro() }

func strTag(k, v string) *tjaeger.Tag {
	return &tjaeger.Tag{Key: k, VType: tjaeger.TagType_STRING, VStr: &v}
}

// thriftBatch is the fixture as jaeger-client's Thrift model.
func thriftBatch() *tjaeger.Batch {
	return &tjaeger.Batch{
		Process: &tjaeger.Process{
			ServiceName: "checkout",
			Tags: []*tjaeger.Tag{
				strTag("hostname", "web-1"),
				strTag("jaeger.version", "Go-2.30.0"),
				strTag("ip", "10.0.0.7"),
				{Key: "pid", VType: tjaeger.TagType_LONG, VLong: ptr(int64(4242))},
			},
		},
		Spans: []*tjaeger.Span{
			{
				TraceIdHigh: i64(traceHigh), TraceIdLow: i64(traceLow), SpanId: i64(rootID),
				OperationName: "GET /cart", Flags: 1,
				StartTime: us(start), Duration: 1500,
				Tags: []*tjaeger.Tag{
					strTag("span.kind", "server"),
					strTag("str", "value"),
					{Key: "bool", VType: tjaeger.TagType_BOOL, VBool: ptr(true)},
					{Key: "long", VType: tjaeger.TagType_LONG, VLong: ptr(int64(-42))},
					{Key: "double", VType: tjaeger.TagType_DOUBLE, VDouble: ptr(3.5)},
					{Key: "bin", VType: tjaeger.TagType_BINARY, VBinary: []byte{0, 1, 2, 0xff}},
				},
				Logs: []*tjaeger.Log{{
					Timestamp: us(start.Add(200 * time.Microsecond)),
					Fields: []*tjaeger.Tag{
						strTag("event", "cache miss"),
						strTag("key", "cart:42"),
						{Key: "size", VType: tjaeger.TagType_LONG, VLong: ptr(int64(3))},
					},
				}},
			},
			{
				TraceIdHigh: i64(traceHigh), TraceIdLow: i64(traceLow), SpanId: i64(queryID),
				ParentSpanId: i64(rootID), OperationName: "SELECT cart", Flags: 3,
				StartTime: us(start.Add(100 * time.Microsecond)), Duration: 700,
				References: []*tjaeger.SpanRef{
					{RefType: tjaeger.SpanRefType_CHILD_OF, TraceIdHigh: i64(traceHigh), TraceIdLow: i64(traceLow), SpanId: i64(rootID)},
					{RefType: tjaeger.SpanRefType_FOLLOWS_FROM, TraceIdHigh: i64(traceHigh), TraceIdLow: i64(traceLow), SpanId: i64(publishID)},
				},
				Tags: []*tjaeger.Tag{
					strTag("span.kind", "client"),
					{Key: "error", VType: tjaeger.TagType_BOOL, VBool: ptr(true)},
				},
			},
			{
				TraceIdHigh: i64(traceHigh), TraceIdLow: i64(traceLow), SpanId: i64(publishID),
				OperationName: "publish", Flags: 0,
				StartTime: us(start.Add(900 * time.Microsecond)), Duration: 50,
				References: []*tjaeger.SpanRef{
					{RefType: tjaeger.SpanRefType_FOLLOWS_FROM, TraceIdHigh: i64(traceHigh), TraceIdLow: i64(traceLow), SpanId: i64(rootID)},
				},
				Tags: []*tjaeger.Tag{strTag("span.kind", "producer")},
			},
			{
				TraceIdLow: i64(trace64Low), SpanId: i64(legacyID),
				OperationName: "legacy 64-bit", Flags: 1,
				StartTime: us(start.Add(time.Second)), Duration: 1,
				References: []*tjaeger.SpanRef{
					{RefType: tjaeger.SpanRefType_FOLLOWS_FROM, TraceIdHigh: i64(traceHigh), TraceIdLow: i64(traceLow), SpanId: i64(rootID)},
				},
				Tags: []*tjaeger.Tag{strTag("span.kind", "consumer")},
			},
		},
	}
}

// protoBatch is the fixture as Jaeger's api_v2 model: the same spans,
// with parents expressed as references only, as jaeger-agent sent them.
func protoBatch() *model.Batch {
	tb := thriftBatch()
	tags := func(ts []*tjaeger.Tag) []model.KeyValue {
		var out []model.KeyValue
		for _, t := range ts {
			switch t.VType {
			case tjaeger.TagType_STRING:
				out = append(out, model.String(t.Key, t.GetVStr()))
			case tjaeger.TagType_BOOL:
				out = append(out, model.Bool(t.Key, t.GetVBool()))
			case tjaeger.TagType_LONG:
				out = append(out, model.Int64(t.Key, t.GetVLong()))
			case tjaeger.TagType_DOUBLE:
				out = append(out, model.Float64(t.Key, t.GetVDouble()))
			case tjaeger.TagType_BINARY:
				out = append(out, model.Binary(t.Key, t.GetVBinary()))
			}
		}
		return out
	}
	b := &model.Batch{Process: &model.Process{ServiceName: tb.Process.ServiceName, Tags: tags(tb.Process.Tags)}}
	for _, s := range tb.Spans {
		traceID := model.NewTraceID(uint64(s.TraceIdHigh), uint64(s.TraceIdLow))
		var refs []model.SpanRef
		for _, r := range s.References {
			refID := model.NewTraceID(uint64(r.TraceIdHigh), uint64(r.TraceIdLow))
			if r.RefType == tjaeger.SpanRefType_CHILD_OF {
				refs = append(refs, model.NewChildOfRef(refID, model.NewSpanID(uint64(r.SpanId))))
			} else {
				refs = append(refs, model.NewFollowsFromRef(refID, model.NewSpanID(uint64(r.SpanId))))
			}
		}
		refs = model.MaybeAddParentSpanID(traceID, model.NewSpanID(uint64(s.ParentSpanId)), refs)
		var logs []model.Log
		for _, l := range s.Logs {
			logs = append(logs, model.Log{Timestamp: time.UnixMicro(l.Timestamp).UTC(), Fields: tags(l.Fields)})
		}
		b.Spans = append(b.Spans, &model.Span{
			TraceID:       traceID,
			SpanID:        model.NewSpanID(uint64(s.SpanId)),
			OperationName: s.OperationName,
			References:    refs,
			Flags:         model.Flags(s.Flags),
			StartTime:     time.UnixMicro(s.StartTime).UTC(),
			Duration:      time.Duration(s.Duration) * time.Microsecond,
			Tags:          tags(s.Tags),
			Logs:          logs,
		})
	}
	return b
}

// minimalThriftBatch is one valid span, the smallest useful batch.
func minimalThriftBatch() *tjaeger.Batch {
	return &tjaeger.Batch{
		Process: &tjaeger.Process{ServiceName: "svc"},
		Spans: []*tjaeger.Span{{
			TraceIdLow: 1, SpanId: 2, OperationName: "op", Flags: 1, StartTime: us(start), Duration: 10,
		}},
	}
}

// thriftBody serialises a batch as jaeger-client-go's HTTP transport did:
// Thrift's binary protocol into a memory buffer.
func thriftBody(t testing.TB, b *tjaeger.Batch) []byte {
	t.Helper()
	body, err := thrift.NewTSerializer().Write(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// emitBatchDatagram encodes an Agent.emitBatch call as jaeger-client-go's
// UDP transport did: the generated agent client writing into a memory
// buffer through the protocol's factory.
func emitBatchDatagram(t testing.TB, enc Encoding, b *tjaeger.Batch) []byte {
	t.Helper()
	buf := thrift.NewTMemoryBufferLen(DefaultMaxPacketBytes)
	var f thrift.TProtocolFactory = thrift.NewTCompactProtocolFactoryConf(nil)
	if enc == Binary {
		f = thrift.NewTBinaryProtocolFactoryConf(nil)
	}
	if err := agent.NewAgentClientFactory(buf, f).EmitBatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// wantSpan is what the contrib translator makes of a fixture span.
type wantSpan struct {
	traceID, parentID string // hex; parentID empty for none
	spanID            string
	kind              ptrace.SpanKind
	flags             uint32
	status            ptrace.StatusCode
	start, end        time.Time
	attrs             map[string]any
	events            []wantEvent
	links             []string // "traceID/spanID/ref_type"
}

type wantEvent struct {
	name  string
	at    time.Time
	attrs map[string]any
}

const (
	root128 = "0af7651916cd43dd8448eb211c80319c"
	trace64 = "00000000000000005f3e9d2c1b0a9988"
)

var wantResource = map[string]any{
	"service.name":               "checkout",
	"host.name":                  "web-1",            // from "hostname"
	"opencensus.exporterversion": "Jaeger-Go-2.30.0", // from "jaeger.version"
	"ip":                         "10.0.0.7",
	"pid":                        int64(4242),
}

var wantSpans = map[string]wantSpan{
	"GET /cart": {
		traceID: root128, spanID: "b7ad6b7169203331",
		kind: ptrace.SpanKindServer, flags: 1, status: ptrace.StatusCodeUnset,
		start: start, end: start.Add(1500 * time.Microsecond),
		attrs: map[string]any{"str": "value", "bool": true, "long": int64(-42), "double": 3.5, "bin": []byte{0, 1, 2, 0xff}},
		events: []wantEvent{{name: "cache miss", at: start.Add(200 * time.Microsecond),
			attrs: map[string]any{"key": "cart:42", "size": int64(3)}}},
	},
	"SELECT cart": {
		traceID: root128, spanID: "00f067aa0ba902b7", parentID: "b7ad6b7169203331",
		kind: ptrace.SpanKindClient, flags: 1, status: ptrace.StatusCodeError,
		start: start.Add(100 * time.Microsecond), end: start.Add(800 * time.Microsecond),
		attrs: map[string]any{},
		links: []string{root128 + "/1122334455667788/follows_from"},
	},
	"publish": {
		// A FOLLOWS_FROM reference within the trace is the parent when
		// there is no CHILD_OF, and stays a link too.
		traceID: root128, spanID: "1122334455667788", parentID: "b7ad6b7169203331",
		kind: ptrace.SpanKindProducer, flags: 0, status: ptrace.StatusCodeUnset,
		start: start.Add(900 * time.Microsecond), end: start.Add(950 * time.Microsecond),
		attrs: map[string]any{},
		links: []string{root128 + "/b7ad6b7169203331/follows_from"},
	},
	"legacy 64-bit": {
		// A reference into another trace is never the parent.
		traceID: trace64, spanID: "8877665544332211",
		kind: ptrace.SpanKindConsumer, flags: 1, status: ptrace.StatusCodeUnset,
		start: start.Add(time.Second), end: start.Add(time.Second + time.Microsecond),
		attrs: map[string]any{},
		links: []string{root128 + "/b7ad6b7169203331/follows_from"},
	},
}

// checkFixture checks that the fixture arrived intact in td.
func checkFixture(t *testing.T, td ptrace.Traces) {
	t.Helper()
	if td.SpanCount() != len(wantSpans) {
		t.Fatalf("%d spans arrived, want %d", td.SpanCount(), len(wantSpans))
	}
	rss := td.ResourceSpans()
	if rss.Len() != 1 {
		t.Fatalf("%d resources, want 1", rss.Len())
	}
	if got := rss.At(0).Resource().Attributes().AsRaw(); !equalRaw(got, wantResource) {
		t.Errorf("resource attributes %v, want %v", got, wantResource)
	}
	seen := map[string]bool{}
	for si := 0; si < rss.At(0).ScopeSpans().Len(); si++ {
		spans := rss.At(0).ScopeSpans().At(si).Spans()
		for i := 0; i < spans.Len(); i++ {
			s := spans.At(i)
			w, ok := wantSpans[s.Name()]
			if !ok {
				t.Errorf("unexpected span %q", s.Name())
				continue
			}
			seen[s.Name()] = true
			checkSpan(t, s, w)
		}
	}
	if len(seen) != len(wantSpans) {
		t.Errorf("spans seen: %v", seen)
	}
}

func checkSpan(t *testing.T, s ptrace.Span, w wantSpan) {
	t.Helper()
	name := s.Name()
	if got := s.TraceID().String(); got != w.traceID {
		t.Errorf("%s: trace ID %s, want %s", name, got, w.traceID)
	}
	if got := s.SpanID().String(); got != w.spanID {
		t.Errorf("%s: span ID %s, want %s", name, got, w.spanID)
	}
	if got := s.ParentSpanID().String(); got != w.parentID {
		t.Errorf("%s: parent %q, want %q", name, got, w.parentID)
	}
	if s.Kind() != w.kind {
		t.Errorf("%s: kind %s, want %s", name, s.Kind(), w.kind)
	}
	if s.Flags() != w.flags {
		t.Errorf("%s: flags %#x, want %#x", name, s.Flags(), w.flags)
	}
	if s.Status().Code() != w.status {
		t.Errorf("%s: status %s, want %s", name, s.Status().Code(), w.status)
	}
	if !s.StartTimestamp().AsTime().Equal(w.start) || !s.EndTimestamp().AsTime().Equal(w.end) {
		t.Errorf("%s: %s – %s, want %s – %s", name, s.StartTimestamp().AsTime(), s.EndTimestamp().AsTime(), w.start, w.end)
	}
	if got := s.Attributes().AsRaw(); !equalRaw(got, w.attrs) {
		t.Errorf("%s: attributes %v, want %v", name, got, w.attrs)
	}
	if s.Events().Len() != len(w.events) {
		t.Fatalf("%s: %d events, want %d", name, s.Events().Len(), len(w.events))
	}
	for i, we := range w.events {
		e := s.Events().At(i)
		if e.Name() != we.name || !e.Timestamp().AsTime().Equal(we.at) || !equalRaw(e.Attributes().AsRaw(), we.attrs) {
			t.Errorf("%s: event %q at %s %v, want %q at %s %v", name, e.Name(), e.Timestamp().AsTime(), e.Attributes().AsRaw(), we.name, we.at, we.attrs)
		}
	}
	var links []string
	for i := 0; i < s.Links().Len(); i++ {
		l := s.Links().At(i)
		rt, _ := l.Attributes().Get("opentracing.ref_type")
		links = append(links, l.TraceID().String()+"/"+l.SpanID().String()+"/"+rt.Str())
	}
	if !equalRaw(map[string]any{"l": toAny(links)}, map[string]any{"l": toAny(w.links)}) {
		t.Errorf("%s: links %v, want %v", name, links, w.links)
	}
}

func toAny(ss []string) []any {
	out := []any{}
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

// equalRaw compares AsRaw maps through pcommon, which knows its types.
func equalRaw(a, b map[string]any) bool {
	ma, mb := pcommon.NewMap(), pcommon.NewMap()
	if err := ma.FromRaw(a); err != nil {
		return false
	}
	if err := mb.FromRaw(b); err != nil {
		return false
	}
	return ma.Equal(mb)
}
