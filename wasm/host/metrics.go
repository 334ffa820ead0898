package host

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracelake/tracelake/internal/promreg"
)

type metrics struct {
	batches, spans, edits *prometheus.CounterVec
	duration              *prometheus.HistogramVec
	instances             *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_plugin_batches_total",
			Help: "Batches a sampling plugin was called with, by plugin and result (ok, error, trap, timeout, memory, bad_output, instance).",
		}, []string{"plugin", "result"}),
		spans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_plugin_spans_total",
			Help: "Spans a sampling plugin decided on, by plugin and decision (kept, dropped); failed batches count by their policy's outcome.",
		}, []string{"plugin", "decision"}),
		edits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_plugin_edits_total",
			Help: "Attribute and trace state edits a sampling plugin applied, by plugin.",
		}, []string{"plugin"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tracelake_plugin_batch_duration_seconds",
			Help:    "Time to run a sampling plugin over one batch, including writing the batch and reading its answer.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 2, 16),
		}, []string{"plugin"}),
		instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tracelake_plugin_instances",
			Help: "Instances of a sampling plugin alive, by plugin.",
		}, []string{"plugin"}),
	}
	if reg != nil {
		m.batches = promreg.MustRegister(reg, m.batches)
		m.spans = promreg.MustRegister(reg, m.spans)
		m.edits = promreg.MustRegister(reg, m.edits)
		m.duration = promreg.MustRegister(reg, m.duration)
		m.instances = promreg.MustRegister(reg, m.instances)
	}
	return m
}

// pluginMetrics are one plugin's series, looked up once at load: a label
// lookup per batch would cost more than some plugins' work.
type pluginMetrics struct {
	kept, dropped, edits, ok prometheus.Counter
	duration                 prometheus.Observer
	instances                prometheus.Gauge
}

func (m *metrics) forPlugin(name string) pluginMetrics {
	return pluginMetrics{
		kept:      m.spans.WithLabelValues(name, "kept"),
		dropped:   m.spans.WithLabelValues(name, "dropped"),
		edits:     m.edits.WithLabelValues(name),
		ok:        m.batches.WithLabelValues(name, "ok"),
		duration:  m.duration.WithLabelValues(name),
		instances: m.instances.WithLabelValues(name),
	}
}
