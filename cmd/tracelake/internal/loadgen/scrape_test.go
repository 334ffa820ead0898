package loadgen

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	tests := []struct {
		name string
		text string
		want map[string]float64
	}{
		{
			name: "all",
			text: `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 1.2345678e+08
# TYPE tracelake_objstore_written_bytes_total counter
tracelake_objstore_written_bytes_total 4096
# TYPE tracelake_ingest_spans_accepted_total counter
tracelake_ingest_spans_accepted_total{tenant="a"} 10
tracelake_ingest_spans_accepted_total{tenant="b"} 32
# TYPE tracelake_ingest_pending_bytes gauge
tracelake_ingest_pending_bytes 0
# TYPE go_goroutines gauge
go_goroutines 42
`,
			want: map[string]float64{metricCPU: 12.5, metricRSS: 123456780, metricWritten: 4096, metricAccepted: 42, metricPending: 0},
		},
		{
			name: "untyped and missing",
			text: "process_cpu_seconds_total 3\n",
			want: map[string]float64{metricCPU: 3},
		},
		{
			name: "histogram under a wanted name is not a value",
			text: "# TYPE tracelake_ingest_pending_bytes histogram\ntracelake_ingest_pending_bytes_bucket{le=\"+Inf\"} 1\ntracelake_ingest_pending_bytes_sum 1\ntracelake_ingest_pending_bytes_count 1\n",
			want: map[string]float64{},
		},
		{name: "empty", want: map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseMetrics(strings.NewReader(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.values) != len(tt.want) {
				t.Errorf("got %v, want %v", s.values, tt.want)
			}
			for k, v := range tt.want {
				if got, ok := s.get(k); !ok || got != v {
					t.Errorf("%s = %v (%v), want %v", k, got, ok, v)
				}
			}
		})
	}
}

func TestParseMetricsRejectsGarbage(t *testing.T) {
	if _, err := parseMetrics(strings.NewReader("process_cpu_seconds_total twelve\n")); err == nil {
		t.Fatal("parsed a non-number")
	}
}

func TestDelta(t *testing.T) {
	a := sample{values: map[string]float64{metricCPU: 2, metricWritten: 10}}
	b := sample{values: map[string]float64{metricCPU: 5, metricWritten: 4}}
	if d, ok := delta(a, b, metricCPU); !ok || d != 3 {
		t.Errorf("cpu delta = %v %v, want 3", d, ok)
	}
	if _, ok := delta(a, b, metricWritten); ok {
		t.Error("a counter that went down gave a delta")
	}
	if _, ok := delta(a, b, metricRSS); ok {
		t.Error("a missing metric gave a delta")
	}
	if _, ok := delta(b, sample{}, metricCPU); ok {
		t.Error("a metric gone missing gave a delta")
	}
	b.values[metricAccepted] = 7
	if d, ok := delta(a, b, metricAccepted); !ok || d != 7 {
		t.Errorf("delta of a counter that appeared = %v %v, want 7", d, ok)
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add("process_cpu_seconds_total 1\n")
	f.Add("# TYPE x counter\nx{a=\"b\"} 1e3\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := parseMetrics(strings.NewReader(text))
		if err == nil && s.values == nil {
			t.Fatal("nil values without an error")
		}
	})
}
