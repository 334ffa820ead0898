package main

import (
	"errors"
	"math"
	"strconv"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/config"
	"github.com/tracelake/tracelake/wasm/sdk/probability"
)

// sampler is the configured sampler. Package state is per instance: each
// WebAssembly instance has its own memory.
var sampler probability.Sampler

// configure reads {"percent": 10}.
func configure(data []byte) error {
	percent := math.NaN() // unset: JSON has no NaN (-1 would make {"percent": -1} "required")
	if err := config.Decode(data, config.Fields{"percent": config.Float(&percent)}); err != nil {
		return err
	}
	if math.IsNaN(percent) {
		return errors.New(`percent is required, e.g. {"percent": 10}`)
	}
	if !(percent >= 0 && percent <= 100) {
		return errors.New("percent " + strconv.FormatFloat(percent, 'g', -1, 64) + " is not in [0, 100]")
	}
	s, err := probability.NewSampler(percent / 100)
	if err != nil {
		return errors.New("percent: " + err.Error())
	}
	sampler = s
	return nil
}

func decide(s sdk.Span) sdk.Decision {
	keep, ts, edit := sampler.Sample(s.TraceID(), s.TraceState())
	if !keep {
		return sdk.Drop
	}
	if edit {
		s.SetTraceState(ts)
	}
	return sdk.Keep
}
