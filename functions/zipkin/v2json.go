package zipkin

import (
	"errors"
	"fmt"
	"math"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
)

// Zipkin v2 JSON is read by goccy/go-json into v2Span, a plain mirror of
// the span of zipkin2-api.yaml, then checked and converted to zipkin-go's
// model, which the collector's translator converts as before. Why not
// json.Unmarshal into zipkin-go's model, as the translator's own
// unmarshaler does, and which quirks of it we dropped: see doc.go.

// v2Span is a span as Zipkin's v2 JSON writes it, before its values are
// checked. Field names are matched as encoding/json matches them (exactly,
// else case-insensitively); absent and null fields stay zero.
type v2Span struct {
	TraceID        string            `json:"traceId"`
	ID             string            `json:"id"`
	ParentID       string            `json:"parentId"`
	Name           string            `json:"name"`
	Kind           string            `json:"kind"`
	Timestamp      uint64            `json:"timestamp"` // µs since the epoch
	Duration       uint64            `json:"duration"`  // µs
	Debug          bool              `json:"debug"`
	Shared         bool              `json:"shared"`
	LocalEndpoint  *v2Endpoint       `json:"localEndpoint"`
	RemoteEndpoint *v2Endpoint       `json:"remoteEndpoint"`
	Annotations    []v2Annotation    `json:"annotations"`
	Tags           map[string]string `json:"tags"`
}

type v2Endpoint struct {
	ServiceName string `json:"serviceName"`
	IPv4        string `json:"ipv4"`
	IPv6        string `json:"ipv6"`
	Port        uint16 `json:"port"`
}

type v2Annotation struct {
	Timestamp uint64 `json:"timestamp"` // µs since the epoch
	Value     string `json:"value"`
}

// maxMicros is the last time, in µs since the epoch, that OTLP's
// nanoseconds (and time.Time.UnixNano, which the translator uses) can
// hold: 2262-04-11. Later times used to wrap around silently.
const maxMicros = math.MaxInt64 / 1000

// decodeV2Spans reads a Zipkin v2 JSON list of spans into zipkin-go's
// model, refusing what zipkin2-api.yaml does not allow in the fields the
// translator relies on. An error names the span and field.
func decodeV2Spans(body []byte) ([]*zipkinmodel.SpanModel, error) {
	// Room for the spans clients write in that many bytes (~300 each), so
	// that the list rarely grows: go-json decodes into its capacity.
	in := make([]v2Span, 0, min(len(body)/256+1, 1024))
	// Not DecodeNoCopyString: the strings go into the OTLP spans, which
	// outlive the body (the handler recycles its buffer once decoded).
	if err := gojson.UnmarshalOf(body, &in); err != nil {
		return nil, jsonError(err, len(body))
	}
	c := newV2Converter(in)
	out := make([]*zipkinmodel.SpanModel, len(in))
	for i := range in {
		s, err := c.span(&in[i])
		if err != nil {
			return nil, fmt.Errorf("span %d: %w", i, err)
		}
		out[i] = s
	}
	return out, nil
}

// v2Converter makes the model values of one request from slabs, one
// allocation per kind of value instead of one per value. Each value is
// taken off the front of its slab.
type v2Converter struct {
	spans       []zipkinmodel.SpanModel
	parentIDs   []zipkinmodel.ID
	endpoints   []zipkinmodel.Endpoint
	annotations []zipkinmodel.Annotation
	// A request's endpoints repeat a few addresses, so the last one
	// parsed is shared (the translator only reads them).
	lastIPText string
	lastIP     net.IP
}

func newV2Converter(in []v2Span) *v2Converter {
	var parentIDs, endpoints, annotations int
	for i := range in {
		s := &in[i]
		if s.ParentID != "" {
			parentIDs++
		}
		if s.LocalEndpoint != nil {
			endpoints++
		}
		if s.RemoteEndpoint != nil {
			endpoints++
		}
		annotations += len(s.Annotations)
	}
	return &v2Converter{
		spans:       make([]zipkinmodel.SpanModel, len(in)),
		parentIDs:   make([]zipkinmodel.ID, parentIDs),
		endpoints:   make([]zipkinmodel.Endpoint, endpoints),
		annotations: make([]zipkinmodel.Annotation, annotations),
	}
}

func (c *v2Converter) span(in *v2Span) (*zipkinmodel.SpanModel, error) {
	s := &c.spans[0]
	c.spans = c.spans[1:]
	var err error
	if len(in.TraceID) != 16 && len(in.TraceID) != 32 {
		return nil, badHex("traceId", in.TraceID, "16 or 32")
	}
	if s.TraceID, err = zipkinmodel.TraceIDFromHex(in.TraceID); err != nil {
		return nil, badHex("traceId", in.TraceID, "16 or 32")
	}
	if s.ID, err = parseSpanID("id", in.ID); err != nil {
		return nil, err
	}
	if s.ID == 0 {
		return nil, errors.New("id: must not be zero")
	}
	if in.ParentID != "" { // "" is absent, as zipkin-go has it
		s.ParentID = &c.parentIDs[0]
		c.parentIDs = c.parentIDs[1:]
		if *s.ParentID, err = parseSpanID("parentId", in.ParentID); err != nil {
			return nil, err
		}
	}
	switch k := zipkinmodel.Kind(in.Kind); k { // "" is absent
	case zipkinmodel.Undetermined, zipkinmodel.Client, zipkinmodel.Server, zipkinmodel.Producer, zipkinmodel.Consumer:
		s.Kind = k
	default:
		return nil, fmt.Errorf("kind: %q is not CLIENT, SERVER, PRODUCER or CONSUMER", in.Kind)
	}

	if in.Duration > maxMicros {
		return nil, fmt.Errorf("duration: %d µs is too long (over 292 years)", in.Duration)
	}
	if in.Timestamp > maxMicros-in.Duration {
		return nil, fmt.Errorf("timestamp: the span ends after 2262-04-11 (timestamp %d µs, duration %d µs)", in.Timestamp, in.Duration)
	}
	if in.Timestamp > 0 { // 0 is absent, as zipkin-go has it
		s.Timestamp = time.UnixMicro(int64(in.Timestamp))
	}
	s.Duration = time.Duration(in.Duration) * time.Microsecond

	if s.LocalEndpoint, err = c.endpoint(in.LocalEndpoint); err != nil {
		return nil, fmt.Errorf("localEndpoint.%w", err)
	}
	if s.RemoteEndpoint, err = c.endpoint(in.RemoteEndpoint); err != nil {
		return nil, fmt.Errorf("remoteEndpoint.%w", err)
	}

	if n := len(in.Annotations); n > 0 {
		s.Annotations = c.annotations[:n:n]
		c.annotations = c.annotations[n:]
		for j, a := range in.Annotations {
			// A null annotation is one without a timestamp. (It made
			// zipkin-go dereference nil.)
			if a.Timestamp == 0 {
				return nil, fmt.Errorf("annotations[%d].timestamp: missing or zero", j)
			}
			if a.Timestamp > maxMicros {
				return nil, fmt.Errorf("annotations[%d].timestamp: %d µs is after 2262-04-11", j, a.Timestamp)
			}
			s.Annotations[j] = zipkinmodel.Annotation{Timestamp: time.UnixMicro(int64(a.Timestamp)), Value: a.Value}
		}
	}

	s.Name = in.Name
	s.Debug = in.Debug
	s.Shared = in.Shared
	s.Tags = in.Tags
	return s, nil
}

// parseSpanID reads a span or parent ID as zipkin-go's ID.UnmarshalJSON
// does, allowing only what zipkin2-api.yaml does: hex digits, at most 16.
func parseSpanID(field, h string) (zipkinmodel.ID, error) {
	if len(h) > 16 {
		return 0, badHex(field, h, "1 to 16")
	}
	id, err := strconv.ParseUint(h, 16, 64)
	if err != nil {
		return 0, badHex(field, h, "1 to 16")
	}
	return zipkinmodel.ID(id), nil
}

func badHex(field, h, digits string) error {
	if h == "" {
		return fmt.Errorf("%s: missing", field)
	}
	return fmt.Errorf("%s: %q is not %s hex digits", field, h, digits)
}

// endpoint converts e, or returns nil if it is absent or empty
// (zipkin-go's Endpoint.Empty, as its UnmarshalJSON has it).
func (c *v2Converter) endpoint(e *v2Endpoint) (*zipkinmodel.Endpoint, error) {
	if e == nil {
		return nil, nil
	}
	m := &c.endpoints[0]
	c.endpoints = c.endpoints[1:]
	var err error
	if m.IPv4, err = c.ip(e.IPv4); err != nil {
		return nil, fmt.Errorf("ipv4: %w", err)
	}
	if m.IPv6, err = c.ip(e.IPv6); err != nil {
		return nil, fmt.Errorf("ipv6: %w", err)
	}
	m.ServiceName, m.Port = e.ServiceName, e.Port
	if m.Empty() {
		return nil, nil
	}
	return m, nil
}

// ip parses an address as encoding/json parsed zipkin-go's net.IP fields
// (either family in either field; "" is absent).
func (c *v2Converter) ip(text string) (net.IP, error) {
	if text == "" {
		return nil, nil
	}
	if text == c.lastIPText {
		return c.lastIP, nil
	}
	ip := net.ParseIP(text)
	if ip == nil {
		return nil, fmt.Errorf("%q is not an IP address", text)
	}
	c.lastIPText, c.lastIP = text, ip
	return ip, nil
}

// jsonError words go-json's complaints as ours are worded: where in the
// body of size n the syntax breaks, or the span and field of a value of
// the wrong type and what was wanted.
func jsonError(err error, n int) error {
	var se *gojson.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w (read %d of %d bytes)", err, se.Offset, n)
	}
	var te *gojson.UnmarshalTypeError
	if !errors.As(err, &te) || te.Type == nil {
		return err
	}
	want := "a string"
	switch te.Type.Kind() {
	case reflect.Bool:
		want = "true or false"
	case reflect.Uint16:
		want = "an integer from 0 to 65535"
	case reflect.Uint64:
		want = "a non-negative integer"
	case reflect.Struct, reflect.Map:
		want = "an object"
	case reflect.Slice:
		want = "a list"
	}
	span, field, _ := strings.Cut(te.Field, ".")
	switch {
	case span == "":
		return fmt.Errorf("got %s, want a list of spans", te.Value)
	case field == "":
		return fmt.Errorf("span %s: got %s, want an object", span, te.Value)
	}
	return fmt.Errorf("span %s: %s: got %s, want %s", span, field, te.Value, want)
}
