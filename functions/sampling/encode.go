package sampling

import (
	"encoding/json"
	"fmt"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
)

// The two JSON encodings Jaeger serves differ only in strategyType:
//
//   - GET /sampling answers api_v2 in proto JSON (Jaeger: gogo jsonpb with
//     EmitDefaults, then the null message fields removed), so strategyType
//     is the enum name and every scalar of operationSampling is present
//     even when 0. jaeger-client-go, OpenTelemetry's jaegerremote sampler
//     and most SDKs poll this path.
//   - GET / answers the Thrift SamplingStrategyResponse encoded by
//     encoding/json, with strategyType as the integer code Thrift 0.9.2
//     generated classes produce, for the oldest SDKs. The Thrift fields of
//     operationSampling are required, so they are always present too, and
//     perOperationStrategies is [] rather than null when empty.
//
// Everything else (field order, which fields are omitted, float and
// string formatting, HTML escaping) is the same in both, because both end
// in encoding/json; so one struct serves both. Tests compare every output
// byte for byte with Jaeger's own encoders.
type wireResponse struct {
	StrategyType          any                `json:"strategyType"`
	ProbabilisticSampling *wireProbabilistic `json:"probabilisticSampling,omitempty"`
	RateLimitingSampling  *wireRateLimiting  `json:"rateLimitingSampling,omitempty"`
	OperationSampling     *wirePerOperation  `json:"operationSampling,omitempty"`
}

type wireProbabilistic struct {
	SamplingRate float64 `json:"samplingRate"`
}

type wireRateLimiting struct {
	MaxTracesPerSecond int32 `json:"maxTracesPerSecond"`
}

type wirePerOperation struct {
	DefaultSamplingProbability       float64         `json:"defaultSamplingProbability"`
	DefaultLowerBoundTracesPerSecond float64         `json:"defaultLowerBoundTracesPerSecond"`
	PerOperationStrategies           []wireOperation `json:"perOperationStrategies"`
	DefaultUpperBoundTracesPerSecond float64         `json:"defaultUpperBoundTracesPerSecond"`
}

type wireOperation struct {
	Operation             string             `json:"operation"`
	ProbabilisticSampling *wireProbabilistic `json:"probabilisticSampling"`
}

// encodeJSON encodes r as Jaeger's /sampling endpoint does, or as its
// legacy / endpoint does when legacy is set.
func encodeJSON(r *api_v2.SamplingStrategyResponse, legacy bool) ([]byte, error) {
	if _, known := api_v2.SamplingStrategyType_name[int32(r.StrategyType)]; !known {
		return nil, fmt.Errorf("unknown strategy type %d", r.StrategyType)
	}
	w := wireResponse{StrategyType: r.StrategyType.String()}
	if legacy {
		w.StrategyType = int32(r.StrategyType)
	}
	if p := r.ProbabilisticSampling; p != nil {
		w.ProbabilisticSampling = &wireProbabilistic{SamplingRate: p.SamplingRate}
	}
	if rl := r.RateLimitingSampling; rl != nil {
		if legacy && rl.MaxTracesPerSecond > maxRateLimit {
			return nil, fmt.Errorf("maxTracesPerSecond %d does not fit the legacy endpoint's Thrift i16", rl.MaxTracesPerSecond)
		}
		w.RateLimitingSampling = &wireRateLimiting{MaxTracesPerSecond: rl.MaxTracesPerSecond}
	}
	if ops := r.OperationSampling; ops != nil {
		wo := &wirePerOperation{
			DefaultSamplingProbability:       ops.DefaultSamplingProbability,
			DefaultLowerBoundTracesPerSecond: ops.DefaultLowerBoundTracesPerSecond,
			PerOperationStrategies:           make([]wireOperation, len(ops.PerOperationStrategies)),
			DefaultUpperBoundTracesPerSecond: ops.DefaultUpperBoundTracesPerSecond,
		}
		for i, op := range ops.PerOperationStrategies {
			wo.PerOperationStrategies[i].Operation = op.Operation
			if p := op.ProbabilisticSampling; p != nil {
				wo.PerOperationStrategies[i].ProbabilisticSampling = &wireProbabilistic{SamplingRate: p.SamplingRate}
			}
		}
		w.OperationSampling = wo
	}
	return json.Marshal(w)
}
