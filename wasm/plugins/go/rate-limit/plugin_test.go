package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/sdktest"
)

func TestConfig(t *testing.T) {
	for cfg, want := range map[string]string{
		``:                                     "spans_per_second is required",
		`{"burst": 10}`:                        "spans_per_second is required",
		`{"spans_per_second": -1}`:             "spans_per_second -1 is negative",
		`{"spans_per_second": 0.5}`:            "burst 0.5 is below 1",
		`{"spans_per_second": 10, "burst": 0}`: "burst 0 is below 1",
		`{"spans_per_second": 0, "burst": 0}`:  "",
		`{"spans_per_second": 10, "per_service": 1}`:                               "per_service: want an object, got number",
		`{"spans_per_second": 10, "per_service": {"a": {"burst": 5}}}`:             "per_service.a: spans_per_second is required",
		`{"spans_per_second": 10, "per_service": {"a": {"rate": 5}}}`:              `per_service.a: unknown field "rate"`,
		`{"spans_per_second": 10, "per_service": {"a": -5}}`:                       "per_service.a: spans_per_second -5 is negative",
		`{"spans_per_second": 100, "burst": 200, "per_service": {"checkout": 50}}`: "",
	} {
		err := sdktest.Init(cfg)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("config %s: error %v, want %q", cfg, err, want)
		}
	}
	if f := sdk.Registered().Features(); f != 0 {
		t.Errorf("features %b: the plugin reads no attributes", f)
	}
}

// batch has n spans of each service, at now.
func batch(now int64, n map[string]int, order ...string) sdktest.Batch {
	b := sdktest.Batch{NowUnixNano: now}
	for ri, svc := range order {
		b.Resources = append(b.Resources, sdktest.Resource{Service: svc})
		for range n[svc] {
			b.Spans = append(b.Spans, sdktest.Span{Resource: ri})
		}
	}
	return b
}

func keptPerService(t *testing.T, b sdktest.Batch) map[string]int {
	t.Helper()
	res, err := sdktest.Run(b)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]int{}
	for i, d := range res.Decisions {
		if d == sdk.Keep {
			kept[b.Resources[b.Spans[i].Resource].Service]++
		}
	}
	return kept
}

func TestLimit(t *testing.T) {
	if err := sdktest.Init(`{"spans_per_second": 100, "burst": 200,
		"per_service": {"checkout": 50, "cart": {"spans_per_second": 10, "burst": 40}}}`); err != nil {
		t.Fatal(err)
	}
	const sec = int64(1e9)
	t0 := int64(1_700_000_000) * sec
	all := []string{"frontend", "checkout", "cart"}
	n := map[string]int{"frontend": 300, "checkout": 300, "cart": 300}

	// Full buckets at first sight: the burst of each.
	if got := keptPerService(t, batch(t0, n, all...)); got["frontend"] != 200 || got["checkout"] != 50 || got["cart"] != 40 {
		t.Errorf("first batch kept %v", got)
	}
	// Empty now: nothing more within the same instant.
	if got := keptPerService(t, batch(t0, n, all...)); len(got) != 0 {
		t.Errorf("same instant kept %v", got)
	}
	// Half a second later: half a second of each rate.
	if got := keptPerService(t, batch(t0+sec/2, n, all...)); got["frontend"] != 50 || got["checkout"] != 25 || got["cart"] != 5 {
		t.Errorf("after 0.5s kept %v", got)
	}
	// A clock going backwards earns nothing.
	if got := keptPerService(t, batch(t0, n, all...)); len(got) != 0 {
		t.Errorf("backwards clock kept %v", got)
	}
	// A long pause refills to the burst, no more.
	if got := keptPerService(t, batch(t0+100*sec, n, all...)); got["frontend"] != 200 || got["checkout"] != 50 || got["cart"] != 40 {
		t.Errorf("after a pause kept %v", got)
	}
	// Resources of one service in one batch share its bucket; spans
	// without a service share the "" bucket.
	b := batch(t0+200*sec, map[string]int{"frontend": 150, "": 250}, "frontend", "")
	b.Resources = append(b.Resources, sdktest.Resource{Service: "frontend"})
	for range 150 {
		b.Spans = append(b.Spans, sdktest.Span{Resource: 2})
	}
	if got := keptPerService(t, b); got["frontend"] != 200 || got[""] != 200 {
		t.Errorf("shared buckets kept %v", got)
	}
}

func TestSweep(t *testing.T) {
	if err := sdktest.Init(`{"spans_per_second": 1, "burst": 1}`); err != nil {
		t.Fatal(err)
	}
	const sec = int64(1e9)
	services := func(now int64, prefix string, n int) sdktest.Batch {
		b := sdktest.Batch{NowUnixNano: now}
		for i := range n {
			b.Resources = append(b.Resources, sdktest.Resource{Service: prefix + strconv.Itoa(i)})
			b.Spans = append(b.Spans, sdktest.Span{Resource: i})
		}
		return b
	}
	// 3,072 services, each bucket emptied by its span: none can be
	// forgotten, so sweeps at 1,024 and 2,048 buckets forget nothing.
	if _, err := sdktest.Run(services(sec, "old-", 3*minSweep)); err != nil {
		t.Fatal(err)
	}
	if len(buckets) != 3*minSweep || sweepAt != 4*minSweep {
		t.Fatalf("%d buckets, sweep at %d", len(buckets), sweepAt)
	}
	// Seconds later the old buckets are full again: the sweep at 4,096
	// forgets them, and only the new services remain.
	if _, err := sdktest.Run(services(10*sec, "new-", minSweep+100)); err != nil {
		t.Fatal(err)
	}
	if len(buckets) != minSweep+100 {
		t.Errorf("%d buckets after the sweep, want %d", len(buckets), minSweep+100)
	}
	for k := range buckets {
		if !strings.HasPrefix(k, "new-") {
			t.Fatalf("bucket %q survived the sweep", k)
		}
	}
}
