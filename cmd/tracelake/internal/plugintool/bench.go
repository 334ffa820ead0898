package plugintool

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/cmd/tracelake/internal/loadgen"
	"github.com/tracelake/tracelake/storage/tracegen"
	"github.com/tracelake/tracelake/wasm/host"
)

// BenchReport is what Bench measured. Times are medians (p50) over calls
// or runs: on a shared machine a mean is at the mercy of every other
// process, and both are given where it matters.
type BenchReport struct {
	Plugin PluginInfo `json:"plugin"`
	// Input describes the spans timed.
	Input           string  `json:"input"`
	DurationPerSize float64 `json:"duration_per_size_seconds"`
	// Sizes are the per-span costs at each batch size, in Process only:
	// every call gets a fresh copy of its input, made outside the timed
	// region.
	Sizes []SizeResult `json:"batch_sizes"`
	// OneSpan is a batch of one span: the cost of a call, mostly fixed
	// (taking an instance from the pool, entering and leaving the guest).
	OneSpan SizeResult `json:"one_span"`
	// Load is the cost of loading the plugin: cold starts and instances.
	Load    LoadResult `json:"load"`
	Machine Machine    `json:"machine"`
	// Interrupted is true when the context ended the run early; what was
	// not measured is zero.
	Interrupted bool     `json:"interrupted,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
}

// SizeResult is the cost at one batch size.
type SizeResult struct {
	BatchSpans int `json:"batch_spans"`
	Timing
	// KeptPercent and EditsPerSpan say what the plugin did over the timed
	// calls, to tell which path was timed.
	KeptPercent  float64 `json:"kept_percent"`
	EditsPerSpan float64 `json:"edits_per_span"`
	// FailedCalls are timed calls the plugin failed; FirstFailure is the
	// first one's failure.
	FailedCalls  int    `json:"failed_calls"`
	FirstFailure string `json:"first_failure,omitempty"`
	// Baseline is the baseline plugin (keeps everything, reads and edits
	// nothing) on the same input, and PluginNanosPerSpan the difference:
	// the plugin ns/span cost, beyond the host's. Nil without a baseline.
	Baseline           *Timing  `json:"baseline"`
	PluginNanosPerSpan *float64 `json:"plugin_ns_per_span"`
}

// Timing is calls to Plugin.Process timed.
type Timing struct {
	Calls            int     `json:"calls"`
	NanosPerCall     float64 `json:"ns_per_call_p50"`
	NanosPerSpan     float64 `json:"ns_per_span_p50"`
	MeanNanosPerSpan float64 `json:"ns_per_span_mean"`
	// SpansPerSecondPerCore is 1e9 / NanosPerSpan: a call runs on the
	// calling goroutine, so one core.
	SpansPerSecondPerCore float64 `json:"spans_per_second_per_core"`
}

// LoadResult is the cost of Loader.Load, each the median of Runs runs.
type LoadResult struct {
	Runs int `json:"runs"`
	// EmptyCacheMillis is Load with an empty on-disk compilation cache:
	// the module is compiled, then one instance created and initialised.
	EmptyCacheMillis float64 `json:"empty_cache_ms"`
	// CachedMillis is Load by a new Loader on the cache directory the
	// first Load filled: a process's cold start once the plugin was ever
	// compiled on the machine. CacheBytes is the directory's size.
	CachedMillis float64 `json:"cached_ms"`
	CacheBytes   int64   `json:"cache_bytes"`
	// ReloadMillis is a second Load by the same Loader while the first
	// plugin is open: a configuration reload, the module compiled in
	// memory already.
	ReloadMillis float64 `json:"reload_ms"`
	// InstanceMillis is the cost of one more instance, created and
	// initialised: Load with Instances instances less CachedMillis,
	// divided by Instances−1.
	Instances      int     `json:"instances"`
	InstanceMillis float64 `json:"instance_ms"`
}

// Bench measures the plugin cfg names and prints the report, as text or
// JSON. It returns an error, after printing, when the plugin failed calls
// (the figures then time its failure path) or the context ended the run.
func Bench(ctx context.Context, cfg BenchConfig, stdout io.Writer) (BenchReport, error) {
	r, err := runBench(ctx, cfg)
	if err != nil {
		return r, err
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		return r, err
	}
	return r, r.Err(ctx)
}

// Err says why the figures should not be trusted: failed calls or an
// interrupted run.
func (r BenchReport) Err(ctx context.Context) error {
	failed := r.OneSpan.FailedCalls
	for _, s := range r.Sizes {
		failed += s.FailedCalls
	}
	if failed > 0 {
		return fmt.Errorf("%w %d timed calls; the figures time its failure path", ErrPluginFailed, failed)
	}
	if r.Interrupted {
		return fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	return nil
}

func runBench(ctx context.Context, cfg BenchConfig) (BenchReport, error) {
	r := BenchReport{Machine: loadgen.ThisMachine(), DurationPerSize: cfg.Duration.Seconds()}
	if err := cfg.Validate(); err != nil {
		return r, err
	}
	hcfg, err := cfg.hostConfig()
	if err != nil {
		return r, err
	}
	var input *ptrace.Traces
	if cfg.Input != "" {
		td, format, err := readTracesFile(cfg.Input)
		if err != nil {
			return r, err
		}
		input = &td
		r.Input = fmt.Sprintf("%s (%s, %s), repeated or cut to each batch size", cfg.Input, format, plural(input.SpanCount(), "span"))
	} else {
		r.Input = fmt.Sprintf("generated, telemetrygen-shaped: per trace a CLIENT %q and a SERVER %q span, service %q, 2 attributes each, random IDs (seed %d)",
			"lets-go", "okey-dokey-0", "telemetrygen", cfg.Seed)
	}
	sizes := slices.Clone(cfg.BatchSizes)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)

	loader, err := host.NewLoader(host.LoaderConfig{CacheDir: cfg.CacheDir})
	if err != nil {
		return r, err
	}
	defer loader.Close(context.WithoutCancel(ctx))
	hcfg.MinInstances = 1
	hcfg.MaxBatchSpans = sizes[len(sizes)-1]
	p, err := loader.Load(ctx, hcfg)
	if err != nil {
		return r, fmt.Errorf("load: %w", err)
	}
	defer p.Close(context.WithoutCancel(ctx))
	r.Plugin = pluginInfo(cfg.Path, hcfg, p.Features())
	var baseline *host.Plugin
	if cfg.Baseline {
		bcfg := hcfg
		bcfg.Name, bcfg.Module, bcfg.PluginConfig = "baseline", baselineModule(p.Features()), nil
		if baseline, err = loader.Load(ctx, bcfg); err != nil {
			return r, fmt.Errorf("load the baseline plugin: %w", err)
		}
		defer baseline.Close(context.WithoutCancel(ctx))
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	measure := func(n int) (SizeResult, error) {
		res := SizeResult{BatchSpans: n}
		templates := benchInput(rng, input, n)
		c, err := timeCalls(ctx, p, templates, cfg.Duration)
		if err != nil {
			return res, err
		}
		res.Timing = c.timing(n)
		if spans := c.kept + c.dropped; spans > 0 {
			res.KeptPercent = 100 * float64(c.kept) / float64(spans)
			res.EditsPerSpan = float64(c.edits) / float64(spans)
		}
		res.FailedCalls, res.FirstFailure = c.failed, c.firstFailure
		if baseline != nil {
			b, err := timeCalls(ctx, baseline, templates, cfg.Duration)
			if err != nil {
				return res, err
			}
			bt := b.timing(n)
			own := res.NanosPerSpan - bt.NanosPerSpan
			res.Baseline, res.PluginNanosPerSpan = &bt, &own
		}
		return res, nil
	}

	if r.OneSpan, err = measure(1); err != nil {
		return r, interrupted(ctx, &r, err)
	}
	for _, n := range sizes {
		if n == 1 {
			r.Sizes = append(r.Sizes, r.OneSpan)
			continue
		}
		s, err := measure(n)
		if err != nil {
			return r, interrupted(ctx, &r, err)
		}
		r.Sizes = append(r.Sizes, s)
	}
	for _, s := range r.Sizes {
		if s.Calls < minCalls {
			r.Warnings = append(r.Warnings, fmt.Sprintf("only %d calls timed at batch size %d: a longer --duration gives steadier figures", s.Calls, s.BatchSpans))
		}
	}

	if r.Load, err = timeLoads(ctx, hcfg, cfg.ColdRuns, cfg.Instances); err != nil {
		return r, interrupted(ctx, &r, err)
	}
	if r.Load.InstanceMillis < 0 {
		r.Warnings = append(r.Warnings, "loading more instances took less time than loading one: the machine was too noisy to time instance creation")
	}
	return r, nil
}

// interrupted turns the context ending into an interrupted report, which
// is printed; other errors are returned.
func interrupted(ctx context.Context, r *BenchReport, err error) error {
	if ctx.Err() != nil {
		r.Interrupted = true
		return nil
	}
	return err
}

// benchInput is the requests of n spans calls are timed on: the input
// resized, or generated spans. Several generated requests, used in turn,
// keep a plugin that decides by trace ID from seeing the same IDs on
// every call.
func benchInput(rng *rand.Rand, input *ptrace.Traces, n int) []ptrace.Traces {
	if input != nil {
		return []ptrace.Traces{resize(*input, n)}
	}
	variants := min(8, max(1, 1<<16/n))
	out := make([]ptrace.Traces, variants)
	now := time.Now()
	for i := range out {
		out[i] = resize(tracegen.Telemetrygen(rng, (n+1)/2, 1, now), n)
	}
	return out
}

// minCalls is the fewest timed calls whose median is worth much.
const minCalls = 20

// calls is what timeCalls saw.
type calls struct {
	durations            []time.Duration
	kept, dropped, edits int
	failed               int
	firstFailure         string
}

func (c calls) timing(spans int) Timing {
	if len(c.durations) == 0 {
		return Timing{}
	}
	slices.Sort(c.durations)
	var sum time.Duration
	for _, d := range c.durations {
		sum += d
	}
	p50 := float64(c.durations[len(c.durations)/2])
	t := Timing{
		Calls:            len(c.durations),
		NanosPerCall:     p50,
		NanosPerSpan:     p50 / float64(spans),
		MeanNanosPerSpan: float64(sum) / float64(len(c.durations)*spans),
	}
	if t.NanosPerSpan > 0 {
		t.SpansPerSecondPerCore = 1e9 / t.NanosPerSpan
	}
	return t
}

// timeCalls calls p on copies of templates, in turn, for d (and at least
// once), timing only Process. One untimed call first lets the instance
// grow its batch buffer to the size.
func timeCalls(ctx context.Context, p *host.Plugin, templates []ptrace.Traces, d time.Duration) (calls, error) {
	var c calls
	if _, err := p.Process(ctx, clone(templates[0])); err != nil {
		return c, err
	}
	end := time.Now().Add(d)
	for i := 0; i == 0 || time.Now().Before(end); i++ {
		if err := ctx.Err(); err != nil {
			return c, err
		}
		work := clone(templates[i%len(templates)])
		start := time.Now()
		st, err := p.Process(ctx, work)
		elapsed := time.Since(start)
		if err != nil {
			return c, err
		}
		c.durations = append(c.durations, elapsed)
		c.kept += st.Kept
		c.dropped += st.Dropped
		c.edits += st.Edits
		if st.Failure != nil {
			if c.failed == 0 {
				c.firstFailure = st.Failure.Error()
			}
			c.failed++
		}
	}
	return c, nil
}

// timeLoads times Load: with an empty cache directory, with the directory
// the first run filled (a new Loader each run), a second Load by the same
// Loader, and with many instances.
func timeLoads(ctx context.Context, cfg host.Config, runs, instances int) (LoadResult, error) {
	res := LoadResult{Runs: runs, Instances: instances}
	cfg.MinInstances, cfg.MaxInstances = 1, max(1, instances)
	bg := context.WithoutCancel(ctx)
	// load times one Load by a new Loader on dir, and then, when again is
	// set, a second by the same Loader while the first plugin is still
	// open, as a reload replaces a plugin that is serving. (Closing a
	// plugin evicts its compiled module from the Loader's memory.)
	load := func(dir string, cfg host.Config, again bool) (first, second time.Duration, err error) {
		l, err := host.NewLoader(host.LoaderConfig{CacheDir: dir})
		if err != nil {
			return 0, 0, err
		}
		defer l.Close(bg)
		start := time.Now()
		p, err := l.Load(ctx, cfg)
		first = time.Since(start)
		if err != nil {
			return 0, 0, err
		}
		defer p.Close(bg)
		if again {
			start := time.Now()
			p2, err := l.Load(ctx, cfg)
			second = time.Since(start)
			if err != nil {
				return 0, 0, err
			}
			p2.Close(bg)
		}
		return first, second, nil
	}

	var cacheDir string
	defer func() {
		if cacheDir != "" {
			os.RemoveAll(cacheDir)
		}
	}()
	var empty, cached, reload, many []time.Duration
	for range runs {
		dir, err := os.MkdirTemp("", "tracelake-plugin-bench-")
		if err != nil {
			return res, err
		}
		d, _, err := load(dir, cfg, false)
		if cacheDir == "" {
			cacheDir = dir // the first run's cache serves the cached runs
		} else {
			os.RemoveAll(dir)
		}
		if err != nil {
			return res, err
		}
		empty = append(empty, d)
	}
	res.CacheBytes = dirSize(cacheDir)
	for range runs {
		d, again, err := load(cacheDir, cfg, true)
		if err != nil {
			return res, err
		}
		cached, reload = append(cached, d), append(reload, again)
	}
	manyCfg := cfg
	manyCfg.MinInstances = instances
	for range runs {
		d, _, err := load(cacheDir, manyCfg, false)
		if err != nil {
			return res, err
		}
		many = append(many, d)
	}
	ms := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2]) / 1e6
	}
	res.EmptyCacheMillis, res.CachedMillis, res.ReloadMillis = ms(empty), ms(cached), ms(reload)
	res.InstanceMillis = (ms(many) - res.CachedMillis) / float64(instances-1)
	return res, nil
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil && d.Type().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// WriteText writes the report for people to read.
func (r BenchReport) WriteText(w io.Writer) error {
	out := &textWriter{w: w}
	p := r.Plugin
	out.printf("tracelake plugin bench: %s (%s, %s), policy %s\n", p.Path, bytesText(p.ModuleBytes), p.featureText(), p.Policy)
	out.printf("input: %s; %s per batch size\n", r.Input, time.Duration(r.DurationPerSize*1e9))
	m := r.Machine
	out.printf("machine: %s/%s, %d CPUs, GOMAXPROCS %d, %s", m.GOOS, m.GOARCH, m.NumCPU, m.GOMAXPROCS, m.GoVersion)
	if m.CPUModel != "" {
		out.printf(", %s", m.CPUModel)
	}
	out.printf("\n")
	if r.Interrupted {
		out.printf("INTERRUPTED: figures not measured are zero\n")
	}

	out.printf("\nper-span cost: time in Plugin.Process only (input copied outside it), p50 over calls\n")
	if out.err != nil {
		return out.err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "batch\tcalls\tper call\tns/span\t(mean)\tspans/s/core\tbaseline ns/span\tplugin ns/span\tkept\tedits/span\tfailed\t\n")
	for _, s := range r.Sizes {
		base, own := "-", "-"
		if s.Baseline != nil {
			base = fmt.Sprintf("%.0f", s.Baseline.NanosPerSpan)
			own = fmt.Sprintf("%.0f", *s.PluginNanosPerSpan)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%.0f\t(%.0f)\t%s\t%s\t%s\t%.1f%%\t%.2f\t%d\t\n",
			s.BatchSpans, s.Calls, nanosText(s.NanosPerCall), s.NanosPerSpan, s.MeanNanosPerSpan,
			group(s.SpansPerSecondPerCore), base, own, s.KeptPercent, s.EditsPerSpan, s.FailedCalls)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range append([]SizeResult{r.OneSpan}, r.Sizes...) {
		if s.FirstFailure != "" {
			out.printf("  batch %d: %d calls failed; the first: %s\n", s.BatchSpans, s.FailedCalls, s.FirstFailure)
		}
	}

	o := r.OneSpan
	out.printf("\nper-call cost: a 1-span batch takes %s (p50, %d calls)", nanosText(o.NanosPerCall), o.Calls)
	if o.Baseline != nil {
		out.printf("; the baseline %s", nanosText(o.Baseline.NanosPerCall))
	}
	out.printf("\n")

	l := r.Load
	out.printf("\nload: Loader.Load, median of %s\n", plural(l.Runs, "run"))
	out.row("empty cache", "%8.1f ms  compiles the module, then creates and initialises an instance", l.EmptyCacheMillis)
	out.row("cached", "%8.1f ms  a new Loader on the filled cache directory (%s): a cold start", l.CachedMillis, bytesText(int(l.CacheBytes)))
	out.row("reload", "%8.1f ms  the same Loader again, the first plugin still open: a configuration reload", l.ReloadMillis)
	out.row("instance", "%8.2f ms  each, from Load with %d instances against 1", l.InstanceMillis, l.Instances)
	for _, warn := range r.Warnings {
		out.printf("warning: %s\n", warn)
	}
	return out.err
}

// nanosText renders a time in ns with a unit that keeps it short.
func nanosText(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e4:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// group writes n rounded, with thousands separated by commas.
func group(n float64) string {
	s := strconv.FormatInt(int64(n+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
