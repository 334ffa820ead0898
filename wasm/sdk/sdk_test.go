package sdk_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tracelake/tracelake/wasm/abi"
	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/sdktest"
)

var (
	tid  = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	sid  = [8]byte{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8}
	psid = [8]byte{0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8}
)

// testBatch has two resources and three spans exercising every field and
// attribute type.
func testBatch() sdktest.Batch {
	return sdktest.Batch{
		NowUnixNano: 1_700_000_000_123_456_789,
		Resources: []sdktest.Resource{
			{Service: "checkout", Attrs: []sdktest.Attr{
				{Key: "service.name", Value: sdktest.Str("checkout")},
				{Key: "host.cpus", Value: sdktest.Int(8)},
			}},
			{Service: "", Attrs: nil},
		},
		Spans: []sdktest.Span{
			{
				TraceID: tid, SpanID: sid, ParentSpanID: psid,
				Name: "GET /cart", TraceState: "ot=th:8,vendor=x",
				StartUnixNano: 1_700_000_000_000_000_000, DurationNano: 1_500_000,
				Kind: sdk.KindServer, Status: sdk.StatusError, Resource: 0,
				Events: 3, Flags: 0x301,
				Attrs: []sdktest.Attr{
					{Key: "http.route", Value: sdktest.Str("/cart")},
					{Key: "http.status_code", Value: sdktest.Int(-503)},
					{Key: "ratio", Value: sdktest.Double(0.25)},
					{Key: "cached", Value: sdktest.Bool(true)},
					{Key: "blob", Value: sdktest.Bytes([]byte{0, 1, 0xff})},
					{Key: "nothing", Value: sdktest.Empty()},
					{Key: "tags", Value: sdktest.Array(sdktest.Str("a"), sdktest.Int(1<<40), sdktest.Bool(false),
						sdktest.Double(-1.5), sdktest.Empty(), sdktest.Bytes([]byte("hi")),
						sdktest.Array(sdktest.Int(-1)), sdktest.Map(sdktest.Attr{Key: "k", Value: sdktest.Str("v")}))},
					{Key: "m", Value: sdktest.Map(
						sdktest.Attr{Key: "x", Value: sdktest.Int(1)},
						sdktest.Attr{Key: "q\"", Value: sdktest.Str("line\nbreak")},
						sdktest.Attr{Key: "x", Value: sdktest.Str("dup")})},
					{Key: "http.route", Value: sdktest.Str("second")},
				},
			},
			{
				TraceID: tid, SpanID: psid, Name: "root", Resource: 1,
				Kind: sdk.KindClient, Status: sdk.StatusOK, DurationNano: -5,
			},
			{Name: "", Resource: 0, Kind: sdk.KindConsumer},
		},
	}
}

func encode(t testing.TB, b sdktest.Batch, f sdk.Feature) []byte {
	t.Helper()
	b.Contents = f
	return b.Encode()
}

func TestSpanAccessors(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		b := testBatch()
		b.ReverseSections = reverse
		var got []string
		var now int64
		sdk.Features(sdk.SpanAttributes | sdk.ResourceAttributes)
		sdk.HandleBatch(func(b *sdk.Batch) error {
			now = b.NowUnixNano()
			if b.Len() != 3 {
				t.Fatalf("Len = %d", b.Len())
			}
			if !b.Has(sdk.SpanAttributes | sdk.ResourceAttributes) {
				t.Error("batch lacks attributes")
			}
			s := b.Span(0)
			if s.Index() != 0 || s.Batch() != b {
				t.Error("Index/Batch")
			}
			if s.TraceID() != tid || s.SpanID() != sid || s.ParentSpanID() != psid || s.IsRoot() {
				t.Errorf("ids: %x %x %x root=%v", s.TraceID(), s.SpanID(), s.ParentSpanID(), s.IsRoot())
			}
			check := func(name string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			check("Name", s.Name(), "GET /cart")
			check("TraceState", s.TraceState(), "ot=th:8,vendor=x")
			check("Service", s.Service(), "checkout")
			check("Kind", s.Kind(), sdk.KindServer)
			check("StatusCode", s.StatusCode(), sdk.StatusError)
			check("StartUnixNano", s.StartUnixNano(), int64(1_700_000_000_000_000_000))
			check("DurationNano", s.DurationNano(), int64(1_500_000))
			check("EventCount", s.EventCount(), 3)
			check("Flags", s.Flags(), uint32(0x301))
			check("ResourceIndex", s.ResourceIndex(), 0)
			check("AttrCount", s.AttrCount(), 9)
			check("ResourceAttrCount", s.ResourceAttrCount(), 2)

			s1 := b.Span(1)
			check("root", s1.IsRoot(), true)
			check("root Service", s1.Service(), "")
			check("root TraceState", s1.TraceState(), "")
			check("root DurationNano", s1.DurationNano(), int64(-5))
			check("root AttrCount", s1.AttrCount(), 0)
			check("root ResourceAttrCount", s1.ResourceAttrCount(), 0)
			check("root ResourceIndex", s1.ResourceIndex(), 1)
			check("root Kind", s1.Kind(), sdk.KindClient)
			if _, ok := s1.Attr("http.route"); ok {
				t.Error("span 1 has no attributes")
			}
			s2 := b.Span(2)
			check("empty Name", s2.Name(), "")
			check("s2 Service", s2.Service(), "checkout")

			for k, v := range s.Attrs() {
				got = append(got, k+"="+v.Type().String()+":"+v.AsString())
			}
			for i := range s.ResourceAttrCount() {
				k, v := s.ResourceAttrAt(i)
				got = append(got, "resource "+k+"="+v.AsString())
			}
			for k, v := range s.ResourceAttrs() {
				got = append(got, "resource iter "+k+"="+v.AsString())
			}
			k, v := s.AttrAt(8)
			got = append(got, "at 8: "+k+"="+v.Str())
			return nil
		})
		if _, err := sdktest.Run(b); err != nil {
			t.Fatal(err)
		}
		if now != 1_700_000_000_123_456_789 {
			t.Errorf("NowUnixNano = %d", now)
		}
		want := []string{
			"http.route=string:/cart",
			"http.status_code=int:-503",
			"ratio=double:0.25",
			"cached=bool:true",
			"blob=bytes:AAH/",
			"nothing=empty:",
			`tags=array:["a",1099511627776,false,-1.5,null,"aGk=",[-1],{"k":"v"}]`,
			`m=map:{"x":1,"q\"":"line\nbreak","x":"dup"}`,
			"http.route=string:second",
			"resource service.name=checkout",
			"resource host.cpus=8",
			"resource iter service.name=checkout",
			"resource iter host.cpus=8",
			"at 8: http.route=second",
		}
		if !slices.Equal(got, want) {
			t.Errorf("reverse=%v attributes:\n got %q\nwant %q", reverse, got, want)
		}
	}
}

func TestValues(t *testing.T) {
	sdk.Features(sdk.SpanAttributes | sdk.ResourceAttributes)
	sdk.Handle(func(s sdk.Span) sdk.Decision {
		if s.Index() != 0 {
			return sdk.Keep
		}
		get := func(k string) sdk.Value {
			v, ok := s.Attr(k)
			if !ok {
				t.Fatalf("no attribute %q", k)
			}
			return v
		}
		// The first of duplicate keys wins.
		if v := get("http.route"); v.Str() != "/cart" || v.Len() != 5 || v.Int() != 0 || v.Bytes() != nil {
			t.Errorf("http.route = %q (len %d)", v.Str(), v.Len())
		}
		if v := get("http.status_code"); v.Int() != -503 || v.Str() != "" || v.Double() != 0 || v.Bool() {
			t.Errorf("int = %d", v.Int())
		}
		if v := get("ratio"); v.Double() != 0.25 || v.Int() != 0 {
			t.Errorf("double = %v", v.Double())
		}
		if v := get("cached"); !v.Bool() {
			t.Error("bool")
		}
		if v := get("blob"); !bytes.Equal(v.Bytes(), []byte{0, 1, 0xff}) || v.Len() != 3 || v.Str() != "" {
			t.Errorf("bytes = %x", v.Bytes())
		}
		if v := get("nothing"); v.Type() != sdk.TypeEmpty || v.AsString() != "" || v.Len() != 0 {
			t.Error("empty")
		}
		tags := get("tags")
		if tags.Len() != 8 {
			t.Errorf("array Len = %d", tags.Len())
		}
		var types []sdk.ValueType
		for e := range tags.Items() {
			types = append(types, e.Type())
			switch e.Type() {
			case sdk.TypeString:
				if e.Str() != "a" {
					t.Errorf("array string %q", e.Str())
				}
			case sdk.TypeInt:
				if e.Int() != 1<<40 {
					t.Errorf("array int %d", e.Int())
				}
			case sdk.TypeDouble:
				if e.Double() != -1.5 {
					t.Errorf("array double %v", e.Double())
				}
			case sdk.TypeBytes:
				if string(e.Bytes()) != "hi" {
					t.Errorf("array bytes %q", e.Bytes())
				}
			case sdk.TypeArray:
				for x := range e.Items() {
					if x.Int() != -1 {
						t.Errorf("nested array %d", x.Int())
					}
				}
			case sdk.TypeMap:
				if e.Len() != 1 {
					t.Errorf("nested map Len %d", e.Len())
				}
			}
		}
		wantTypes := []sdk.ValueType{sdk.TypeString, sdk.TypeInt, sdk.TypeBool, sdk.TypeDouble, sdk.TypeEmpty,
			sdk.TypeBytes, sdk.TypeArray, sdk.TypeMap}
		if !slices.Equal(types, wantTypes) {
			t.Errorf("array element types %v, want %v", types, wantTypes)
		}
		// Stopping early works.
		for range tags.Items() {
			break
		}
		m := get("m")
		var keys []string
		for k, e := range m.Entries() {
			keys = append(keys, k+"="+e.AsString())
		}
		if want := []string{"x=1", "q\"=line\nbreak", "x=dup"}; !slices.Equal(keys, want) {
			t.Errorf("map entries %q, want %q", keys, want)
		}
		if m.Len() != 3 {
			t.Errorf("map Len %d", m.Len())
		}
		for range m.Items() {
			t.Error("Items on a map")
		}
		for range tags.Entries() {
			t.Error("Entries on an array")
		}
		if _, ok := s.Attr("absent"); ok {
			t.Error("absent attribute found")
		}
		if v, ok := s.ResourceAttr("host.cpus"); !ok || v.Int() != 8 {
			t.Errorf("resource attribute = %v, %v", v.Int(), ok)
		}
		return sdk.Keep
	})
	if _, err := sdktest.Run(testBatch()); err != nil {
		t.Fatal(err)
	}
}

func TestDecisionsAndEdits(t *testing.T) {
	sdk.Features(0)
	sdk.Handle(func(s sdk.Span) sdk.Decision {
		switch s.Index() {
		case 0:
			s.SetAttr("http.route", s.Name()) // a value pointing into the batch
			s.DeleteAttr("secret")
			return sdk.Keep
		case 1:
			return sdk.Drop
		}
		s.SetTraceState("ot=th:c")
		s.SetAttr("k", "")
		return sdk.Keep
	})
	b := testBatch()
	buf := encode(t, b, 0)
	// Decisions the host did not zero are overwritten all the same.
	dec := binary.LittleEndian.Uint32(buf[abi.HdrDecisions:])
	buf[dec], buf[dec+1], buf[dec+2] = 1, 0, 1
	res, err := sdktest.RunEncoded(buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := []sdk.Decision{sdk.Keep, sdk.Drop, sdk.Keep}; !slices.Equal(res.Decisions, want) {
		t.Errorf("decisions %v, want %v", res.Decisions, want)
	}
	if want := []int{0, 2}; !slices.Equal(res.Kept(), want) {
		t.Errorf("kept %v", res.Kept())
	}
	want := []sdktest.Edit{
		{Span: 0, Op: sdktest.OpSetAttr, Key: "http.route", Value: "GET /cart"},
		{Span: 0, Op: sdktest.OpDeleteAttr, Key: "secret"},
		{Span: 2, Op: sdktest.OpSetTraceState, Value: "ot=th:c"},
		{Span: 2, Op: sdktest.OpSetAttr, Key: "k", Value: ""},
	}
	if !slices.Equal(res.Edits, want) {
		t.Errorf("edits\n got %+v\nwant %+v", res.Edits, want)
	}

	// The next batch starts with no edits.
	sdk.Handle(func(sdk.Span) sdk.Decision { return sdk.Keep })
	res, err = sdktest.Run(b)
	if err != nil || len(res.Edits) != 0 {
		t.Errorf("second batch: edits %v, err %v", res.Edits, err)
	}
}

func TestHandleBatch(t *testing.T) {
	sdk.Features(0)
	sdk.HandleBatch(func(b *sdk.Batch) error {
		for i := range b.Len() {
			if b.Span(i).Name() == "root" {
				b.Decide(i, sdk.Drop)
			}
		}
		if b.Decision(1) != sdk.Drop || b.Decision(0) != sdk.Keep {
			t.Error("Decision does not read back Decide")
		}
		b.Span(2).SetTraceState("x=y")
		return nil
	})
	buf := encode(t, testBatch(), 0)
	dec := binary.LittleEndian.Uint32(buf[abi.HdrDecisions:])
	buf[dec] = 1 // stale: HandleBatch starts from all-keep regardless
	res, err := sdktest.RunEncoded(buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := []sdk.Decision{sdk.Keep, sdk.Drop, sdk.Keep}; !slices.Equal(res.Decisions, want) {
		t.Errorf("decisions %v, want %v", res.Decisions, want)
	}
	if want := []sdktest.Edit{{Span: 2, Op: sdktest.OpSetTraceState, Value: "x=y"}}; !slices.Equal(res.Edits, want) {
		t.Errorf("edits %+v", res.Edits)
	}

	sdk.HandleBatch(func(b *sdk.Batch) error { return errString("rules are broken") })
	if _, err := sdktest.Run(testBatch()); err == nil || err.Error() != "rules are broken" {
		t.Errorf("HandleBatch error: %v", err)
	}

	sdk.HandleBatch(func(b *sdk.Batch) error {
		defer func() {
			if recover() == nil {
				t.Error("Span(Len()) did not panic")
			}
		}()
		b.Span(b.Len())
		return nil
	})
	if _, err := sdktest.Run(testBatch()); err != nil {
		t.Fatal(err)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestEmptyBatch(t *testing.T) {
	sdk.Handle(func(sdk.Span) sdk.Decision { t.Error("called for no span"); return sdk.Keep })
	res, err := sdktest.Run(sdktest.Batch{})
	if err != nil || len(res.Decisions) != 0 {
		t.Errorf("empty batch: %v %v", res, err)
	}
}

func TestUndeclaredAttributes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		declared sdk.Feature
		contents sdk.Feature
		read     func(sdk.Span)
		want     string
	}{
		{"span undeclared", 0, 0, func(s sdk.Span) { s.Attr("x") }, "without declaring them: call sdk.Features(sdk.SpanAttributes)"},
		{"span count undeclared", sdk.ResourceAttributes, sdk.ResourceAttributes, func(s sdk.Span) { s.AttrCount() }, "sdk.Features(sdk.SpanAttributes)"},
		{"resource undeclared", sdk.SpanAttributes, sdk.SpanAttributes, func(s sdk.Span) { s.ResourceAttr("x") }, "sdk.Features(sdk.ResourceAttributes)"},
		{"declared, host omitted", sdk.SpanAttributes, 0, func(s sdk.Span) { s.Attr("x") }, "declared sdk.SpanAttributes but the host wrote a batch without span attributes"},
		{"declared and present", sdk.SpanAttributes, sdk.SpanAttributes, func(s sdk.Span) { s.Attr("x") }, ""},
		{"not read", 0, 0, func(s sdk.Span) { s.Name() }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sdk.Features(tc.declared)
			sdk.Handle(func(s sdk.Span) sdk.Decision { tc.read(s); return sdk.Keep })
			_, err := sdktest.RunEncoded(encode(t, testBatch(), tc.contents))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBadBatches(t *testing.T) {
	sdk.Features(sdk.SpanAttributes | sdk.ResourceAttributes)
	sdk.Handle(func(s sdk.Span) sdk.Decision {
		s.Name()
		s.TraceState()
		s.Service()
		for range s.Attrs() {
		}
		for range s.ResourceAttrs() {
		}
		return sdk.Keep
	})
	good := encode(t, testBatch(), sdk.SpanAttributes|sdk.ResourceAttributes)
	spans := binary.LittleEndian.Uint32(good[abi.HdrSpansOffset:])
	attrs := binary.LittleEndian.Uint32(good[abi.HdrAttrsOffset:])
	res := binary.LittleEndian.Uint32(good[abi.HdrResourceOffset:])
	for _, tc := range []struct {
		name string
		edit func(b []byte) []byte
		want string
	}{
		{"short", func(b []byte) []byte { return b[:abi.HeaderSize-1] }, "shorter than its 64-byte header"},
		{"magic", func(b []byte) []byte { b[0] = 'X'; return b }, "batch magic is 0x31424c58, not 0x31424c54 (TLB1)"},
		{"version", func(b []byte) []byte { b[abi.HdrVersion] = 2; return b }, "batch is ABI version 2; this SDK reads version 1"},
		{"span count", func(b []byte) []byte { b[abi.HdrSpanCount] = 200; return b }, "the span section"},
		{"resource offset", func(b []byte) []byte { put(b, abi.HdrResourceOffset, 1<<31); return b }, "the resource section"},
		{"attribute count", func(b []byte) []byte { put(b, abi.HdrAttrCount, 1<<30); return b }, "the attribute section"},
		{"byte length", func(b []byte) []byte { put(b, abi.HdrBytesLen, 1<<20); return b }, "the byte section"},
		{"decisions", func(b []byte) []byte { put(b, abi.HdrDecisions, uint32(len(b)-2)); return b }, "the decision section"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-8] }, "overruns"},
		{"name", func(b []byte) []byte { put(b, int(spans)+abi.SpanNameLen, 1<<20); return b }, "span name outside the byte area"},
		{"name overflow", func(b []byte) []byte {
			put(b, int(spans)+abi.SpanNameOff, 0xffffffff)
			put(b, int(spans)+abi.SpanNameLen, 2)
			return b
		}, "span name outside"},
		{"trace state", func(b []byte) []byte { put(b, int(spans)+abi.SpanTraceStateOff, 1<<20); return b }, "trace state outside"},
		{"resource index", func(b []byte) []byte { put(b, int(spans)+abi.SpanResource, 2); return b }, "resource index out of range"},
		{"service", func(b []byte) []byte { put(b, int(res)+abi.ResServiceLen, 1<<20); return b }, "service name outside"},
		{"attribute range", func(b []byte) []byte { put(b, int(spans)+abi.SpanAttrsCount, 100); return b }, "attribute range outside"},
		{"resource attribute range", func(b []byte) []byte { put(b, int(res)+abi.ResAttrsFirst, 100); return b }, "attribute range outside"},
		{"attribute key", func(b []byte) []byte { put(b, int(attrs)+abi.AttrKeyOff, 1<<20); return b }, "attribute key outside"},
		{"attribute value", func(b []byte) []byte { put(b, int(attrs)+abi.AttrLen, 1<<20); return b }, "attribute value outside"},
		{"attribute type", func(b []byte) []byte { b[int(attrs)+abi.AttrType] = 9; return b }, "attribute of unknown type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sdktest.RunEncoded(tc.edit(bytes.Clone(good)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := sdktest.RunEncoded(bytes.Clone(good)); err != nil {
		t.Errorf("good batch: %v", err)
	}
}

func put(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }

func TestInit(t *testing.T) {
	sdk.OnInit(nil)
	for _, c := range []string{"", " {} ", "null\n"} {
		if err := sdktest.Init(c); err != nil {
			t.Errorf("no OnInit, config %q: %v", c, err)
		}
	}
	if err := sdktest.Init(`{"x":1}`); err == nil || !strings.Contains(err.Error(), "takes no configuration") {
		t.Errorf("no OnInit, config given: %v", err)
	}
	var got string
	sdk.OnInit(func(c []byte) error {
		got = string(c)
		if got == "bad" {
			return errString("bad config")
		}
		return nil
	})
	defer sdk.OnInit(nil)
	if err := sdktest.Init(`{"x":1}`); err != nil || got != `{"x":1}` {
		t.Errorf("OnInit got %q, %v", got, err)
	}
	if err := sdktest.Init("bad"); err == nil || err.Error() != "bad config" {
		t.Errorf("OnInit error: %v", err)
	}
}

// TestSampleBeforeInit: a plugin with OnInit samples nothing until its
// configuration has been accepted once; a later bad one changes nothing.
func TestSampleBeforeInit(t *testing.T) {
	sdk.Handle(func(sdk.Span) sdk.Decision { return sdk.Keep })
	sdk.OnInit(func(c []byte) error {
		if string(c) == "bad" {
			return errString("bad config")
		}
		return nil
	})
	defer sdk.OnInit(nil)
	if _, err := sdktest.Run(testBatch()); err == nil || !strings.Contains(err.Error(), "before a successful tracelake_init") {
		t.Errorf("before init: %v", err)
	}
	if err := sdktest.Init("bad"); err == nil {
		t.Error("bad config accepted")
	}
	if _, err := sdktest.Run(testBatch()); err == nil {
		t.Error("sampled after a failed init only")
	}
	if err := sdktest.Init("good"); err != nil {
		t.Fatal(err)
	}
	if err := sdktest.Init("bad"); err == nil {
		t.Error("bad config accepted")
	}
	if _, err := sdktest.Run(testBatch()); err != nil {
		t.Errorf("after a successful init: %v", err)
	}
}

func TestNoHandler(t *testing.T) {
	sdk.HandleBatch(nil)
	if _, err := sdktest.Run(testBatch()); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Errorf("no handler: %v", err)
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{sdk.Keep.String(), "keep"},
		{sdk.Drop.String(), "drop"},
		{sdk.Decision(7).String(), "Decision(7)"},
		{sdk.KindConsumer.String(), "consumer"},
		{sdk.Kind(9).String(), "Kind(9)"},
		{sdk.StatusError.String(), "error"},
		{sdk.StatusCode(3).String(), "StatusCode(3)"},
		{sdk.TypeMap.String(), "map"},
		{sdk.ValueType(8).String(), "ValueType(8)"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}

func TestAsStringDoubles(t *testing.T) {
	sdk.Features(sdk.SpanAttributes)
	var got []string
	sdk.Handle(func(s sdk.Span) sdk.Decision {
		for _, v := range s.Attrs() {
			got = append(got, v.AsString())
		}
		return sdk.Keep
	})
	_, err := sdktest.Run(sdktest.Batch{Spans: []sdktest.Span{{Attrs: []sdktest.Attr{
		{Key: "a", Value: sdktest.Double(1e21)},
		{Key: "b", Value: sdktest.Array(sdktest.Double(math.Inf(1)), sdktest.Str("\x01\xff"))},
		{Key: "c", Value: sdktest.Bool(false)},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1e+21", "[\"+Inf\",\"\\u0001\ufffd\"]", "false"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
