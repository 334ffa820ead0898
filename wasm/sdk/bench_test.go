package sdk_test

import (
	"testing"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/sdktest"
)

// benchBatch is 1,024 spans shaped like telemetrygen's: eight per trace,
// two resources, four attributes each.
func benchBatch(contents sdk.Feature) []byte {
	var b sdktest.Batch
	b.Contents = contents
	b.Resources = []sdktest.Resource{
		{Service: "checkout", Attrs: []sdktest.Attr{{Key: "service.name", Value: sdktest.Str("checkout")}}},
		{Service: "cart", Attrs: []sdktest.Attr{{Key: "service.name", Value: sdktest.Str("cart")}}},
	}
	for i := range 1024 {
		var tid [16]byte
		tid[15], tid[14] = byte(i/8), byte(i/8>>8)
		b.Spans = append(b.Spans, sdktest.Span{
			TraceID: tid, Name: "GET /api/v1/items", DurationNano: int64(i) * 1e6,
			Resource: i % 2, Status: sdk.StatusCode(i % 3), Kind: sdk.KindServer,
			Attrs: []sdktest.Attr{
				{Key: "http.method", Value: sdktest.Str("GET")},
				{Key: "http.route", Value: sdktest.Str("/api/v1/items")},
				{Key: "url.path", Value: sdktest.Str("/api/v1/items?id=1")},
				{Key: "http.response.status_code", Value: sdktest.Int(200)},
			},
		})
	}
	return b.Encode()
}

// benchSample runs the registered handler over buf, reporting ns/span.
func benchSample(b *testing.B, buf []byte) {
	p := sdk.Registered()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Sample(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1024, "ns/span")
}

var sink int64

func BenchmarkHandle(b *testing.B) {
	sdk.Features(0)
	buf := benchBatch(0)
	b.Run("keep", func(b *testing.B) {
		sdk.Handle(func(sdk.Span) sdk.Decision { return sdk.Keep })
		benchSample(b, buf)
	})
	b.Run("fields", func(b *testing.B) {
		sdk.Handle(func(s sdk.Span) sdk.Decision {
			id := s.TraceID()
			sink += int64(id[15]) + s.DurationNano() + int64(len(s.Name())) + int64(len(s.TraceState()))
			if s.StatusCode() == sdk.StatusError || s.Kind() == sdk.KindClient {
				return sdk.Keep
			}
			return sdk.Drop
		})
		benchSample(b, buf)
	})
	b.Run("service", func(b *testing.B) {
		sdk.Handle(func(s sdk.Span) sdk.Decision {
			if s.Service() == "cart" {
				return sdk.Drop
			}
			return sdk.Keep
		})
		benchSample(b, buf)
	})
	b.Run("edit", func(b *testing.B) {
		sdk.Handle(func(s sdk.Span) sdk.Decision {
			s.SetTraceState("ot=th:e666")
			return sdk.Keep
		})
		benchSample(b, buf)
	})
}

func BenchmarkAttr(b *testing.B) {
	sdk.Features(sdk.SpanAttributes | sdk.ResourceAttributes)
	buf := benchBatch(sdk.SpanAttributes | sdk.ResourceAttributes)
	b.Run("present", func(b *testing.B) {
		sdk.Handle(func(s sdk.Span) sdk.Decision {
			if v, ok := s.Attr("url.path"); ok && v.Str() == "/health" {
				return sdk.Drop
			}
			return sdk.Keep
		})
		benchSample(b, buf)
	})
	b.Run("absent", func(b *testing.B) {
		sdk.Handle(func(s sdk.Span) sdk.Decision {
			if _, ok := s.Attr("synthetic"); ok {
				return sdk.Drop
			}
			return sdk.Keep
		})
		benchSample(b, buf)
	})
	b.Run("iterate", func(b *testing.B) {
		sdk.Handle(func(s sdk.Span) sdk.Decision {
			for i := range s.AttrCount() {
				k, v := s.AttrAt(i)
				sink += int64(len(k)) + int64(v.Len())
			}
			return sdk.Keep
		})
		benchSample(b, buf)
	})
	b.Run("resource", func(b *testing.B) {
		sdk.Handle(func(s sdk.Span) sdk.Decision {
			if v, ok := s.ResourceAttr("service.name"); ok && v.Str() == "cart" {
				return sdk.Drop
			}
			return sdk.Keep
		})
		benchSample(b, buf)
	})
}

func BenchmarkHandleBatch(b *testing.B) {
	sdk.Features(0)
	sdk.HandleBatch(func(batch *sdk.Batch) error {
		for i := range batch.Len() {
			if batch.Span(i).StatusCode() == sdk.StatusOK {
				batch.Decide(i, sdk.Drop)
			}
		}
		return nil
	})
	benchSample(b, benchBatch(0))
}
