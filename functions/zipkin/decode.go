package zipkin

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/zipkincore"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinv1"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinv2"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/proto"
)

// A format is one encoding of a span list that a route accepts.
type format struct {
	protocol  string
	mediaType string
	// what names the format in error messages: "the request body is not <what>".
	what   string
	decode func(body []byte) (ptrace.Traces, error)
	// misdirected, when set, tells a body in a sibling format from a
	// malformed one, as Zipkin's collector does: v1 and v2 JSON parse as
	// each other and would silently lose fields.
	misdirected func(body []byte) string
}

var (
	v2JSON = &format{
		protocol:    ProtocolV2JSON,
		mediaType:   "application/json",
		what:        "a Zipkin v2 JSON list of spans",
		decode:      decodeV2JSON,
		misdirected: looksLikeV1JSON,
	}
	v2Proto = &format{
		protocol:  ProtocolV2Proto,
		mediaType: "application/x-protobuf",
		what:      "a Zipkin v2 protobuf ListOfSpans (proto3, zipkin.proto)",
		decode:    decodeV2Proto,
	}
	v1JSON = &format{
		protocol:    ProtocolV1JSON,
		mediaType:   "application/json",
		what:        "a Zipkin v1 JSON list of spans",
		decode:      decodeV1JSON,
		misdirected: looksLikeV2JSON,
	}
	v1Thrift = &format{
		protocol:  ProtocolV1Thrift,
		mediaType: "application/x-thrift",
		what:      "a Zipkin v1 Thrift list of spans (TBinaryProtocol)",
		decode:    decodeV1Thrift,
	}
)

func looksLikeV1JSON(body []byte) string {
	if hasKey(body, "binaryAnnotations") {
		return "it has binaryAnnotations, so it looks like Zipkin v1 JSON; send that to " + PathV1
	}
	return ""
}

func looksLikeV2JSON(body []byte) string {
	for _, key := range []string{"localEndpoint", "remoteEndpoint", "tags"} {
		if hasKey(body, key) {
			return "it has " + key + ", so it looks like Zipkin v2 JSON; send that to " + PathV2
		}
	}
	return ""
}

// hasKey reports whether the JSON text has key as an object key anywhere
// (a string followed by a colon), without parsing it.
func hasKey(body []byte, key string) bool {
	quoted := []byte(`"` + key + `"`)
	for {
		i := bytes.Index(body, quoted)
		if i < 0 {
			return false
		}
		body = bytes.TrimLeft(body[i+len(quoted):], " \t\r\n")
		if len(body) > 0 && body[0] == ':' {
			return true
		}
	}
}

// The translators below are the collector-contrib ones. For v2 we call
// the two halves of zipkinv2's unmarshalers (decode to zipkin-go's
// SpanModel, then ToTranslator) ourselves, because between them we can
// keep what the translator would lose; see translateV2.

func decodeV2JSON(body []byte) (ptrace.Traces, error) {
	// go-json and our checks, not json.Unmarshal (what zipkinv2's JSON
	// unmarshaler uses), make the SpanModels: the same ones for valid
	// Zipkin JSON, for a fraction of the CPU (see v2json.go and doc.go).
	spans, err := decodeV2Spans(body)
	if err != nil {
		return ptrace.Traces{}, err
	}
	return translateV2(spans)
}

func decodeV2Proto(body []byte) (ptrace.Traces, error) {
	// zipkin_proto3.ParseSpans ignores each span's debug field (it takes
	// one flag for the whole request instead) and refuses 8-byte trace
	// IDs, which zipkin.proto allows and Brave and Envoy send for 64-bit
	// traces. So decode once to read debug and widen such IDs (as the
	// JSON path does: high bits zero), re-encoding only if we had to.
	var list zipkin_proto3.ListOfSpans
	if err := proto.Unmarshal(body, &list); err != nil {
		return ptrace.Traces{}, err
	}
	widened := false
	for _, s := range list.Spans {
		if len(s.TraceId) == 8 {
			s.TraceId = append(make([]byte, 8, 16), s.TraceId...)
			widened = true
		}
	}
	if widened {
		var err error
		if body, err = proto.Marshal(&list); err != nil {
			return ptrace.Traces{}, err
		}
	}
	spans, err := zipkin_proto3.ParseSpans(body, false)
	if err != nil {
		return ptrace.Traces{}, err
	}
	if len(spans) != len(list.Spans) {
		return ptrace.Traces{}, fmt.Errorf("decoded %d spans of %d", len(spans), len(list.Spans))
	}
	for i, s := range spans {
		s.Debug = list.Spans[i].GetDebug()
	}
	return translateV2(spans)
}

// fixupTag carries, through the translator, the index of what
// translateV2 must restore on a span. Clients' own tags of that name are
// removed first, so every occurrence is ours.
const fixupTag = "tracelake.zipkin.fixup"

type v2Fixup struct {
	debug, shared bool
	events        map[int]string // annotation index → original value
}

// translateV2 runs the contrib translator and restores what it drops or
// mangles:
//   - debug and shared, which it ignores, become AttrDebug and AttrShared;
//   - annotations containing '|': the translator reads them as its own
//     encoding of event attributes ("name|{json}|dropped"), so it cuts
//     "a|b" to "a" and fails the whole request on "a|b|c". Annotations
//     not in that encoding are hidden from it and put back as the event
//     name, verbatim.
//
// The translator regroups spans by service, so what to restore travels
// with each span as a tag (fixupTag) instead of by position.
func translateV2(spans []*zipkinmodel.SpanModel) (ptrace.Traces, error) {
	var fixes []v2Fixup
	for _, s := range spans {
		if s == nil {
			continue
		}
		delete(s.Tags, fixupTag)
		var events map[int]string
		for i := range s.Annotations {
			v := s.Annotations[i].Value
			if strings.IndexByte(v, '|') < 0 || isEncodedEvent(v) {
				continue
			}
			if events == nil {
				events = make(map[int]string)
			}
			events[i] = v
			s.Annotations[i].Value = ""
		}
		if !s.Debug && !s.Shared && events == nil {
			continue
		}
		if s.Tags == nil {
			s.Tags = make(map[string]string, 1)
		}
		s.Tags[fixupTag] = strconv.Itoa(len(fixes))
		fixes = append(fixes, v2Fixup{debug: s.Debug, shared: s.Shared, events: events})
	}

	td, err := zipkinv2.ToTranslator{ParseStringTags: false}.ToTraces(spans)
	if err != nil || len(fixes) == 0 {
		return td, err
	}
	forEachSpan(td, func(span ptrace.Span) {
		attrs := span.Attributes()
		v, ok := attrs.Get(fixupTag)
		if !ok {
			return
		}
		i, err := strconv.Atoi(v.Str())
		attrs.Remove(fixupTag)
		if err != nil || i < 0 || i >= len(fixes) {
			return
		}
		f := fixes[i]
		if f.debug {
			attrs.PutBool(AttrDebug, true)
		}
		if f.shared {
			attrs.PutBool(AttrShared, true)
		}
		evs := span.Events()
		for j, name := range f.events {
			if j < evs.Len() {
				evs.At(j).SetName(name)
			}
		}
	})
	return td, nil
}

// isEncodedEvent reports whether the translator reads v as an event with
// attributes ("name|{json}|dropped", what its own Zipkin exporter
// writes) without failing.
func isEncodedEvent(v string) bool {
	parts := strings.Split(v, "|")
	n := len(parts)
	if n < 3 {
		return false
	}
	var attrs map[string]any
	if json.Unmarshal([]byte(strings.Join(parts[1:n-1], "|")), &attrs) != nil {
		return false
	}
	_, err := strconv.ParseUint(parts[n-1], 10, 32)
	return err == nil
}

var (
	v1JSONUnmarshaler   = zipkinv1.NewJSONTracesUnmarshaler(false)
	v1ThriftUnmarshaler = zipkinv1.NewThriftTracesUnmarshaler()
)

// The v1 translators build spans straight from their own decoding, so
// debug, which they drop, is put back by matching trace and span IDs.

func decodeV1JSON(body []byte) (ptrace.Traces, error) {
	if err := findV1Nulls(body); err != nil {
		return ptrace.Traces{}, err
	}
	td, err := v1JSONUnmarshaler.UnmarshalTraces(body)
	if err != nil {
		// The translator takes only strings as binary annotation values,
		// but Zipkin's own v1 encoder (Brave, zipkin-reporter) writes the
		// address annotations as "sa": true, and v1 allows numbers.
		fixed, ok := stringifyBinaryAnnotationValues(body)
		if !ok {
			return td, err
		}
		if td, err = v1JSONUnmarshaler.UnmarshalTraces(fixed); err != nil {
			return td, err
		}
	}
	if !bytes.Contains(body, []byte(`"debug"`)) {
		return td, nil
	}
	var spans []struct {
		TraceID string `json:"traceId"`
		ID      string `json:"id"`
		Debug   bool   `json:"debug"`
	}
	if json.Unmarshal(body, &spans) != nil {
		return td, nil // the translator read it, so this cannot happen
	}
	debug := make(map[spanKey]bool)
	for _, s := range spans {
		if !s.Debug {
			continue
		}
		var k spanKey
		tid, err := hex.DecodeString(s.TraceID)
		if err != nil || (len(tid) != 8 && len(tid) != 16) || len(s.ID) != 16 {
			continue
		}
		copy(k.trace[16-len(tid):], tid)
		if _, err := hex.Decode(k.span[:], []byte(s.ID)); err != nil {
			continue
		}
		debug[k] = true
	}
	markDebug(td, debug)
	return td, nil
}

// findV1Nulls refuses what the v1 JSON translator panics on (a nil
// pointer dereference): a null span or a null binary annotation.
func findV1Nulls(body []byte) error {
	if !bytes.Contains(body, []byte("null")) {
		return nil
	}
	var spans []*struct {
		BinaryAnnotations []*struct{} `json:"binaryAnnotations"`
	}
	if json.Unmarshal(body, &spans) != nil {
		return nil // not JSON enough to reach the translator's bug; it will say why
	}
	for i, s := range spans {
		if s == nil {
			return fmt.Errorf("span %d is null", i)
		}
		for j, ba := range s.BinaryAnnotations {
			if ba == nil {
				return fmt.Errorf("span %d: binaryAnnotations[%d] is null", i, j)
			}
		}
	}
	return nil
}

// stringifyBinaryAnnotationValues rewrites a v1 JSON body with each
// boolean or number binary annotation value turned into its JSON text as
// a string (true → "true"), as Zipkin's v1 decoder reads them. It reports
// false when there was nothing to change.
func stringifyBinaryAnnotationValues(body []byte) ([]byte, bool) {
	var spans []map[string]json.RawMessage
	if json.Unmarshal(body, &spans) != nil {
		return nil, false
	}
	changed := false
	for _, span := range spans {
		raw, ok := span["binaryAnnotations"]
		if !ok {
			continue
		}
		var bas []map[string]json.RawMessage
		if json.Unmarshal(raw, &bas) != nil {
			continue
		}
		changedSpan := false
		for _, ba := range bas {
			v := bytes.TrimSpace(ba["value"])
			if len(v) == 0 || v[0] == '"' || v[0] == '{' || v[0] == '[' || string(v) == "null" {
				continue
			}
			ba["value"], _ = json.Marshal(string(v))
			changedSpan = true
		}
		if changedSpan {
			span["binaryAnnotations"], _ = json.Marshal(bas)
			changed = true
		}
	}
	if !changed {
		return nil, false
	}
	out, err := json.Marshal(spans)
	return out, err == nil
}

func decodeV1Thrift(body []byte) (ptrace.Traces, error) {
	// Read the spans ourselves first, with container sizes bounded by the
	// body: the translator's Thrift reader allows lists of up to 100 MiB
	// elements and the generated code preallocates them, so 13 bytes
	// claiming 10^8 annotations allocate 800 MB. Once this read succeeds,
	// every list in the body is backed by real bytes and the translator's
	// read of the same body is safe.
	spans, err := readThriftSpans(body)
	if err != nil {
		return ptrace.Traces{}, err
	}
	td, err := v1ThriftUnmarshaler.UnmarshalTraces(body)
	if err != nil {
		return td, err
	}
	debug := make(map[spanKey]bool)
	for _, s := range spans {
		if !s.Debug {
			continue
		}
		var k spanKey
		binary.BigEndian.PutUint64(k.trace[:8], uint64(s.GetTraceIDHigh()))
		binary.BigEndian.PutUint64(k.trace[8:], uint64(s.TraceID))
		binary.BigEndian.PutUint64(k.span[:], uint64(s.ID))
		debug[k] = true
	}
	markDebug(td, debug)
	return td, nil
}

// readThriftSpans decodes a TBinaryProtocol list of zipkincore spans as
// the translator does, but refuses any string or container larger than
// the body itself.
func readThriftSpans(body []byte) ([]*zipkincore.Span, error) {
	ctx := context.Background()
	cfg := &thrift.TConfiguration{MaxMessageSize: int32(min(len(body), math.MaxInt32))}
	buf := thrift.NewTMemoryBufferLen(len(body))
	buf.Write(body)
	p := thrift.NewTBinaryProtocolConf(buf, cfg)
	_, n, err := p.ReadListBegin(ctx)
	if err != nil {
		return nil, err
	}
	var spans []*zipkincore.Span
	for range n {
		s := &zipkincore.Span{}
		if err := s.Read(ctx, p); err != nil {
			return nil, err
		}
		spans = append(spans, s)
	}
	return spans, nil
}

type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

func markDebug(td ptrace.Traces, debug map[spanKey]bool) {
	if len(debug) == 0 {
		return
	}
	forEachSpan(td, func(s ptrace.Span) {
		if debug[spanKey{s.TraceID(), s.SpanID()}] {
			s.Attributes().PutBool(AttrDebug, true)
		}
	})
}

func forEachSpan(td ptrace.Traces, fn func(ptrace.Span)) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				fn(spans.At(k))
			}
		}
	}
}
