package sampling

import (
	"bytes"
	"testing"

	"github.com/gogo/protobuf/jsonpb"
	"github.com/gogo/protobuf/proto"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
)

// FuzzParseStrategies feeds the strategies file parser arbitrary input.
// It must never panic, and whatever it accepts must resolve to strategies
// that validate, that encode exactly as Jaeger encodes them on both
// endpoints, and that SDKs decode back to the same strategy. The seed
// corpus is in testdata/fuzz/FuzzParseStrategies.
func FuzzParseStrategies(f *testing.F) {
	for _, name := range []string{"strategies.json", "operations.json", "ratelimiting_default.json", "escaping.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStrategies(data)
		if err != nil {
			if s != nil {
				t.Fatalf("strategies and an error: %v", err)
			}
			return
		}
		check := func(what string, r *api_v2.SamplingStrategyResponse) {
			if err := checkResponse(r); err != nil {
				t.Fatalf("%s: invalid strategy accepted: %v", what, err)
			}
			if err := checkEncodings(r); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			for _, legacy := range []bool{false, true} {
				b, _ := encodeJSON(r, legacy)
				back := new(api_v2.SamplingStrategyResponse)
				if err := jsonpb.Unmarshal(bytes.NewReader(b), back); err != nil {
					t.Fatalf("%s: SDKs cannot decode %s: %v", what, b, err)
				}
				if !proto.Equal(back, r) {
					t.Fatalf("%s: %s decodes to %v, not %v", what, b, back, r)
				}
			}
		}
		check("default strategy", s.def)
		for service, r := range s.services {
			check("service "+service, r)
		}
	})
}
