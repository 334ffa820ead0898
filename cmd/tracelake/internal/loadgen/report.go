package loadgen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// The targets tracelake's speed is held to, printed beside the figures.
const (
	TargetSpansPerCore = 150_000
	TargetBytesPerSpan = 60
	TargetRSSBytes     = 300 << 20
)

// Report is what a run measured. Server figures are nil (JSON null) when
// they are unknown: no metrics URL, a failed scrape, or a metric the
// server does not expose.
type Report struct {
	// Protocol is Config.Protocol, and Encoding what it sends: "OTLP
	// protobuf", "Zipkin v2 JSON" or "Jaeger Thrift binary".
	Protocol        string `json:"protocol"`
	Encoding        string `json:"encoding"`
	Endpoint        string `json:"endpoint"`
	Workers         int    `json:"workers"`
	SpansPerRequest int    `json:"spans_per_request"`
	// TargetRate is the configured spans per second; 0 is unlimited.
	TargetRate int    `json:"target_rate"`
	Gzip       bool   `json:"gzip"`
	Seed       uint64 `json:"seed"`
	// Interrupted is true when the run was cancelled before its duration.
	Interrupted bool `json:"interrupted,omitempty"`

	// DurationSeconds is how long requests were sent.
	DurationSeconds float64 `json:"duration_seconds"`
	RequestsOK      int64   `json:"requests_ok"`
	RequestsFailed  int64   `json:"requests_failed"`
	// Failures counts failed requests by answer: "http 503",
	// "grpc Unavailable", "transport" (no answer).
	Failures   map[string]int64 `json:"failures,omitempty"`
	FirstError string           `json:"first_error,omitempty"`
	// SpansAcked is the spans in requests the server acknowledged, less
	// those it rejected in partial successes (SpansRejected).
	SpansAcked           int64   `json:"spans_acked"`
	SpansRejected        int64   `json:"spans_rejected"`
	ClientSpansPerSecond float64 `json:"client_spans_per_second"`
	// RequestBytesPerSpan is the uncompressed request (in Encoding) per
	// span sent.
	RequestBytesPerSpan float64 `json:"request_bytes_per_span"`
	// ExportLatency is over acknowledged requests, send to answer.
	ExportLatency Latency `json:"export_latency"`
	// ClientCPUSeconds is what this tool spent while sending: on a shared
	// machine, the CPU the server did not get.
	ClientCPUSeconds *float64 `json:"client_cpu_seconds"`

	Server Server `json:"server"`
	// Lookup is nil when the trace-by-ID phase was skipped.
	Lookup  *Lookup `json:"lookup"`
	Machine Machine `json:"machine"`

	// Errors are results that mean the server misbehaved or nothing was
	// measured; Warnings qualify the figures.
	Errors   []string `json:"errors,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Server holds the figures read from the server's /metrics, from a scrape
// before the load to one after it has flushed everything.
type Server struct {
	// WallSeconds is the time between the two scrapes.
	WallSeconds float64 `json:"wall_seconds"`
	// CPUSeconds is the server's CPU time between the scrapes, and Cores
	// that over WallSeconds.
	CPUSeconds *float64 `json:"cpu_seconds"`
	Cores      *float64 `json:"cores"`
	// SpansPerSecondPerCore is acknowledged spans per server CPU second.
	SpansPerSecondPerCore *float64 `json:"spans_per_second_per_core"`
	// StoredBytes is what the server wrote to object storage; BytesPerSpan
	// that over acknowledged spans.
	StoredBytes  *float64 `json:"stored_bytes"`
	BytesPerSpan *float64 `json:"bytes_per_span"`
	// PeakRSSBytes is the largest resident set seen, scraping every second.
	PeakRSSBytes *float64 `json:"peak_rss_bytes"`
	// SpansAccepted is the server's own count, to check SpansAcked by.
	SpansAccepted *float64 `json:"spans_accepted"`
}

// Machine is where the tool ran (and, for make bench, the server too).
type Machine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model,omitempty"`
	GoVersion  string `json:"go_version"`
}

// ThisMachine describes the machine the process runs on.
func ThisMachine() Machine {
	return Machine{
		GOOS:       runtime.GOOS,
		GOARCH:     runtime.GOARCH,
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPUModel:   cpuModel(),
		GoVersion:  runtime.Version(),
	}
}

// cpuModel is the first "model name" of /proc/cpuinfo; empty where there
// is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Err returns the report's errors as one error, or nil when there are
// none; a command can exit non-zero on it after printing the report.
func (r Report) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	return errors.New(strings.Join(r.Errors, "; "))
}

// WriteText writes the report for people to read.
func (r Report) WriteText(w io.Writer) error {
	tw := &textWriter{w: w}
	rate := "unlimited rate"
	if r.TargetRate > 0 {
		rate = "rate " + group(int64(r.TargetRate)) + " spans/s"
	}
	gz := "no gzip"
	if r.Gzip {
		gz = "gzip"
	}
	tw.printf("tracelake load: %s (%s) to %s, %d workers, %d spans/request, %s, %s\n",
		r.Protocol, r.Encoding, r.Endpoint, r.Workers, r.SpansPerRequest, rate, gz)
	m := r.Machine
	tw.printf("machine: %s/%s, %d CPUs, GOMAXPROCS %d, %s", m.GOOS, m.GOARCH, m.NumCPU, m.GOMAXPROCS, m.GoVersion)
	if m.CPUModel != "" {
		tw.printf(", %s", m.CPUModel)
	}
	tw.printf("\n")
	if r.Interrupted {
		tw.printf("INTERRUPTED before the end of the run\n")
	}

	tw.printf("\nexport\n")
	tw.row("duration", "%.1f s", r.DurationSeconds)
	reqs := group(r.RequestsOK) + " ok, " + group(r.RequestsFailed) + " failed"
	if len(r.Failures) > 0 {
		reqs += " (" + failureList(r.Failures) + ")"
	}
	tw.row("requests", "%s", reqs)
	if r.FirstError != "" {
		tw.row("first error", "%s", r.FirstError)
	}
	tw.row("spans acked", "%s (%s rejected)", group(r.SpansAcked), group(r.SpansRejected))
	tw.row("client rate", "%s spans/s", group(int64(r.ClientSpansPerSecond+0.5)))
	tw.row("request size", "%.1f bytes/span (%s, uncompressed)", r.RequestBytesPerSpan, r.Encoding)
	tw.row("latency", "%s", latencyText(r.ExportLatency))
	if r.ClientCPUSeconds != nil && r.DurationSeconds > 0 {
		tw.row("client cpu", "%.2f s, %.2f cores on average", *r.ClientCPUSeconds, *r.ClientCPUSeconds/r.DurationSeconds)
	}

	s := r.Server
	tw.printf("\nserver\n")
	if s.CPUSeconds != nil && s.Cores != nil {
		tw.row("cpu", "%.2f s, %.2f cores on average over %.1f s", *s.CPUSeconds, *s.Cores, s.WallSeconds)
	} else {
		tw.row("cpu", "unknown")
	}
	if s.SpansPerSecondPerCore != nil {
		tw.row("throughput", "%s spans/s per core   (target >= %s)", group(int64(*s.SpansPerSecondPerCore+0.5)), group(TargetSpansPerCore))
	} else {
		tw.row("throughput", "unknown")
	}
	if s.BytesPerSpan != nil && s.StoredBytes != nil {
		tw.row("stored", "%.1f bytes/span, %s in all   (target <= %d)", *s.BytesPerSpan, bytesText(*s.StoredBytes), TargetBytesPerSpan)
	} else {
		tw.row("stored", "unknown")
	}
	if s.PeakRSSBytes != nil {
		tw.row("peak RSS", "%s   (target < %s)", bytesText(*s.PeakRSSBytes), bytesText(TargetRSSBytes))
	} else {
		tw.row("peak RSS", "unknown")
	}
	if s.SpansAccepted != nil {
		tw.row("spans accepted", "%s", group(int64(*s.SpansAccepted)))
	} else {
		tw.row("spans accepted", "unknown")
	}

	if l := r.Lookup; l != nil {
		tw.printf("\ntrace by ID\n")
		tw.row("lookups", "%d, %d right, %d wrong", l.Lookups, l.OK, l.Wrong)
		if len(l.Failures) > 0 {
			f := make(map[string]int64, len(l.Failures))
			for k, v := range l.Failures {
				f[k] = int64(v)
			}
			tw.row("wrong answers", "%s", failureList(f))
			tw.row("first error", "%s", l.FirstError)
		}
		tw.row("latency", "%s", latencyText(l.Latency))
	}

	if len(r.Warnings) > 0 {
		tw.printf("\nwarnings\n")
		for _, w := range r.Warnings {
			tw.printf("  %s\n", w)
		}
	}
	if len(r.Errors) > 0 {
		tw.printf("\nERRORS\n")
		for _, e := range r.Errors {
			tw.printf("  %s\n", e)
		}
	}
	return tw.err
}

type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

func (t *textWriter) row(label, format string, args ...any) {
	t.printf("  %-16s"+format+"\n", append([]any{label}, args...)...)
}

func latencyText(l Latency) string {
	if l.Count == 0 {
		return "none measured"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s ms  (%s answers)",
		ms(l.P50Millis), ms(l.P90Millis), ms(l.P99Millis), ms(l.MaxMillis), group(int64(l.Count)))
}

func ms(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func failureList(f map[string]int64) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + group(f[k])
	}
	return strings.Join(parts, ", ")
}

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func bytesText(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}
