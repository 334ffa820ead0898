package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterShares(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := MustRegister(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"}))
	b := MustRegister(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"}))
	if a != b {
		t.Fatal("the second registration did not return the first collector")
	}
	// Same name, another help: not the same metric.
	if _, err := Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "other"})); err == nil {
		t.Fatal("a conflicting collector was accepted")
	}
}
