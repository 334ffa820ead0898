package scalebench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/spf13/pflag"

	"github.com/tracelake/tracelake/storage/compact"
	"github.com/tracelake/tracelake/storage/objstore/s3"
)

// Main is the benchmark's command line: flags in args, the report on
// stdout, progress on stderr. The Markdown report is also written to
// <out>/bench-scale-results.md, with the JSON beside it.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("bench-scale", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := DefaultConfig()
	fs.IntVar(&cfg.Spans, "spans", cfg.Spans, "spans to generate")
	fs.IntVar(&cfg.Traces, "traces", cfg.Traces, "traces to generate (default: spans/10)")
	fs.IntVar(&cfg.Hours, "hours", cfg.Hours, "hours the spans cover, ending at the start of the current hour")
	fs.IntVar(&cfg.FileSpans, "file-spans", cfg.FileSpans, "spans per ingest file (about)")
	fs.IntVar(&cfg.BigTraces, "big-traces", cfg.BigTraces, "big traces, looked up separately")
	fs.IntVar(&cfg.BigTraceSpans, "big-trace-spans", cfg.BigTraceSpans, "spans of each big trace (default: spans/100, at most 10000)")
	fs.Float64Var(&cfg.ErrorRate, "error-rate", cfg.ErrorRate, "share of spans with an error status")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "concurrent generators and writers")
	fs.IntVar(&cfg.Compactors, "compactors", cfg.Compactors, "concurrent compactors")
	fs.IntVar(&cfg.Lookups, "lookups", cfg.Lookups, "different traces looked up by ID, each cold and warm")
	fs.IntVar(&cfg.SearchRuns, "search-runs", cfg.SearchRuns, "runs of each search shape")
	fs.DurationVar(&cfg.SearchBudget, "search-budget", cfg.SearchBudget, fmt.Sprintf("time one search shape may take; once spent, it stops after %d runs (0: no limit)", minSearchRuns))
	fs.DurationVar(&cfg.ProfileChunk, "profile-chunk", cfg.ProfileChunk, "length of each CPU profile of the query process (0: none)")
	fs.BoolVar(&cfg.ProfileCompaction, "profile-compaction", cfg.ProfileCompaction, "take a CPU profile of compaction")
	fs.StringVar(&cfg.Tracelake, "tracelake", cfg.Tracelake, "the tracelake binary to run as the query service")
	fs.StringVar(&cfg.Minio, "minio", defaultMinio(getenv), "the MinIO server binary ($TRACELAKE_MINIO_BIN, .tools/bin/minio, or minio on $PATH)")
	fs.StringVar(&cfg.OutDir, "out", cfg.OutDir, "directory for the report, profiles and the query service's log")
	fs.StringVar(&cfg.WorkDir, "work-dir", cfg.WorkDir, "directory for MinIO's data and compaction's temporary files (default: the system's temporary directory)")
	fs.BoolVar(&cfg.Keep, "keep", cfg.Keep, "keep MinIO's data directory")
	fs.StringVar(&cfg.Tenant, "tenant", cfg.Tenant, "tenant the spans are written for")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed of the data")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of Markdown")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Scaled down with --spans alone, the rest follows.
	if !fs.Changed("traces") {
		cfg.Traces = max(cfg.Spans/10, 1)
	}
	if !fs.Changed("big-trace-spans") {
		cfg.BigTraceSpans = min(10_000, max(cfg.Spans/100, 1))
	}
	rep, err := Run(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteMarkdown(stdout)
}

// defaultMinio finds the MinIO binary as storage/objstore/s3/s3test does.
func defaultMinio(getenv func(string) string) string {
	if bin := getenv("TRACELAKE_MINIO_BIN"); bin != "" {
		return bin
	}
	if _, err := os.Stat(".tools/bin/minio"); err == nil {
		return ".tools/bin/minio"
	}
	if bin, err := exec.LookPath("minio"); err == nil {
		return bin
	}
	return ".tools/bin/minio"
}

// Run runs the benchmark and writes its report and profiles to
// cfg.OutDir. Progress goes to log.
func Run(ctx context.Context, cfg Config, log io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	began := time.Now()
	rep := &Report{Machine: thisMachine(), Started: began.UTC()}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	// Profiles of an earlier run would be summarised with this one's.
	old, _ := filepath.Glob(filepath.Join(cfg.OutDir, "*.pprof"))
	for _, f := range old {
		os.Remove(f)
	}
	work, err := os.MkdirTemp(cfg.WorkDir, "tracelake-bench-scale-")
	if err != nil {
		return nil, err
	}
	if cfg.Keep {
		fmt.Fprintf(log, "keeping the data in %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	cfg.WorkDir = work

	target := cfg.S3
	if target == nil {
		dir := filepath.Join(work, "minio")
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		srv, err := startMinio(ctx, cfg.Minio, dir)
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		target = &srv.target
		fmt.Fprintf(log, "MinIO on %s, data in %s\n", target.Endpoint, dir)
	}
	bucket, err := s3.New(ctx, s3.Config{
		Bucket:      target.Bucket,
		Endpoint:    target.Endpoint,
		Region:      "us-east-1",
		Insecure:    true,
		Addressing:  s3.AddressingPath,
		Credentials: credentials.NewStaticV4(target.AccessKey, target.SecretKey, ""),
	})
	if err != nil {
		return nil, err
	}
	defer bucket.Close()

	// The data: the Hours whole hours before the current one.
	end := time.Now().UTC().Truncate(time.Hour)
	start := end.Add(-time.Duration(cfg.Hours) * time.Hour)
	w := newWorld(rand.New(rand.NewPCG(cfg.Seed, 0)), max(cfg.Traces/2, 1000))
	files := planFiles(cfg, start)
	ops := 0
	for _, s := range w.services {
		ops += len(s.ops)
	}
	fmt.Fprintf(log, "generating %d spans in %d traces into %d files over %s – %s, %d writers\n",
		cfg.Spans, cfg.Traces, len(files), start.Format(time.RFC3339), end.Format(time.RFC3339), cfg.Workers)
	ing, err := ingest(ctx, cfg, bucket, w, files, log)
	if err != nil {
		return nil, err
	}
	if ing.spans != int64(cfg.Spans) || ing.traces != int64(cfg.Traces) {
		return nil, fmt.Errorf("generated %d spans in %d traces, want %d in %d", ing.spans, ing.traces, cfg.Spans, cfg.Traces)
	}
	rep.Data = Data{
		Spans: ing.spans, Traces: ing.traces, BigTraces: cfg.BigTraces, BigTraceSpans: cfg.BigTraceSpans,
		ErrorSpans: ing.errors, Services: len(w.services), Operations: ops, Start: start, End: end,
		Files: ing.files, Seed: cfg.Seed, Workers: cfg.Workers,
		OTLPBytesPerSpan: float64(ing.otlpBytes) / float64(ing.spans),
		FileBytesPerSpan: float64(ing.fileBytes) / float64(ing.spans),
		Seconds:          ing.wall.Seconds(), CPUSeconds: ing.cpu.Seconds(),
	}
	fmt.Fprintf(log, "wrote %d files in %s (%.1f OTLP bytes/span, %.1f file bytes/span)\n",
		ing.files, ing.wall.Round(time.Second), rep.Data.OTLPBytesPerSpan, rep.Data.FileBytesPerSpan)

	// Compact as a compactor would once the last hour settled.
	compactAt := end.Add(compact.DefaultConfig().Settle + time.Minute)
	if now := time.Now(); now.After(compactAt) {
		compactAt = now
	}
	var profPath string
	if cfg.ProfileCompaction {
		profPath = filepath.Join(cfg.OutDir, "compaction.pprof")
	}
	fmt.Fprintf(log, "compacting with %d compactors\n", cfg.Compactors)
	logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	comp, err := compactAll(ctx, cfg, bucket, compactAt, profPath, logger)
	if err != nil {
		return nil, err
	}
	if comp.spans != ing.spans || comp.duplicates != 0 || comp.inputs != int(ing.files) {
		return nil, fmt.Errorf("blocks hold %d spans (%d duplicates removed) from %d files, want %d spans from %d files",
			comp.spans, comp.duplicates, comp.inputs, ing.spans, ing.files)
	}
	spans := float64(comp.spans)
	rep.Compaction = Compaction{
		Compactors: cfg.Compactors, Seconds: comp.wall.Seconds(), CPUSeconds: comp.cpu.Seconds(),
		SpansPerCoreSecond: spans / comp.cpu.Seconds(), Blocks: comp.blocks, Duplicates: comp.duplicates,
		DataBytesPerSpan:       float64(comp.dataBytes) / spans,
		IndexBytesPerSpan:      float64(comp.indexBytes) / spans,
		BloomBytesPerSpan:      float64(comp.bloomBytes) / spans,
		AggregatesBytesPerSpan: float64(comp.aggBytes) / spans,
		AttrFilterBytesPerSpan: float64(comp.attrFilterBytes) / spans,
	}
	fmt.Fprintf(log, "compacted into %d blocks in %s (%.1f CPU s, %.1f data bytes/span)\n",
		comp.blocks, comp.wall.Round(time.Second), comp.cpu.Seconds(), rep.Compaction.DataBytesPerSpan)
	if comp.profile != "" {
		ps, err := summarizeProfiles("compaction (in-process)", []string{comp.profile}, profileTop)
		if err != nil {
			return nil, err
		}
		rep.Profiles = append(rep.Profiles, ps)
	}

	if err := queryPhase(ctx, cfg, *target, w, ing, start, end, rep, log); err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(began).Seconds()

	f, err := os.Create(filepath.Join(cfg.OutDir, resultsFile))
	if err != nil {
		return nil, err
	}
	if err := rep.WriteMarkdown(f); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cfg.OutDir, resultsJSON), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "report written to %s\n", filepath.Join(cfg.OutDir, resultsFile))
	return rep, nil
}

// queryPhase starts the query service and times lookups and searches.
func queryPhase(ctx context.Context, cfg Config, target S3Target, w *world, ing *ingested, start, end time.Time, rep *Report, log io.Writer) (err error) {
	began := time.Now()
	qp, err := startQuery(ctx, cfg.Tracelake, target, filepath.Join(cfg.OutDir, "query.log"))
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			qp.kill()
		}
	}()
	a := &api{client: &http.Client{Timeout: 10 * time.Minute}, base: qp.queryURL, tenant: cfg.Tenant}
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))

	// profiled runs fn while the query process is profiled as name.
	profiled := func(name, title string, fn func() error) error {
		if cfg.ProfileChunk == 0 {
			return fn()
		}
		pr := qp.profile(ctx, cfg.ProfileChunk, cfg.OutDir, name)
		err := fn()
		files, perr := pr.finish()
		if err != nil {
			return err
		}
		if perr != nil {
			return fmt.Errorf("profile the query service: %w", perr)
		}
		ps, err := summarizeProfiles(title, files, profileTop)
		if err != nil {
			return err
		}
		rep.Profiles = append(rep.Profiles, ps)
		return nil
	}

	// Lookups: ordinary traces evenly through the day, and the big ones,
	// in random order.
	var ordinary, ids []traceSample
	for _, s := range ing.samples {
		if s.big {
			ids = append(ids, s)
		} else {
			ordinary = append(ordinary, s)
		}
	}
	n := min(cfg.Lookups, len(ordinary))
	for i := range n {
		ids = append(ids, ordinary[i*len(ordinary)/n])
	}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	fmt.Fprintf(log, "looking up %d traces by ID, cold then warm\n", len(ids))
	if err := profiled("query-byid", "query service: lookups by trace ID", func() error {
		rep.Lookups, err = lookups(ctx, a, ids)
		return err
	}); err != nil {
		return err
	}

	users := append([]userSample(nil), ing.users...)
	rng.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
	if len(users) == 0 {
		return fmt.Errorf("no user.id was generated")
	}
	rep.SearchRuns = cfg.SearchRuns
	var indexed, scans []shape
	for _, sh := range shapes(w, users, start, end) {
		if sh.scan {
			scans = append(scans, sh)
		} else {
			indexed = append(indexed, sh)
		}
	}
	for _, group := range []struct {
		name, title string
		shapes      []shape
	}{
		{"query-search", "query service: searches the block indexes answer", indexed},
		{"query-scan", "query service: searches with tag conditions (read Parquet)", scans},
	} {
		if err := profiled(group.name, group.title, func() error {
			for _, sh := range group.shapes {
				fmt.Fprintf(log, "search %q × %d\n", sh.name, cfg.SearchRuns)
				s, err := search(ctx, a, qp, sh, cfg.SearchRuns, cfg.SearchBudget, ing.spans)
				if err != nil {
					return err
				}
				if s.Budgeted {
					fmt.Fprintf(log, "  stopped after %d runs: the %s budget is spent\n", s.Runs, cfg.SearchBudget)
				}
				rep.Searches = append(rep.Searches, s)
				if sh.rate {
					rep.ScanSpansPerCoreSecond = s.SpansPerCoreSecond
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}

	if rep.QueryPeakRSSBytes, err = qp.peakRSS(); err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("query service peak RSS unknown: %v", err))
	}
	stopped = true
	if err := qp.stop(); err != nil {
		return err
	}
	rep.QuerySeconds = time.Since(began).Seconds()
	return nil
}
