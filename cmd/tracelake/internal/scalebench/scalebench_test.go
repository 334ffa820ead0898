package scalebench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracelake/tracelake/storage/objstore/s3/s3test"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	if err := s3test.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop MinIO:", err)
		code = 1
	}
	os.Exit(code)
}

// built is the tracelake binary the pipeline test runs as its query
// service: $TRACELAKE_BIN, or built once per test process.
var built struct {
	once      sync.Once
	dir, path string
	err       error
}

func tracelakeBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("TRACELAKE_BIN"); bin != "" {
		return bin
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "tracelake-scalebench-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "tracelake")
		args := []string{"build", "-o", built.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "github.com/tracelake/tracelake/cmd/tracelake")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("build tracelake: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// The whole pipeline at a tiny size, against the tests' MinIO and a real
// "tracelake query" process: generate, write, compact, look up, search,
// profile, report.
func TestRunTiny(t *testing.T) {
	srv := s3test.Start(t)
	cfg := DefaultConfig()
	// Four hours of several files each: several windows, each of several
	// files, and few blocks to search (the test runs under -race too).
	cfg.Spans, cfg.Traces, cfg.Hours, cfg.FileSpans = 20_000, 2_000, 4, 2_500
	cfg.BigTraces, cfg.BigTraceSpans = 2, 500
	cfg.Lookups, cfg.SearchRuns = 10, 2
	cfg.ProfileChunk = time.Second
	cfg.Tracelake = tracelakeBinary(t)
	cfg.S3 = &S3Target{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: srv.CreateBucket(t, t.Name())}
	cfg.OutDir, cfg.WorkDir = t.TempDir(), t.TempDir()

	var log bytes.Buffer
	rep, err := Run(t.Context(), cfg, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Logf("took %.1fs: generate %.1fs, compact %.1fs, query %.1fs", rep.Seconds, rep.Data.Seconds, rep.Compaction.Seconds, rep.QuerySeconds)
	d, c := rep.Data, rep.Compaction
	if d.Spans != 20_000 || d.Traces != 2_000 || d.Files != 8 {
		t.Errorf("data: %+v", d)
	}
	if d.OTLPBytesPerSpan < 100 || d.FileBytesPerSpan <= 0 || d.ErrorSpans == 0 {
		t.Errorf("data sizes: %+v", d)
	}
	if c.Blocks != 4 || c.SpansPerCoreSecond <= 0 || c.DataBytesPerSpan <= 0 || c.IndexBytesPerSpan <= 0 || c.BloomBytesPerSpan <= 0 || c.AggregatesBytesPerSpan <= 0 || c.AttrFilterBytesPerSpan <= 0 {
		t.Errorf("compaction: %+v", c)
	}
	if l := rep.Lookups; l != nil {
		t.Logf("lookups: cold p50 %.0f ms, warm p50 %.0f ms, big %+v", l.Cold.P50, l.Warm.P50, l.Big)
	}
	if l := rep.Lookups; l == nil || l.IDs != 10 || l.Warm.Count != 10 || len(l.Big) != 2 || l.Big[0].Spans != 500 || l.Big[0].Warm == 0 {
		t.Errorf("lookups: %+v", rep.Lookups)
	}
	if len(rep.Searches) != 7 {
		t.Fatalf("%d search shapes", len(rep.Searches))
	}
	for _, s := range rep.Searches {
		t.Logf("%s: p50 %.0f ms, max %.0f ms", s.Shape, s.Latency.P50, s.Latency.Max)
		if s.Latency.Count != 2 || s.Example == "" {
			t.Errorf("search %+v", s)
		}
		// Every search asks for something that exists, but a service's
		// spans may hold no 500 at this size.
		if s.Empty == 2 && !strings.Contains(s.Shape, "500") {
			t.Errorf("search %q found nothing: %+v", s.Shape, s)
		}
	}
	if rep.ScanSpansPerCoreSecond <= 0 || rep.QueryPeakRSSBytes <= 0 {
		t.Errorf("scan rate %v, peak RSS %d", rep.ScanSpansPerCoreSecond, rep.QueryPeakRSSBytes)
	}
	var names []string
	for _, p := range rep.Profiles {
		names = append(names, p.Name)
		if len(p.Files) == 0 {
			t.Errorf("profile %q has no files", p.Name)
		}
	}
	if len(rep.Profiles) != 4 {
		t.Errorf("profiles: %q", names)
	}
	md, err := os.ReadFile(filepath.Join(cfg.OutDir, resultsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| trace by ID, warm, p50 / p99", "| bytes per span after compaction", "## Searches", "## Where the time goes", "### compaction"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.OutDir, resultsJSON)); err != nil {
		t.Error(err)
	}
}
