package loadgen

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinv2"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// zipkinWire is Zipkin's v2 JSON, a list of spans as zipkin-go writes
// them: IDs are lower-hex text (a 128-bit trace ID is 32 digits, the high
// half first), timestamps decimal Unix microseconds and ends durations.
//
// The templates are telemetrygen's traces through the collector's
// translator, so they are what an OpenTelemetry SDK's Zipkin exporter
// sends: the two attributes become the remote endpoint.
type zipkinWire struct{}

func (zipkinWire) name() string { return "Zipkin v2 JSON" }

func (zipkinWire) encode(td ptrace.Traces) ([]byte, error) {
	spans, err := zipkinv2.FromTranslator{}.FromTraces(td)
	if err != nil {
		return nil, err
	}
	return json.Marshal(spans)
}

func (zipkinWire) decode(req []byte) (decoded, error) {
	var spans zipkinRequest
	if err := json.Unmarshal(req, &spans); err != nil {
		return nil, err
	}
	return spans, nil
}

func (zipkinWire) appendID(dst []byte, id uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return hex.AppendEncode(dst, b[:])
}

// appendTime writes a time in as many digits as it takes, so a time can
// be overwritten in place only by one of as many digits: see
// template.fits.
func (zipkinWire) appendTime(dst []byte, t int64) []byte {
	return strconv.AppendInt(dst, t, 10)
}

func (zipkinWire) unit() time.Duration { return time.Microsecond }
func (zipkinWire) endTimes() bool      { return false }
func (zipkinWire) parentRefs() int     { return 0 }

type zipkinRequest []zipkinmodel.SpanModel

func (r zipkinRequest) stamps() ([]stamp, error) {
	out := make([]stamp, len(r))
	for i, s := range r {
		out[i] = stamp{
			trace: traceID(s.TraceID.High, s.TraceID.Low),
			span:  uint64(s.ID),
			start: s.Timestamp.UnixNano(),
			end:   s.Timestamp.Add(s.Duration).UnixNano(),
		}
		if s.ParentID != nil {
			out[i].parent = uint64(*s.ParentID)
		}
	}
	return out, nil
}

func (r zipkinRequest) restamp(st []stamp) {
	for i, v := range st {
		s := &r[i]
		s.TraceID.High, s.TraceID.Low = traceHalves(v.trace)
		s.ID = zipkinmodel.ID(v.span)
		s.ParentID = nil
		if v.parent != 0 {
			p := zipkinmodel.ID(v.parent)
			s.ParentID = &p
		}
		s.Timestamp = time.Unix(0, v.start)
		s.Duration = time.Duration(v.end - v.start)
	}
}

func (r zipkinRequest) encode() ([]byte, error) { return json.Marshal([]zipkinmodel.SpanModel(r)) }
