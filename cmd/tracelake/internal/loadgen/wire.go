package loadgen

import (
	"encoding/binary"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// A wire is an encoding of export requests as far as templates need to
// know it: how telemetrygen's traces are encoded, how an ID or a time is
// written (so it can be searched for and overwritten), and how a request
// decodes, with the format's own decoder, so a patch can be checked.
type wire interface {
	// name is the encoding, as the report names it.
	name() string
	encode(td ptrace.Traces) ([]byte, error)
	decode(req []byte) (decoded, error)
	// appendID appends a span ID, or one half of a trace ID, as requests
	// write it. Every ID is written in the same number of bytes.
	appendID(dst []byte, id uint64) []byte
	// appendTime appends a time, in units of unit since the Unix epoch, as
	// requests write it.
	appendTime(dst []byte, t int64) []byte
	// unit is the resolution of the times in requests.
	unit() time.Duration
	// endTimes is true when a span's end is written as a time, which moves
	// with the span, and false when it is written as a duration, which
	// does not.
	endTimes() bool
	// parentRefs is how many more times a child span names its parent, and
	// with it its trace, besides its own trace ID and parent ID fields
	// (Jaeger's CHILD_OF reference).
	parentRefs() int
}

// wireFor returns the encoding protocol sends.
func wireFor(protocol string) wire {
	switch protocol {
	case ProtocolZipkin:
		return zipkinWire{}
	case ProtocolJaegerThrift:
		return jaegerWire{}
	}
	return otlpWire{}
}

// A stamp is what a patch changes in a span: its IDs and its times (Unix
// nanoseconds). A root span's parent is 0.
type stamp struct {
	trace        [16]byte
	span, parent uint64
	start, end   int64
}

// decoded is a request decoded into its format's own types.
type decoded interface {
	// stamps returns the stamps of the request's spans, in order. It fails
	// when the request has another shape than a template's, or says one
	// thing twice and the copies disagree.
	stamps() ([]stamp, error)
	// restamp gives the spans the IDs and times in s, one per span in
	// order; only after stamps succeeded.
	restamp(s []stamp)
	encode() ([]byte, error)
}

// traceID joins the halves of a trace ID, the high half first as every
// format writes it in text.
func traceID(hi, lo uint64) [16]byte {
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], hi)
	binary.BigEndian.PutUint64(id[8:], lo)
	return id
}

func traceHalves(id [16]byte) (hi, lo uint64) {
	return binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])
}
