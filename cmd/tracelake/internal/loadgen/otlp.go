package loadgen

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// otlpWire is OTLP's protobuf export request, which the grpc and http
// protocols both send: IDs are raw bytes and times fixed64 Unix
// nanoseconds.
type otlpWire struct{}

func (otlpWire) name() string { return "OTLP protobuf" }

func (otlpWire) encode(td ptrace.Traces) ([]byte, error) {
	return ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
}

func (otlpWire) decode(req []byte) (decoded, error) {
	r := ptraceotlp.NewExportRequest()
	if err := r.UnmarshalProto(req); err != nil {
		return nil, err
	}
	return otlpRequest{r}, nil
}

func (otlpWire) appendID(dst []byte, id uint64) []byte {
	return binary.BigEndian.AppendUint64(dst, id)
}

func (otlpWire) appendTime(dst []byte, t int64) []byte {
	return binary.LittleEndian.AppendUint64(dst, uint64(t))
}

func (otlpWire) unit() time.Duration { return time.Nanosecond }
func (otlpWire) endTimes() bool      { return true }
func (otlpWire) parentRefs() int     { return 0 }

type otlpRequest struct{ req ptraceotlp.ExportRequest }

// spans returns the spans of the request's one resource and scope, which
// is how templates are made.
func (r otlpRequest) spans() (ptrace.SpanSlice, error) {
	rss := r.req.Traces().ResourceSpans()
	if rss.Len() != 1 || rss.At(0).ScopeSpans().Len() != 1 {
		return ptrace.SpanSlice{}, fmt.Errorf("request has %d resources, want 1 with 1 scope", rss.Len())
	}
	return rss.At(0).ScopeSpans().At(0).Spans(), nil
}

func (r otlpRequest) stamps() ([]stamp, error) {
	spans, err := r.spans()
	if err != nil {
		return nil, err
	}
	out := make([]stamp, spans.Len())
	for i := range out {
		s := spans.At(i)
		id := s.SpanID()
		out[i] = stamp{
			trace: [16]byte(s.TraceID()),
			span:  binary.BigEndian.Uint64(id[:]),
			start: int64(s.StartTimestamp()),
			end:   int64(s.EndTimestamp()),
		}
		if p := s.ParentSpanID(); !p.IsEmpty() {
			out[i].parent = binary.BigEndian.Uint64(p[:])
		}
	}
	return out, nil
}

func (r otlpRequest) restamp(st []stamp) {
	spans, _ := r.spans()
	for i, v := range st {
		s := spans.At(i)
		s.SetTraceID(v.trace)
		s.SetSpanID(otlpSpanID(v.span))
		s.SetParentSpanID(otlpSpanID(v.parent))
		s.SetStartTimestamp(pcommon.Timestamp(v.start))
		s.SetEndTimestamp(pcommon.Timestamp(v.end))
	}
}

func (r otlpRequest) encode() ([]byte, error) { return r.req.MarshalProto() }

// otlpSpanID is id as OTLP holds it; 0 is the empty ID.
func otlpSpanID(id uint64) pcommon.SpanID {
	var s pcommon.SpanID
	binary.BigEndian.PutUint64(s[:], id)
	return s
}
