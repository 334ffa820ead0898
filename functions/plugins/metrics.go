package plugins

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracelake/tracelake/internal/promreg"
)

type metrics struct {
	reloads        *prometheus.CounterVec
	loads          *prometheus.CounterVec
	loaded         prometheus.Gauge
	lastSuccessful prometheus.Gauge
	config         *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_plugins_reloads_total",
			Help: "Attempts to replace the sampling plugin chains with a changed configuration or changed plugins, by result (ok, error).",
		}, []string{"result"}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_plugins_loads_total",
			Help: "Sampling plugins loaded (compiled, checked and initialised), by plugin and result (ok, error). Unchanged plugins are reused across reloads, not loaded again.",
		}, []string{"plugin", "result"}),
		loaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracelake_plugins_loaded",
			Help: "Sampling plugins in the chains in force.",
		}),
		lastSuccessful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracelake_plugins_last_reload_successful",
			Help: "1 when the chains in force are the configured ones, 0 when the last configuration or plugin change was rejected.",
		}),
		config: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tracelake_plugins_config_info",
			Help: "1 for the fingerprint of the chains in force: their configuration and the contents of their plugins.",
		}, []string{"fingerprint"}),
	}
	if reg != nil {
		m.reloads = promreg.MustRegister(reg, m.reloads)
		m.loads = promreg.MustRegister(reg, m.loads)
		m.loaded = promreg.MustRegister(reg, m.loaded)
		m.lastSuccessful = promreg.MustRegister(reg, m.lastSuccessful)
		m.config = promreg.MustRegister(reg, m.config)
	}
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("error")
	m.lastSuccessful.Set(1)
	return m
}
