package scalebench

import (
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

func TestFuncNames(t *testing.T) {
	for _, tc := range []struct{ fn, short, pkg string }{
		{"runtime.mallocgc", "runtime.mallocgc", "runtime"},
		{"github.com/parquet-go/parquet-go.(*Column).Pages", "github.com/parquet-go/parquet-go.(*Column).Pages", "github.com/parquet-go/parquet-go"},
		{"github.com/tracelake/tracelake/storage/spanfile/vparquet1.searchGroup[go.shape.struct { TraceID [16]uint8 \"parquet:\\\"trace_id\\\"\" }]",
			"github.com/tracelake/tracelake/storage/spanfile/vparquet1.searchGroup[…]", "github.com/tracelake/tracelake/storage/spanfile/vparquet1"},
		{"main.main.func1", "main.main.func1", "main"},
	} {
		short := shortName(tc.fn)
		if short != tc.short {
			t.Errorf("shortName(%q) = %q, want %q", tc.fn, short, tc.short)
		}
		if pkg := funcPackage(short); pkg != tc.pkg {
			t.Errorf("funcPackage(%q) = %q, want %q", short, pkg, tc.pkg)
		}
	}
}

// burned keeps burn's work from being optimised away.
var burned int

//go:noinline
func burn(d time.Duration) {
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 10_000 {
			n += i * i
		}
	}
	burned += n
}

// A CPU profile written by runtime/pprof is read back: the busy function
// is where the time went.
func TestSummarizeProfiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Skip("CPU profiling unavailable:", err)
	}
	burn(500 * time.Millisecond)
	pprof.StopCPUProfile()
	f.Close()

	sum, err := summarizeProfiles("test", []string{path, path}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if sum.TotalSeconds <= 0 || len(sum.Functions) == 0 || len(sum.Packages) == 0 {
		t.Fatalf("summary %+v", sum)
	}
	found := false
	for _, e := range sum.Functions {
		found = found || strings.HasSuffix(e.Name, "scalebench.burn")
	}
	if !found {
		t.Errorf("burn is not among the top functions: %+v", sum.Functions)
	}
	if _, err := summarizeProfiles("bad", []string{filepath.Join(t.TempDir(), "missing")}, 5); err == nil {
		t.Error("a missing profile was summarised")
	}
}

func TestSummarizeLatency(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := summarize(ds)
	if l.Count != 100 || l.P50 != 50 || l.P90 != 90 || l.P99 != 99 || l.Max != 100 {
		t.Errorf("%+v", l)
	}
	if l := summarize(ds[:3]); l.P99 != 100 || l.P50 != 99 {
		t.Errorf("3 samples: %+v", l)
	}
}

func TestProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	burn(50 * time.Millisecond)
	cpu, err := procCPU(os.Getpid())
	if err != nil || cpu <= 0 {
		t.Errorf("procCPU = %v, %v", cpu, err)
	}
	rss, err := procPeakRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Errorf("procPeakRSS = %d, %v", rss, err)
	}
	if m := thisMachine(); m.NumCPU <= 0 || m.MemBytes <= 0 {
		t.Errorf("machine %+v", m)
	}
}
