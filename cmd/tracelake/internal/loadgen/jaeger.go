package loadgen

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	jaegermodel "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// jaegerWire is a jaeger.Batch in Thrift's binary protocol, as
// jaeger-client-go's HTTP sender posted it: every ID and time is an i64,
// eight bytes most significant first, a trace ID is two (traceIdHigh and
// traceIdLow), times are Unix microseconds and ends durations. A child
// span names its parent twice, in parentSpanId and in a CHILD_OF
// reference, as Jaeger's model-to-Thrift converter writes it.
//
// The templates are telemetrygen's traces through the collector's
// translator to Jaeger's model, then to Thrift as Jaeger's own converter
// does.
type jaegerWire struct{}

func (jaegerWire) name() string { return "Jaeger Thrift binary" }

func (jaegerWire) encode(td ptrace.Traces) ([]byte, error) {
	batches := jaegertranslator.ProtoFromTraces(td)
	if len(batches) != 1 {
		return nil, fmt.Errorf("translator made %d batches, want 1", len(batches))
	}
	b, err := thriftBatch(batches[0])
	if err != nil {
		return nil, err
	}
	return marshalThrift(b)
}

func (jaegerWire) decode(req []byte) (decoded, error) {
	b, err := unmarshalThrift(req)
	if err != nil {
		return nil, err
	}
	return jaegerRequest{b}, nil
}

func (jaegerWire) appendID(dst []byte, id uint64) []byte {
	return binary.BigEndian.AppendUint64(dst, id)
}

func (jaegerWire) appendTime(dst []byte, t int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t))
}

func (jaegerWire) unit() time.Duration { return time.Microsecond }
func (jaegerWire) endTimes() bool      { return false }
func (jaegerWire) parentRefs() int     { return 1 }

// marshalThrift encodes b as jaeger-client-go's HTTP sender did. The
// context is unused by an in-memory transport.
func marshalThrift(b *jaeger.Batch) ([]byte, error) {
	buf := thrift.NewTMemoryBuffer()
	if err := b.Write(context.Background(), thrift.NewTBinaryProtocolConf(buf, &thrift.TConfiguration{})); err != nil {
		return nil, fmt.Errorf("encode jaeger.Batch: %w", err)
	}
	return buf.Bytes(), nil
}

func unmarshalThrift(data []byte) (*jaeger.Batch, error) {
	buf := &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(data)}
	b := &jaeger.Batch{}
	if err := b.Read(context.Background(), thrift.NewTBinaryProtocolConf(buf, &thrift.TConfiguration{})); err != nil {
		return nil, fmt.Errorf("decode jaeger.Batch: %w", err)
	}
	if buf.Len() > 0 {
		return nil, fmt.Errorf("decode jaeger.Batch: %d bytes after it", buf.Len())
	}
	return b, nil
}

// thriftBatch converts a batch of Jaeger's model to Thrift, as Jaeger's
// converter does (the collector's copy of it, jaegerthriftcoverter, comes
// in a package that needs Jaeger's gRPC API, which this module lacks).
// Templates have no span events, so logs are not converted.
func thriftBatch(b *jaegermodel.Batch) (*jaeger.Batch, error) {
	out := &jaeger.Batch{
		Process: &jaeger.Process{ServiceName: b.Process.ServiceName, Tags: thriftTags(b.Process.Tags)},
		Spans:   make([]*jaeger.Span, len(b.Spans)),
	}
	for i, s := range b.Spans {
		if len(s.Logs) > 0 {
			return nil, errors.New("span logs are not converted")
		}
		var refs []*jaeger.SpanRef
		for _, r := range s.References {
			refType := jaeger.SpanRefType_CHILD_OF
			if r.RefType == jaegermodel.FollowsFrom {
				refType = jaeger.SpanRefType_FOLLOWS_FROM
			}
			refs = append(refs, &jaeger.SpanRef{
				RefType:     refType,
				TraceIdLow:  int64(r.TraceID.Low),
				TraceIdHigh: int64(r.TraceID.High),
				SpanId:      int64(r.SpanID),
			})
		}
		out.Spans[i] = &jaeger.Span{
			TraceIdLow:    int64(s.TraceID.Low),
			TraceIdHigh:   int64(s.TraceID.High),
			SpanId:        int64(s.SpanID),
			ParentSpanId:  int64(s.ParentSpanID()),
			OperationName: s.OperationName,
			References:    refs,
			Flags:         int32(s.Flags),
			StartTime:     int64(jaegermodel.TimeAsEpochMicroseconds(s.StartTime)),
			Duration:      int64(jaegermodel.DurationAsMicroseconds(s.Duration)),
			Tags:          thriftTags(s.Tags),
		}
	}
	return out, nil
}

func thriftTags(kvs []jaegermodel.KeyValue) []*jaeger.Tag {
	if len(kvs) == 0 {
		return nil
	}
	tags := make([]*jaeger.Tag, len(kvs))
	for i, kv := range kvs {
		t := &jaeger.Tag{Key: kv.Key}
		switch kv.VType {
		case jaegermodel.StringType:
			t.VType, t.VStr = jaeger.TagType_STRING, &kv.VStr
		case jaegermodel.BoolType:
			v := kv.Bool()
			t.VType, t.VBool = jaeger.TagType_BOOL, &v
		case jaegermodel.Int64Type:
			v := kv.Int64()
			t.VType, t.VLong = jaeger.TagType_LONG, &v
		case jaegermodel.Float64Type:
			v := kv.Float64()
			t.VType, t.VDouble = jaeger.TagType_DOUBLE, &v
		case jaegermodel.BinaryType:
			t.VType, t.VBinary = jaeger.TagType_BINARY, kv.Binary()
		}
		tags[i] = t
	}
	return tags
}

type jaegerRequest struct{ b *jaeger.Batch }

func (r jaegerRequest) stamps() ([]stamp, error) {
	us := int64(time.Microsecond)
	out := make([]stamp, len(r.b.Spans))
	for i, s := range r.b.Spans {
		out[i] = stamp{
			trace:  traceID(uint64(s.TraceIdHigh), uint64(s.TraceIdLow)),
			span:   uint64(s.SpanId),
			parent: uint64(s.ParentSpanId),
			start:  s.StartTime * us,
			end:    (s.StartTime + s.Duration) * us,
		}
		// Templates have no links: every reference names the parent.
		for _, ref := range s.References {
			if ref.TraceIdHigh != s.TraceIdHigh || ref.TraceIdLow != s.TraceIdLow || ref.SpanId != s.ParentSpanId {
				return nil, fmt.Errorf("span %d: reference to %016x%016x/%016x, not to its parent %016x",
					i, uint64(ref.TraceIdHigh), uint64(ref.TraceIdLow), uint64(ref.SpanId), uint64(s.ParentSpanId))
			}
		}
	}
	return out, nil
}

func (r jaegerRequest) restamp(st []stamp) {
	us := int64(time.Microsecond)
	for i, v := range st {
		s := r.b.Spans[i]
		hi, lo := traceHalves(v.trace)
		s.TraceIdHigh, s.TraceIdLow = int64(hi), int64(lo)
		s.SpanId, s.ParentSpanId = int64(v.span), int64(v.parent)
		s.StartTime, s.Duration = v.start/us, (v.end-v.start)/us
		for _, ref := range s.References {
			ref.TraceIdHigh, ref.TraceIdLow, ref.SpanId = s.TraceIdHigh, s.TraceIdLow, s.ParentSpanId
		}
	}
}

func (r jaegerRequest) encode() ([]byte, error) { return marshalThrift(r.b) }
