package host

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/wasm/abi"
)

// readAttrs decodes attribute records [first, first+count) of batch b
// into m, independently of the writer.
func readAttrs(t *testing.T, b []byte, first, count uint32, m pcommon.Map) {
	t.Helper()
	attrs, bytesOff := le.Uint32(b[abi.HdrAttrsOffset:]), le.Uint32(b[abi.HdrBytesOffset:])
	for a := first; a < first+count; a++ {
		r := b[attrs+a*abi.AttrSize:][:abi.AttrSize]
		key := string(b[bytesOff+le.Uint32(r[abi.AttrKeyOff:]):][:le.Uint32(r[abi.AttrKeyLen:])])
		val := le.Uint64(r[abi.AttrValue:])
		n := le.Uint32(r[abi.AttrLen:])
		raw := func() []byte { return b[bytesOff+uint32(val):][:n] }
		switch r[abi.AttrType] {
		case abi.TypeString:
			m.PutStr(key, string(raw()))
		case abi.TypeBool:
			m.PutBool(key, val == 1)
		case abi.TypeInt:
			m.PutInt(key, int64(val))
		case abi.TypeDouble:
			m.PutDouble(key, math.Float64frombits(val))
		case abi.TypeBytes:
			m.PutEmptyBytes(key).FromRaw(raw())
		case abi.TypeArray, abi.TypeMap:
			v := m.PutEmpty(key)
			rest := decodeValue(t, raw(), v)
			if len(rest) != 0 {
				t.Fatalf("attribute %s: %d bytes after the value", key, len(rest))
			}
		case abi.TypeEmpty:
			m.PutEmpty(key)
		default:
			t.Fatalf("attribute %s: type %d", key, r[abi.AttrType])
		}
	}
}

func decodeValue(t *testing.T, b []byte, v pcommon.Value) []byte {
	t.Helper()
	tag := b[0]
	b = b[1:]
	uv := func() uint64 {
		x, n := binary.Uvarint(b)
		b = b[n:]
		return x
	}
	switch tag {
	case abi.TypeString:
		n := uv()
		v.SetStr(string(b[:n]))
		b = b[n:]
	case abi.TypeBool:
		v.SetBool(b[0] == 1)
		b = b[1:]
	case abi.TypeInt:
		x, n := binary.Varint(b)
		v.SetInt(x)
		b = b[n:]
	case abi.TypeDouble:
		v.SetDouble(math.Float64frombits(le.Uint64(b)))
		b = b[8:]
	case abi.TypeBytes:
		n := uv()
		v.SetEmptyBytes().FromRaw(b[:n])
		b = b[n:]
	case abi.TypeArray:
		s := v.SetEmptySlice()
		for i := uv(); i > 0; i-- {
			b = decodeValue(t, b, s.AppendEmpty())
		}
	case abi.TypeMap:
		m := v.SetEmptyMap()
		for i := uv(); i > 0; i-- {
			n := uv()
			k := string(b[:n])
			b = decodeValue(t, b[n:], m.PutEmpty(k))
		}
	case abi.TypeEmpty:
	default:
		t.Fatalf("kv tag %d", tag)
	}
	return b
}

func richTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	for r := 0; r < 3; r++ {
		rs := td.ResourceSpans().AppendEmpty()
		if r != 2 { // the third resource has no service.name
			rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-ü-%d", r))
		}
		rs.Resource().Attributes().PutInt("pid", int64(100+r))
		for sc := 0; sc < 2; sc++ {
			ss := rs.ScopeSpans().AppendEmpty()
			for i := 0; i < 3; i++ {
				s := ss.Spans().AppendEmpty()
				s.SetTraceID(pcommon.TraceID{byte(r), byte(sc), byte(i), 0xff})
				s.SetSpanID(pcommon.SpanID{byte(r), byte(sc), byte(i), 1})
				if i > 0 {
					s.SetParentSpanID(pcommon.SpanID{byte(r), byte(sc), 0, 1})
				}
				s.SetName(fmt.Sprintf("op-%d-%d-%d", r, sc, i))
				s.SetKind(ptrace.SpanKind(i + 1))
				s.Status().SetCode(ptrace.StatusCode(i % 3))
				s.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i)))
				s.SetEndTimestamp(s.StartTimestamp() - 5) // negative durations pass through
				s.SetFlags(uint32(i))
				if i == 1 {
					s.TraceState().FromRaw("ot=th:c,vendor=1")
				}
				a := s.Attributes()
				a.PutStr("str", "välue")
				a.PutStr("", "")
				a.PutBool("bool", i%2 == 0)
				a.PutInt("int", -int64(i)<<40)
				a.PutDouble("double", math.Copysign(0, -1))
				a.PutEmptyBytes("bytes").FromRaw([]byte{0, 1, 2, 0xff})
				a.PutEmpty("empty")
				sl := a.PutEmptySlice("array")
				sl.AppendEmpty().SetStr("x")
				sl.AppendEmpty().SetInt(7)
				sl.AppendEmpty().SetEmptyMap().PutDouble("pi", 3.14)
				a.PutEmptyMap("map").PutEmptySlice("nested").AppendEmpty().SetBool(true)
				for e := 0; e < i; e++ {
					s.Events().AppendEmpty().SetName("e")
				}
			}
		}
	}
	return td
}

// TestBatchLayout writes a batch and reads every field back with an
// independent reader.
func TestBatchLayout(t *testing.T) {
	for _, features := range []uint32{0, abi.FeatureSpanAttributes, abi.FeatureResourceAttributes, abi.FeaturesAll} {
		td := richTraces()
		spans, resources := flatten(td, nil, nil)
		w := newBatchWriter()
		l := w.plan(spans, resources, features)
		b := make([]byte, l.total)
		for i := range b {
			b[i] = 0xAA // stale content must never show through
		}
		w.write(b, l, spans, resources, 1234)

		if le.Uint32(b[abi.HdrMagic:]) != abi.Magic || le.Uint32(b[abi.HdrVersion:]) != 1 || le.Uint64(b[abi.HdrNow:]) != 1234 {
			t.Fatal("bad header")
		}
		if n := le.Uint32(b[abi.HdrSpanCount:]); n != uint32(len(spans)) {
			t.Fatalf("span count %d", n)
		}
		if c := le.Uint32(b[abi.HdrContents:]); c != features {
			t.Fatalf("contents %b, want %b", c, features)
		}
		for _, off := range []int{abi.HdrSpansOffset, abi.HdrResourceOffset, abi.HdrAttrsOffset, abi.HdrBytesOffset, abi.HdrDecisions} {
			if le.Uint32(b[off:])%8 != 0 {
				t.Fatalf("section at header offset %d is not 8-byte aligned", off)
			}
		}
		dec := le.Uint32(b[abi.HdrDecisions:])
		for i := range spans {
			if b[dec+uint32(i)] != abi.Keep {
				t.Fatalf("decision %d starts as %d", i, b[dec+uint32(i)])
			}
		}
		spansOff, resOff, bytesOff := le.Uint32(b[abi.HdrSpansOffset:]), le.Uint32(b[abi.HdrResourceOffset:]), le.Uint32(b[abi.HdrBytesOffset:])
		str := func(off, n uint32) string { return string(b[bytesOff+off:][:n]) }
		for i, fs := range spans {
			s := fs.span
			r := b[spansOff+uint32(i)*abi.SpanSize:][:abi.SpanSize]
			tid, sid, pid := s.TraceID(), s.SpanID(), s.ParentSpanID()
			if string(r[:16]) != string(tid[:]) || string(r[16:24]) != string(sid[:]) || string(r[24:32]) != string(pid[:]) {
				t.Fatalf("span %d IDs", i)
			}
			if int64(le.Uint64(r[abi.SpanStart:])) != int64(s.StartTimestamp()) || int64(le.Uint64(r[abi.SpanDuration:])) != -5 {
				t.Fatalf("span %d times", i)
			}
			if str(le.Uint32(r[abi.SpanNameOff:]), le.Uint32(r[abi.SpanNameLen:])) != s.Name() ||
				str(le.Uint32(r[abi.SpanTraceStateOff:]), le.Uint32(r[abi.SpanTraceStateLen:])) != s.TraceState().AsRaw() {
				t.Fatalf("span %d strings", i)
			}
			if r[abi.SpanKind] != byte(s.Kind()) || r[abi.SpanStatus] != byte(s.Status().Code()) ||
				le.Uint32(r[abi.SpanEventCount:]) != uint32(s.Events().Len()) || le.Uint32(r[abi.SpanFlags:]) != s.Flags() {
				t.Fatalf("span %d fields", i)
			}
			got := pcommon.NewMap()
			readAttrs(t, b, le.Uint32(r[abi.SpanAttrsFirst:]), le.Uint32(r[abi.SpanAttrsCount:]), got)
			want := pcommon.NewMap()
			if features&abi.FeatureSpanAttributes != 0 {
				s.Attributes().CopyTo(want)
			}
			if !got.Equal(want) {
				t.Fatalf("span %d attributes (features %b):\n got %v\nwant %v", i, features, got.AsRaw(), want.AsRaw())
			}
			res := b[resOff+le.Uint32(r[abi.SpanResource:])*abi.ResourceSize:][:abi.ResourceSize]
			resAttrs := resources[fs.res].Attributes()
			svc, _ := resAttrs.Get("service.name")
			if str(le.Uint32(res[abi.ResServiceOff:]), le.Uint32(res[abi.ResServiceLen:])) != svc.Str() {
				t.Fatalf("span %d service", i)
			}
			gotRes := pcommon.NewMap()
			readAttrs(t, b, le.Uint32(res[abi.ResAttrsFirst:]), le.Uint32(res[abi.ResAttrsCount:]), gotRes)
			wantRes := pcommon.NewMap()
			if features&abi.FeatureResourceAttributes != 0 {
				resAttrs.CopyTo(wantRes)
			}
			if !gotRes.Equal(wantRes) {
				t.Fatalf("span %d resource attributes", i)
			}
		}
	}
}

// BenchmarkWriteBatch: the host's cost of writing 1,024 spans, without and
// with attributes.
func BenchmarkWriteBatch(b *testing.B) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "telemetrygen")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := 0; i < 1024; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{byte(i), byte(i >> 8), 1})
		s.SetSpanID(pcommon.SpanID{byte(i), 2})
		s.SetName("okey-dokey-0")
		s.Attributes().PutStr("network.peer.address", "1.2.3.4")
		s.Attributes().PutStr("peer.service", "telemetrygen-client")
	}
	for _, features := range []uint32{0, abi.FeaturesAll} {
		b.Run(fmt.Sprintf("features=%b", features), func(b *testing.B) {
			w := newBatchWriter()
			var spans []flatSpan
			var resources []pcommon.Resource
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				spans, resources = flatten(td, spans[:0], resources[:0])
				l := w.plan(spans, resources, features)
				if cap(buf) < int(l.total) {
					buf = make([]byte, l.total)
				}
				w.write(buf[:l.total], l, spans, resources, 0)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1024), "ns/span")
		})
	}
}

// Clients send duplicate attribute keys although OTLP forbids them (and
// decoding keeps them); an edit must leave exactly one (set) or none
// (delete), or a redaction would leave a copy of what it redacted behind.
func TestEditsOnDuplicateKeys(t *testing.T) {
	var attrJSON []string
	for _, kv := range [][2]string{{"email", "a@b.c"}, {"keep", "1"}, {"email", "d@e.f"}, {"token", "x"}, {"email", "g@h.i"}, {"token", "y"}} {
		attrJSON = append(attrJSON, fmt.Sprintf(`{"key":%q,"value":{"stringValue":%q}}`, kv[0], kv[1]))
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"s","attributes":[` + strings.Join(attrJSON, ",") + `]}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	if n := span.Attributes().Len(); n != 6 {
		t.Fatalf("decoded %d attributes, want the 6 sent (duplicates kept)", n)
	}
	edit{op: abi.OpSetAttr, key: "email", value: "[redacted]"}.apply(span)
	edit{op: abi.OpDeleteAttr, key: "token"}.apply(span)
	got := map[string][]string{}
	span.Attributes().Range(func(k string, v pcommon.Value) bool {
		got[k] = append(got[k], v.Str())
		return true
	})
	want := map[string][]string{"email": {"[redacted]"}, "keep": {"1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("attributes after edits %v, want %v", got, want)
	}
}
