package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/tracegen"
)

func bigSpan() ptrace.Traces {
	td := tracegen.Telemetrygen(rand.New(rand.NewPCG(1, 1)), 1, 0, time.Now())
	rs := td.ResourceSpans().At(0)
	s := rs.ScopeSpans().At(0).Spans().At(0)
	for i := 0; i < 10; i++ {
		s.Attributes().PutInt(fmt.Sprintf("extra.%d", i), int64(i))
		rs.Resource().Attributes().PutInt(fmt.Sprintf("res.%d", i), int64(i))
		ev := s.Events().AppendEmpty()
		ev.SetName(fmt.Sprintf("event %d", i))
		ev.Attributes().PutStr("k", "v")
		s.Links().AppendEmpty().SetTraceID(pcommon.TraceID{byte(i + 1)})
	}
	s.Attributes().PutStr("sql", strings.Repeat("é", 10)) // 20 bytes, 2 per rune
	s.Attributes().PutEmptyBytes("blob").FromRaw(make([]byte, 30))
	sl := s.Attributes().PutEmptySlice("list")
	sl.AppendEmpty().SetStr(strings.Repeat("x", 40))
	return td
}

func TestLimitsTruncateAndCount(t *testing.T) {
	td := bigSpan()
	l := Limits{MaxAttributes: 5, MaxAttributeValueLength: 9, MaxEventsPerSpan: 3, MaxLinksPerSpan: 4}
	st := l.apply(td)
	rs := td.ResourceSpans().At(0)
	s := rs.ScopeSpans().At(0).Spans().At(0)
	// The span had 2 + 10 + 3 = 15 attributes: the first 5 stay.
	if s.Attributes().Len() != 5 || s.DroppedAttributesCount() != 10 {
		t.Errorf("span attributes %d, dropped %d; want 5 and 10", s.Attributes().Len(), s.DroppedAttributesCount())
	}
	if _, ok := s.Attributes().Get("network.peer.address"); !ok {
		t.Error("the first attribute was not the one kept")
	}
	if rs.Resource().Attributes().Len() != 5 || rs.Resource().DroppedAttributesCount() != 6 {
		t.Errorf("resource attributes %d, dropped %d", rs.Resource().Attributes().Len(), rs.Resource().DroppedAttributesCount())
	}
	if s.Events().Len() != 3 || s.DroppedEventsCount() != 7 || s.Events().At(0).Name() != "event 0" {
		t.Errorf("events %d, dropped %d", s.Events().Len(), s.DroppedEventsCount())
	}
	if s.Links().Len() != 4 || s.DroppedLinksCount() != 6 {
		t.Errorf("links %d, dropped %d", s.Links().Len(), s.DroppedLinksCount())
	}
	if st.attributesDropped != 16 || st.eventsDropped != 7 || st.linksDropped != 6 {
		t.Errorf("stats %+v", st)
	}

	// Value length, on a fresh span so the long values survive the count limit.
	td = bigSpan()
	Limits{MaxAttributeValueLength: 9}.apply(td)
	attrs := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	sql, _ := attrs.Get("sql")
	if got := sql.Str(); got != strings.Repeat("é", 4) { // 8 bytes: no half rune
		t.Errorf("truncated string %q", got)
	}
	blob, _ := attrs.Get("blob")
	list, _ := attrs.Get("list")
	if blob.Bytes().Len() != 9 || len(list.Slice().At(0).Str()) != 9 {
		t.Errorf("bytes %d, string in array %d", blob.Bytes().Len(), len(list.Slice().At(0).Str()))
	}
}

func TestZeroLimitsChangeNothing(t *testing.T) {
	td := bigSpan()
	want := ptrace.NewTraces()
	td.CopyTo(want)
	Limits{}.apply(td)
	if !ptraceEqual(td, want) {
		t.Fatal("zero limits changed the spans")
	}
}

func ptraceEqual(a, b ptrace.Traces) bool {
	var m ptrace.ProtoMarshaler
	x, _ := m.MarshalTraces(a)
	y, _ := m.MarshalTraces(b)
	return string(x) == string(y)
}

// capture is a stage that remembers the last spans it saw.
type capture struct{ last ptrace.Traces }

func (c *capture) Process(_ context.Context, _ string, td ptrace.Traces) (ptrace.Traces, error) {
	c.last = ptrace.NewTraces()
	td.CopyTo(c.last)
	return td, nil
}

func TestTooManySpansIsRefused(t *testing.T) {
	rec := &recorder{}
	p, _ := newPipeline(t, rec)
	p.limits.MaxSpansPerRequest = 3
	_, err := p.Consume(context.Background(), "otlp_http", "acme", tracegen.Telemetrygen(rand.New(rand.NewPCG(1, 1)), 2, 1, time.Now()))
	var le *LimitError
	if !errors.As(err, &le) || le.Value != 4 || le.Limit != 3 || !strings.Contains(err.Error(), "spans in the request") {
		t.Fatalf("4 spans over a limit of 3: %v", err)
	}
	if len(rec.writes) != 0 {
		t.Fatal("a refused request was written")
	}
}

func TestProtocolOfOriginIsRecorded(t *testing.T) {
	c := &capture{}
	p, _ := newPipeline(t, &recorder{}, c)
	for _, tc := range []struct{ protocol, want string }{{"zipkin_v2_json", "zipkin_v2_json"}, {"otlp_grpc", ""}} {
		if _, err := p.Consume(context.Background(), tc.protocol, "acme", tracegen.Telemetrygen(rand.New(rand.NewPCG(1, 1)), 1, 1, time.Now())); err != nil {
			t.Fatal(err)
		}
		got := ""
		v, ok := c.last.ResourceSpans().At(0).ScopeSpans().At(0).Scope().Attributes().Get(ProtocolAttribute)
		if ok {
			got = v.Str()
		}
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("%s: scope attribute %q (present %v), want %q", tc.protocol, got, ok, tc.want)
		}
	}
}
