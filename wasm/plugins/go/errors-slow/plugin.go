package main

import (
	"errors"
	"math"
	"strconv"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/config"
	"github.com/tracelake/tracelake/wasm/sdk/probability"
)

// Configuration, per instance (each WebAssembly instance has its own
// memory).
var (
	// minDuration is the duration from which a span is slow, in
	// nanoseconds; 0 disables the rule.
	minDuration int64
	// rest samples the spans neither failed nor slow.
	rest probability.Sampler
)

// configure reads {"min_duration_ms": 500, "percent": 5}. Both are
// optional: without min_duration_ms (or with 0) only errors are kept for
// sure; without percent none of the rest is.
func configure(data []byte) error {
	var ms, percent float64
	if err := config.Decode(data, config.Fields{
		"min_duration_ms": config.Float(&ms),
		"percent":         config.Float(&percent),
	}); err != nil {
		return err
	}
	if !(ms >= 0 && ms*1e6 < math.MaxInt64) {
		return errors.New("min_duration_ms " + strconv.FormatFloat(ms, 'g', -1, 64) + " is not a duration")
	}
	if !(percent >= 0 && percent <= 100) {
		return errors.New("percent " + strconv.FormatFloat(percent, 'g', -1, 64) + " is not in [0, 100]")
	}
	s, err := probability.NewSampler(percent / 100)
	if err != nil {
		return errors.New("percent: " + err.Error())
	}
	minDuration, rest = int64(math.Round(ms*1e6)), s
	return nil
}

func decide(s sdk.Span) sdk.Decision {
	// Kept for what they are: with probability 1, so their trace state
	// (and any threshold in it) is left as it is.
	if s.StatusCode() == sdk.StatusError || minDuration > 0 && s.DurationNano() >= minDuration {
		return sdk.Keep
	}
	keep, ts, edit := rest.Sample(s.TraceID(), s.TraceState())
	if !keep {
		return sdk.Drop
	}
	if edit {
		s.SetTraceState(ts)
	}
	return sdk.Keep
}
