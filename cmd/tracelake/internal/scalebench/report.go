package scalebench

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// The aims the figures are held to (the scale issue's), printed beside them.
const (
	AimByIDWarmP99Millis   = 20
	AimSearchP99Millis     = 300
	AimScanSpansPerCore    = 10_000_000
	AimBytesPerSpan        = 35
	AimCompactSpansPerCore = 500_000
	resultsFile            = "bench-scale-results.md"
	resultsJSON            = "bench-scale-results.json"
	profileTop             = 12
)

// Report is what a run measured.
type Report struct {
	Machine Machine   `json:"machine"`
	Started time.Time `json:"started"`
	// Seconds is the whole run; the phases' are below.
	Seconds float64 `json:"seconds"`

	Data       Data       `json:"data"`
	Compaction Compaction `json:"compaction"`
	Lookups    *Lookups   `json:"lookups"`
	Searches   []*Search  `json:"searches"`
	// SearchRuns is the runs each shape was to make.
	SearchRuns int `json:"search_runs"`
	// ScanSpansPerCoreSecond is the single-predicate scan's rate.
	ScanSpansPerCoreSecond float64 `json:"scan_spans_per_core_second"`
	QuerySeconds           float64 `json:"query_seconds"`
	// QueryPeakRSSBytes is the query process's VmHWM at the end.
	QueryPeakRSSBytes int64             `json:"query_peak_rss_bytes"`
	Profiles          []*ProfileSummary `json:"profiles"`
	// Warnings qualify the figures.
	Warnings []string `json:"warnings,omitempty"`
}

// Data is what was generated and written.
type Data struct {
	Spans         int64     `json:"spans"`
	Traces        int64     `json:"traces"`
	BigTraces     int       `json:"big_traces"`
	BigTraceSpans int       `json:"big_trace_spans"`
	ErrorSpans    int64     `json:"error_spans"`
	Services      int       `json:"services"`
	Operations    int       `json:"server_operations"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Files         int64     `json:"files"`
	Seed          uint64    `json:"seed"`
	// OTLPBytesPerSpan is the OTLP protobuf encoding of the generated
	// spans, one request per ingest file with a resource per service
	// instance; FileBytesPerSpan the ingest files written.
	OTLPBytesPerSpan float64 `json:"otlp_bytes_per_span"`
	FileBytesPerSpan float64 `json:"ingest_file_bytes_per_span"`
	Workers          int     `json:"workers"`
	Seconds          float64 `json:"seconds"`
	CPUSeconds       float64 `json:"cpu_seconds"`
}

// Compaction is the compaction phase.
type Compaction struct {
	Compactors int     `json:"compactors"`
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// SpansPerCoreSecond is spans compacted per CPU second of this
	// process (MinIO's CPU not included).
	SpansPerCoreSecond float64 `json:"spans_per_core_second"`
	Blocks             int     `json:"blocks"`
	Duplicates         int64   `json:"duplicates_removed"`
	// Bytes per span of the blocks' objects.
	DataBytesPerSpan       float64 `json:"data_bytes_per_span"`
	IndexBytesPerSpan      float64 `json:"index_bytes_per_span"`
	BloomBytesPerSpan      float64 `json:"bloom_bytes_per_span"`
	AggregatesBytesPerSpan float64 `json:"aggregates_bytes_per_span"`
	AttrFilterBytesPerSpan float64 `json:"attribute_filter_bytes_per_span"`
}

func check(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// WriteMarkdown writes the report as Markdown.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := r.Machine
	d := r.Data
	c := r.Compaction
	p("# tracelake scale benchmark\n\n")
	p("Machine: %s, %d cores (GOMAXPROCS %d), %s memory, Linux %s, %s. Benchmark, MinIO and the query process share it.\n\n",
		m.CPUModel, m.NumCPU, m.GOMAXPROCS, humanize.IBytes(uint64(m.MemBytes)), m.Kernel, m.GoVersion)
	p("Run: %s, took %s (generate and write %s, compact %s, query %s).\n\n",
		r.Started.Format(time.RFC3339), dur(r.Seconds), dur(d.Seconds), dur(c.Seconds), dur(r.QuerySeconds))
	p("Data: %s spans in %s traces (%d of %s spans), %d services with %d server operations, over %s to %s (%.0f h); "+
		"%.2f%% of spans are errors; %s ingest files of ~%s spans written by %d writers, compacted into %d blocks by %d compactors. Seed %d.\n\n",
		humanize.Comma(d.Spans), humanize.Comma(d.Traces), d.BigTraces, humanize.Comma(int64(d.BigTraceSpans)),
		d.Services, d.Operations, d.Start.Format("2006-01-02 15:04"), d.End.Format("2006-01-02 15:04 MST"), d.End.Sub(d.Start).Hours(),
		100*float64(d.ErrorSpans)/float64(max(d.Spans, 1)), humanize.Comma(d.Files), humanize.Comma(d.Spans/max(d.Files, 1)), d.Workers,
		c.Blocks, c.Compactors, d.Seed)

	p("| figure | result | aim | |\n|---|---|---|---|\n")
	if l := r.Lookups; l != nil {
		p("| trace by ID, warm, p50 / p99 (%d IDs, %.1f spans each on average) | %.1f / %.1f ms | p99 ≤ %d ms | %s |\n",
			l.IDs, l.MeanSpans, l.Warm.P50, l.Warm.P99, AimByIDWarmP99Millis, check(l.Warm.P99 <= AimByIDWarmP99Millis))
		p("| trace by ID, cold (first lookup of each ID), p50 / p99 | %.1f / %.1f ms | | |\n", l.Cold.P50, l.Cold.P99)
		p("| trace by ID, the process's first lookup (reads every block's bloom filter) | %.1f ms | | |\n", l.FirstMilli)
		if len(l.Big) > 0 {
			var cold, warm []string
			for _, bl := range l.Big {
				cold = append(cold, fmt.Sprintf("%.0f", bl.Cold))
				warm = append(warm, fmt.Sprintf("%.0f", bl.Warm))
			}
			p("| trace by ID, the %d traces of %s spans, cold / warm, each | %s / %s ms | | |\n",
				len(l.Big), humanize.Comma(int64(l.Big[0].Spans)), strings.Join(cold, ", "), strings.Join(warm, ", "))
		}
	}
	if len(r.Searches) > 0 {
		worst := r.Searches[0]
		met := 0
		for _, s := range r.Searches {
			if s.Latency.P99 > worst.Latency.P99 {
				worst = s
			}
			if s.Latency.P99 <= AimSearchP99Millis {
				met++
			}
		}
		p("| search over %.0f h, p99 of the worst shape (%s) | %.0f ms | ≤ %d ms | %s |\n",
			d.End.Sub(d.Start).Hours(), worst.Shape, worst.Latency.P99, AimSearchP99Millis, check(worst.Latency.P99 <= AimSearchP99Millis))
		p("| search shapes within the aim | %d of %d | all | %s |\n", met, len(r.Searches), check(met == len(r.Searches)))
	}
	p("| single-predicate scan (tag search, no service), spans/s per core | %s | ≥ %s | %s |\n",
		si(r.ScanSpansPerCoreSecond), si(AimScanSpansPerCore), check(r.ScanSpansPerCoreSecond >= AimScanSpansPerCore))
	p("| bytes per span after compaction (block data) | %.1f | ≤ %d | %s |\n", c.DataBytesPerSpan, AimBytesPerSpan, check(c.DataBytesPerSpan <= AimBytesPerSpan))
	p("| … plus index / bloom filter / aggregates / attribute filter | %.2f / %.2f / %.3f / %.2f | | |\n", c.IndexBytesPerSpan, c.BloomBytesPerSpan, c.AggregatesBytesPerSpan, c.AttrFilterBytesPerSpan)
	p("| OTLP protobuf bytes per span (as generated) | %.1f | | |\n", d.OTLPBytesPerSpan)
	p("| ingest file bytes per span (before compaction) | %.1f | | |\n", d.FileBytesPerSpan)
	p("| compaction, spans/s per core (%s CPU s for %s spans) | %s | ≥ %s | %s |\n",
		fmt.Sprintf("%.1f", c.CPUSeconds), humanize.Comma(d.Spans), si(c.SpansPerCoreSecond), si(AimCompactSpansPerCore), check(c.SpansPerCoreSecond >= AimCompactSpansPerCore))
	p("| query process peak RSS (VmHWM) | %s | | |\n", humanize.IBytes(uint64(r.QueryPeakRSSBytes)))
	p("| generate + write, spans/s (wall, %d writers; MinIO on the same cores) | %s | | |\n", d.Workers, si(float64(d.Spans)/max(d.Seconds, 1e-9)))

	if len(r.Searches) > 0 {
		p("\n## Searches\n\nEach shape ran one request at a time, with varied parameters, over the whole %.0f h (limit 20), "+
			"%d times unless its time budget ran out first (then at least %d). With fewer than 100 runs the p99 is the maximum. "+
			"CPU is the query process's per search (from /proc, 10 ms resolution); MinIO's is not included.\n\n",
			d.End.Sub(d.Start).Hours(), r.SearchRuns, minSearchRuns)
		p("| shape | tag condition | runs | p50 | p90 | p99 | CPU/search | traces found | empty | p99 ≤ %d ms |\n|---|---|---|---|---|---|---|---|---|---|\n", AimSearchP99Millis)
		for _, s := range r.Searches {
			runs := fmt.Sprint(s.Runs)
			if s.Budgeted {
				runs += " (budget)"
			}
			p("| %s | %s | %s | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.1f | %d | %s |\n",
				s.Shape, yesNo(s.Attributes), runs, s.Latency.P50, s.Latency.P90, s.Latency.P99, s.CPUMillis, s.Traces, s.Empty,
				check(s.Latency.P99 <= AimSearchP99Millis))
		}
		p("\nFirst request of each shape:\n\n")
		for _, s := range r.Searches {
			p("- %s: `%s`\n", s.Shape, s.Example)
		}
	}

	if len(r.Profiles) > 0 {
		p("\n## Where the time goes\n\nCPU profiles (pprof files beside this report: `go tool pprof -top <binary> <files>`). " +
			"Self time by package and by function, and tracelake's own functions including what they call.\n")
		for _, ps := range r.Profiles {
			p("\n### %s (%.1f CPU s sampled)\n\n", ps.Name, ps.TotalSeconds)
			p("| self, by package | | self, by function | | tracelake, cumulative | |\n|---|---|---|---|---|---|\n")
			for i := range max(len(ps.Packages), len(ps.Functions), len(ps.Tracelake)) {
				p("| %s | %s | %s |\n", entry(ps.Packages, i), entry(ps.Functions, i), entry(ps.Tracelake, i))
			}
		}
	}
	for _, wn := range r.Warnings {
		p("\nWarning: %s\n", wn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func entry(es []ProfileEntry, i int) string {
	if i >= len(es) {
		return " | "
	}
	name := strings.TrimPrefix(es[i].Name, tracelakeModule)
	name = strings.ReplaceAll(name, "|", `\|`)
	return fmt.Sprintf("`%s` | %.1f%%", name, 100*es[i].Share)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// si writes a rate like 1.23 M.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func dur(seconds float64) string {
	return (time.Duration(seconds * float64(time.Second))).Round(time.Second).String()
}
