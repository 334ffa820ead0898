package plugintool

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	model "github.com/jaegertracing/jaeger-idl/model/v1"
	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Input formats ReadTraces recognises.
const (
	// FormatOTLP is OTLP/JSON: a TracesData or ExportTraceServiceRequest
	// (the same JSON), as the collector's file exporter and OTLP/HTTP with
	// JSON write it.
	FormatOTLP = "OTLP/JSON"
	// FormatAPIv3 is tracelake's (and Jaeger's) api_v3 answer,
	// {"result": <OTLP/JSON>}, from GET /api/v3/traces/{id}.
	FormatAPIv3 = "api_v3 JSON"
	// FormatJaegerUI is the Jaeger UI's JSON, {"data": [trace…]}, from GET
	// /api/traces/{id} or a search; it is translated to OTLP with the
	// collector's Jaeger translator, as tracelake's Jaeger receivers do.
	FormatJaegerUI = "Jaeger UI JSON"
)

// ReadTraces reads spans from r: one JSON document in one of the Format*
// formats, or several in a row (JSON lines, as the collector's file
// exporter writes), whose spans are concatenated in order. It names the
// format of the first document, and the count when there are several.
func ReadTraces(r io.Reader) (ptrace.Traces, string, error) {
	td := ptrace.NewTraces()
	dec := json.NewDecoder(bufio.NewReader(r))
	var format string
	docs := 0
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return td, "", fmt.Errorf("document %d: %w", docs+1, err)
		}
		docs++
		part, f, err := decodeDocument(raw)
		if err != nil {
			return td, "", fmt.Errorf("document %d: %w", docs, err)
		}
		if format == "" {
			format = f
		}
		part.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	if docs == 0 {
		return td, "", errors.New("no JSON document")
	}
	if docs > 1 {
		format = fmt.Sprintf("%s, %d documents", format, docs)
	}
	if td.SpanCount() == 0 {
		return td, format, errors.New("no spans")
	}
	return td, format, nil
}

// readTracesFile is ReadTraces on a file, or stdin for "-".
func readTracesFile(path string) (ptrace.Traces, string, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return ptrace.Traces{}, "", err
		}
		defer f.Close()
		r = f
	}
	td, format, err := ReadTraces(r)
	if err != nil {
		return td, "", fmt.Errorf("read %s: %w", path, err)
	}
	return td, format, nil
}

func decodeDocument(raw json.RawMessage) (ptrace.Traces, string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return ptrace.Traces{}, "", fmt.Errorf("not a JSON object: %w", err)
	}
	_, camel := top["resourceSpans"]
	_, snake := top["resource_spans"]
	switch {
	case camel || snake:
		td, err := unmarshalOTLP(raw)
		return td, FormatOTLP, err
	case has(top, "result"):
		td, err := unmarshalOTLP(top["result"])
		return td, FormatAPIv3, err
	case has(top, "data"):
		if errs := top["errors"]; !isJSONNull(errs) {
			return ptrace.Traces{}, FormatJaegerUI, fmt.Errorf("a Jaeger API error answer: %s", errs)
		}
		td, err := jaegerUIToTraces(top["data"])
		if err != nil {
			err = fmt.Errorf("%s: %w", FormatJaegerUI, err)
		}
		return td, FormatJaegerUI, err
	case len(top) == 0:
		return ptrace.NewTraces(), FormatOTLP, nil
	}
	return ptrace.Traces{}, "", errors.New(`not a format this tool reads: want OTLP/JSON ("resourceSpans"), an api_v3 answer ("result") or Jaeger UI JSON ("data")`)
}

func unmarshalOTLP(raw []byte) (ptrace.Traces, error) {
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(raw)
	if err != nil {
		return td, fmt.Errorf("OTLP/JSON: %w", err)
	}
	return td, nil
}

// The Jaeger UI's JSON model (Jaeger's internal/uimodel), as far as spans
// need it.
type (
	uiTrace struct {
		TraceID   string               `json:"traceID"`
		Spans     []uiSpan             `json:"spans"`
		Processes map[string]uiProcess `json:"processes"`
	}
	uiSpan struct {
		TraceID       string        `json:"traceID"`
		SpanID        string        `json:"spanID"`
		Flags         uint32        `json:"flags"`
		OperationName string        `json:"operationName"`
		References    []uiReference `json:"references"`
		StartTime     int64         `json:"startTime"` // µs since the Unix epoch
		Duration      int64         `json:"duration"`  // µs
		Tags          []uiKeyValue  `json:"tags"`
		Logs          []uiLog       `json:"logs"`
		ProcessID     string        `json:"processID"`
		Process       *uiProcess    `json:"process"`
	}
	uiReference struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	}
	uiProcess struct {
		ServiceName string       `json:"serviceName"`
		Tags        []uiKeyValue `json:"tags"`
	}
	uiLog struct {
		Timestamp int64        `json:"timestamp"`
		Fields    []uiKeyValue `json:"fields"`
	}
	uiKeyValue struct {
		Key   string          `json:"key"`
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	}
)

// jaegerUIToTraces converts the Jaeger UI's traces to Jaeger's model, one
// batch per trace and process in order of first appearance, and each batch
// to OTLP with the collector's translator, so resources and spans keep the
// order of the input.
func jaegerUIToTraces(data json.RawMessage) (ptrace.Traces, error) {
	var traces []uiTrace
	if err := json.Unmarshal(data, &traces); err != nil {
		return ptrace.Traces{}, err
	}
	td := ptrace.NewTraces()
	for ti, t := range traces {
		procs := map[string]*model.Process{}
		var order []string
		batches := map[string]*model.Batch{}
		for si, s := range t.Spans {
			span, err := s.model()
			if err != nil {
				return td, fmt.Errorf("trace %d, span %d: %w", ti, si, err)
			}
			pid := s.ProcessID
			up, ok := t.Processes[pid]
			if s.Process != nil {
				up, ok, pid = *s.Process, true, "span "+strconv.Itoa(si)
			}
			if !ok {
				return td, fmt.Errorf("trace %d, span %d: process %q is not in the trace's processes", ti, si, s.ProcessID)
			}
			if procs[pid] == nil {
				tags, err := modelKeyValues(up.Tags)
				if err != nil {
					return td, fmt.Errorf("trace %d, process %s: %w", ti, pid, err)
				}
				procs[pid] = model.NewProcess(up.ServiceName, tags)
				batches[pid] = &model.Batch{Process: procs[pid]}
				order = append(order, pid)
			}
			batches[pid].Spans = append(batches[pid].Spans, span)
		}
		for _, pid := range order {
			part, err := jaegertranslator.ProtoToTraces([]*model.Batch{batches[pid]})
			if err != nil {
				return td, fmt.Errorf("trace %d: %w", ti, err)
			}
			part.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		}
	}
	return td, nil
}

func (s uiSpan) model() (*model.Span, error) {
	tid, err := model.TraceIDFromString(s.TraceID)
	if err != nil {
		return nil, fmt.Errorf("traceID: %w", err)
	}
	sid, err := model.SpanIDFromString(s.SpanID)
	if err != nil {
		return nil, fmt.Errorf("spanID: %w", err)
	}
	span := &model.Span{
		TraceID:       tid,
		SpanID:        sid,
		OperationName: s.OperationName,
		Flags:         model.Flags(s.Flags),
		StartTime:     time.UnixMicro(s.StartTime).UTC(),
		Duration:      time.Duration(s.Duration) * time.Microsecond,
	}
	for _, r := range s.References {
		rt, err := model.TraceIDFromString(r.TraceID)
		if err != nil {
			return nil, fmt.Errorf("reference traceID: %w", err)
		}
		rs, err := model.SpanIDFromString(r.SpanID)
		if err != nil {
			return nil, fmt.Errorf("reference spanID: %w", err)
		}
		ref := model.SpanRef{TraceID: rt, SpanID: rs, RefType: model.SpanRefType_CHILD_OF}
		if r.RefType == "FOLLOWS_FROM" {
			ref.RefType = model.SpanRefType_FOLLOWS_FROM
		}
		span.References = append(span.References, ref)
	}
	if span.Tags, err = modelKeyValues(s.Tags); err != nil {
		return nil, err
	}
	for _, l := range s.Logs {
		fields, err := modelKeyValues(l.Fields)
		if err != nil {
			return nil, fmt.Errorf("log: %w", err)
		}
		span.Logs = append(span.Logs, model.Log{Timestamp: time.UnixMicro(l.Timestamp).UTC(), Fields: fields})
	}
	return span, nil
}

// modelKeyValues reads the UI's typed tags. Integers beyond JavaScript's
// safe range, and non-finite floats, come as strings (query/jaegerapi
// writes them so); binary values are base64.
func modelKeyValues(kvs []uiKeyValue) ([]model.KeyValue, error) {
	out := make([]model.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		text := string(kv.Value)
		if len(kv.Value) > 0 && kv.Value[0] == '"' {
			if err := json.Unmarshal(kv.Value, &text); err != nil {
				return nil, fmt.Errorf("tag %q: %w", kv.Key, err)
			}
		}
		var err error
		switch strings.ToLower(kv.Type) {
		case "string":
			out = append(out, model.String(kv.Key, text))
		case "bool":
			var b bool
			b, err = strconv.ParseBool(text)
			out = append(out, model.Bool(kv.Key, b))
		case "int64":
			var i int64
			i, err = strconv.ParseInt(text, 10, 64)
			out = append(out, model.Int64(kv.Key, i))
		case "float64":
			var f float64
			f, err = strconv.ParseFloat(text, 64)
			out = append(out, model.Float64(kv.Key, f))
		case "binary":
			var b []byte
			b, err = base64.StdEncoding.DecodeString(text)
			out = append(out, model.Binary(kv.Key, b))
		default:
			err = fmt.Errorf("unknown type %q", kv.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("tag %q: %w", kv.Key, err)
		}
	}
	return out, nil
}

func has(m map[string]json.RawMessage, key string) bool {
	_, ok := m[key]
	return ok
}

// isJSONNull reports whether raw is JSON null (or nothing).
func isJSONNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}
