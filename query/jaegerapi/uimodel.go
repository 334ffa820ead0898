package jaegerapi

import (
	"cmp"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"

	model "github.com/jaegertracing/jaeger-idl/model/v1"
	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The Jaeger UI's JSON trace model, as Jaeger's internal/uimodel defines
// it. Field order and omitempty follow Jaeger so that answers are
// byte-comparable with Jaeger's for the same trace.

type uiTrace struct {
	TraceID   string               `json:"traceID"`
	Spans     []uiSpan             `json:"spans"`
	Processes map[string]uiProcess `json:"processes"`
	Warnings  []string             `json:"warnings"`
}

type uiSpan struct {
	TraceID       string        `json:"traceID"`
	SpanID        string        `json:"spanID"`
	Flags         uint32        `json:"flags,omitempty"`
	OperationName string        `json:"operationName"`
	References    []uiReference `json:"references"`
	StartTime     uint64        `json:"startTime"` // µs since the Unix epoch
	Duration      uint64        `json:"duration"`  // µs
	Tags          []uiKeyValue  `json:"tags"`
	Logs          []uiLog       `json:"logs"`
	ProcessID     string        `json:"processID"`
	Warnings      []string      `json:"warnings"`
}

type uiReference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

type uiProcess struct {
	ServiceName string       `json:"serviceName"`
	Tags        []uiKeyValue `json:"tags"`
}

type uiLog struct {
	Timestamp uint64       `json:"timestamp"`
	Fields    []uiKeyValue `json:"fields"`
}

type uiKeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// uiOperation is one entry of GET /api/operations and api_v3's operations.
type uiOperation struct {
	Name     string `json:"name"`
	SpanKind string `json:"spanKind"`
}

// jsSafeInteger bounds the integers a JavaScript number holds exactly;
// Jaeger renders int64 tags beyond it as strings so the UI shows them
// unrounded.
const jsSafeInteger = 1<<53 - 1

// toUITrace renders one trace in the Jaeger UI model. OTLP is first
// translated to the Jaeger model by the collector's translator, which owns
// the OTLP→Jaeger semantics (span.kind, otel.status_code, error,
// otel.scope.*, events as logs, w3c.tracestate, links as references). It
// reports false for a trace without spans.
//
// Spans are ordered by start time, then span ID; processes are numbered
// p1, p2, … in that order, identical processes (same service and the same
// tags in the same order) sharing one ID, as in Jaeger's processHashtable.
func toUITrace(td ptrace.Traces) (uiTrace, bool) {
	type spanProc struct {
		span *model.Span
		proc *model.Process
	}
	var spans []spanProc
	for _, b := range jaegertranslator.ProtoFromTraces(td) {
		for _, s := range b.Spans {
			spans = append(spans, spanProc{s, b.Process})
		}
	}
	if len(spans) == 0 {
		return uiTrace{}, false
	}
	slices.SortStableFunc(spans, func(x, y spanProc) int {
		if c := x.span.StartTime.Compare(y.span.StartTime); c != 0 {
			return c
		}
		return cmp.Compare(x.span.SpanID, y.span.SpanID)
	})

	procs := processTable{byHash: make(map[uint64][]int)}
	out := uiTrace{
		TraceID:   spans[0].span.TraceID.String(),
		Spans:     make([]uiSpan, len(spans)),
		Processes: make(map[string]uiProcess),
	}
	for i, sp := range spans {
		pid, isNew := procs.key(sp.proc)
		if isNew {
			out.Processes[pid] = uiProcess{ServiceName: sp.proc.ServiceName, Tags: toUIKeyValues(sp.proc.Tags)}
		}
		out.Spans[i] = toUISpan(sp.span, pid)
	}
	return out, true
}

func toUISpan(s *model.Span, processID string) uiSpan {
	refs := make([]uiReference, len(s.References))
	for i, r := range s.References {
		refType := "CHILD_OF"
		if r.RefType == model.SpanRefType_FOLLOWS_FROM {
			refType = "FOLLOWS_FROM"
		}
		refs[i] = uiReference{RefType: refType, TraceID: r.TraceID.String(), SpanID: r.SpanID.String()}
	}
	logs := make([]uiLog, len(s.Logs))
	for i, l := range s.Logs {
		logs[i] = uiLog{Timestamp: micros(l.Timestamp.UnixNano()), Fields: toUIKeyValues(l.Fields)}
	}
	return uiSpan{
		TraceID:       s.TraceID.String(),
		SpanID:        s.SpanID.String(),
		Flags:         uint32(s.Flags),
		OperationName: s.OperationName,
		References:    refs,
		StartTime:     micros(s.StartTime.UnixNano()),
		Duration:      micros(int64(s.Duration)),
		Tags:          toUIKeyValues(s.Tags),
		Logs:          logs,
		ProcessID:     processID,
		Warnings:      s.Warnings,
	}
}

// micros converts nanoseconds to µs, clamping negatives (an end before its
// start) to zero as Jaeger does.
func micros(ns int64) uint64 {
	return uint64(max(0, ns) / 1000)
}

func toUIKeyValues(kvs []model.KeyValue) []uiKeyValue {
	out := make([]uiKeyValue, len(kvs))
	for i, kv := range kvs {
		var v any
		switch kv.VType {
		case model.ValueType_STRING:
			v = kv.VStr
		case model.ValueType_BOOL:
			v = kv.VBool
		case model.ValueType_INT64:
			v = kv.VInt64
			if kv.VInt64 > jsSafeInteger || kv.VInt64 < -jsSafeInteger {
				v = strconv.FormatInt(kv.VInt64, 10)
			}
		case model.ValueType_FLOAT64:
			v = kv.VFloat64
			// JSON has no NaN or infinities; Jaeger fails the whole
			// response on them, tracelake shows them as text.
			if math.IsNaN(kv.VFloat64) || math.IsInf(kv.VFloat64, 0) {
				v = strconv.FormatFloat(kv.VFloat64, 'g', -1, 64)
			}
		case model.ValueType_BINARY:
			v = kv.VBinary // encoding/json writes base64, as Jaeger's JSON does
		default:
			v = kv.AsString()
		}
		out[i] = uiKeyValue{Key: kv.Key, Type: strings.ToLower(kv.VType.String()), Value: v}
	}
	return out
}

// processTable assigns p1, p2, … to distinct processes in order of first
// appearance.
type processTable struct {
	byHash map[uint64][]int // hash → indexes into procs
	procs  []*model.Process
}

func (t *processTable) key(p *model.Process) (id string, isNew bool) {
	h := fnv.New64a()
	_ = p.Hash(h) // writes to a hash never fail
	sum := h.Sum64()
	for _, i := range t.byHash[sum] {
		if t.procs[i].Equal(p) {
			return "p" + strconv.Itoa(i+1), false
		}
	}
	t.procs = append(t.procs, p)
	t.byHash[sum] = append(t.byHash[sum], len(t.procs)-1)
	return "p" + strconv.Itoa(len(t.procs)), true
}
