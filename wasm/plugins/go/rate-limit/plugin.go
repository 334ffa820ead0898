package main

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/config"
)

// rate is a bucket's configuration.
type rate struct {
	perSecond float64 // tokens added per second
	burst     float64 // bucket size
}

// bucket is one service's token bucket.
type bucket struct {
	rate
	tokens float64
	last   int64 // now_unix_nano of the last refill
}

// refill adds the tokens earned since the last refill. A clock that goes
// backwards (batches made by different host threads) earns nothing.
func (b *bucket) refill(now int64) {
	if now > b.last {
		b.tokens = min(b.burst, b.tokens+b.perSecond*float64(now-b.last)/1e9)
		b.last = now
	}
}

// full reports whether the bucket would be full at now: then it is
// indistinguishable from a new bucket and can be forgotten.
func (b *bucket) full(now int64) bool {
	return b.tokens+b.perSecond*float64(max(0, now-b.last))/1e9 >= b.burst
}

// State, per instance: each WebAssembly instance has its own buckets.
var (
	defaultRate rate
	perService  map[string]rate
	buckets     = map[string]*bucket{}
	// byResource caches the bucket of each resource of the current
	// batch, so a batch costs one map lookup per resource, not per span.
	byResource []*bucket
	// sweepAt is the bucket count at which full buckets are forgotten.
	sweepAt = minSweep
)

const minSweep = 1024

// configure reads
//
//	{"spans_per_second": 100, "burst": 200,
//	 "per_service": {"checkout": 50, "cart": {"spans_per_second": 10, "burst": 40}}}
//
// burst defaults to one second's worth of spans.
func configure(data []byte) error {
	def := rate{perSecond: unset, burst: unset}
	overrides := map[string]rate{}
	err := config.Decode(data, config.Fields{
		"spans_per_second": config.Float(&def.perSecond),
		"burst":            config.Float(&def.burst),
		"per_service": func(v config.Value) error {
			members, err := v.Members()
			if err != nil {
				return err
			}
			for _, m := range members {
				r := rate{perSecond: unset, burst: unset}
				if m.Value.Kind() == config.KindNumber {
					r.perSecond, _ = m.Value.Float()
				} else if err := m.Value.Decode(config.Fields{
					"spans_per_second": config.Float(&r.perSecond),
					"burst":            config.Float(&r.burst),
				}); err != nil {
					return err
				}
				if r, err = r.resolve(); err != nil {
					return m.Value.Error(err.Error())
				}
				overrides[m.Key] = r
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	if math.IsNaN(def.perSecond) {
		return errors.New(`spans_per_second is required, e.g. {"spans_per_second": 100}`)
	}
	if def, err = def.resolve(); err != nil {
		return err
	}
	defaultRate, perService = def, overrides
	clear(buckets)
	return nil
}

// unset marks a number the configuration does not give (JSON has no NaN).
var unset = math.NaN()

// resolve validates r and fills in the default burst.
func (r rate) resolve() (rate, error) {
	if math.IsNaN(r.perSecond) {
		return r, errors.New("spans_per_second is required")
	}
	if !(r.perSecond >= 0) {
		return r, errors.New("spans_per_second " + strconv.FormatFloat(r.perSecond, 'g', -1, 64) + " is negative")
	}
	if math.IsNaN(r.burst) {
		r.burst = r.perSecond
	}
	if !(r.burst >= 1) && r.perSecond > 0 {
		return r, errors.New("burst " + strconv.FormatFloat(r.burst, 'g', -1, 64) + " is below 1: nothing could ever be kept")
	}
	return r, nil
}

// limit keeps each span if its service's bucket has a token.
func limit(b *sdk.Batch) error {
	now := b.NowUnixNano()
	byResource = slices.Grow(byResource[:0], b.ResourceCount())[:b.ResourceCount()] // all nil: cleared below
	for i := range b.Len() {
		s := b.Span(i)
		ri := s.ResourceIndex()
		var bk *bucket
		if ri < len(byResource) {
			bk = byResource[ri]
		}
		if bk == nil {
			bk = bucketOf(s.Service(), now)
			if ri < len(byResource) {
				byResource[ri] = bk
			}
		}
		if bk.tokens >= 1 {
			bk.tokens--
		} else {
			b.Decide(i, sdk.Drop)
		}
	}
	clear(byResource) // hold no buckets the map may forget
	return nil
}

// bucketOf returns service's bucket, refilled to now.
func bucketOf(service string, now int64) *bucket {
	if bk, ok := buckets[service]; ok {
		bk.refill(now)
		return bk
	}
	if len(buckets) >= sweepAt {
		for k, bk := range buckets {
			if bk.full(now) {
				delete(buckets, k)
			}
		}
		sweepAt = max(minSweep, 2*len(buckets))
	}
	r, ok := perService[service]
	if !ok {
		r = defaultRate
	}
	bk := &bucket{rate: r, tokens: r.burst, last: now}
	buckets[strings.Clone(service)] = bk // service points into the batch
	return bk
}
