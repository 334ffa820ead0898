package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The server metrics the report is computed from.
const (
	metricCPU      = "process_cpu_seconds_total"
	metricRSS      = "process_resident_memory_bytes"
	metricWritten  = "tracelake_objstore_written_bytes_total"
	metricAccepted = "tracelake_ingest_spans_accepted_total"
	metricPending  = "tracelake_ingest_pending_bytes"
)

var scrapedMetrics = []string{metricCPU, metricRSS, metricWritten, metricAccepted, metricPending}

// A sample is one scrape: each metric's value summed over its series, and
// absent when the server does not expose it.
type sample struct {
	at     time.Time
	values map[string]float64
}

func (s sample) get(name string) (float64, bool) {
	v, ok := s.values[name]
	return v, ok
}

// delta returns how much a counter grew between two samples; false when
// the later lacks it or it went down (the server restarted). A counter
// missing only from the earlier one counts from zero: labelled counters
// have no series until first counted (tracelake's accepted spans appear
// with the first tenant).
func delta(before, after sample, name string) (float64, bool) {
	a, _ := before.get(name)
	b, ok := after.get(name)
	if !ok || b < a {
		return 0, false
	}
	return b - a, true
}

const scrapeTimeout = 2 * time.Second

func scrape(ctx context.Context, client *http.Client, url string) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return sample{}, err
	}
	// The classic text format, whatever else the server could offer.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return sample{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return sample{}, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	s, err := parseMetrics(resp.Body)
	if err != nil {
		return sample{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	s.at = time.Now()
	return s, nil
}

func parseMetrics(r io.Reader) (sample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return sample{}, err
	}
	s := sample{values: map[string]float64{}}
	for _, name := range scrapedMetrics {
		f, ok := families[name]
		if !ok {
			continue
		}
		var sum float64
		var found bool
		for _, m := range f.GetMetric() {
			if v, ok := value(f.GetType(), m); ok {
				sum += v
				found = true
			}
		}
		if found {
			s.values[name] = sum
		}
	}
	return s, nil
}

func value(t dto.MetricType, m *dto.Metric) (float64, bool) {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue(), m.Counter != nil
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue(), m.Gauge != nil
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue(), m.Untyped != nil
	}
	return 0, false
}
