package loadgen

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Config{Protocol: "grpc", Endpoint: "127.0.0.1:4317", Duration: time.Second}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{name: "grpc", edit: func(*Config) {}},
		{name: "http", edit: func(c *Config) {
			c.Protocol, c.Endpoint = "http", "http://127.0.0.1:4318"
			c.QueryURL, c.MetricsURL = "http://127.0.0.1:16686", "http://127.0.0.1:14269/metrics"
		}},
		{name: "protocol", edit: func(c *Config) { c.Protocol = "thrift" }, wantErr: "protocol"},
		{name: "grpc URL", edit: func(c *Config) { c.Endpoint = "http://127.0.0.1:4317" }, wantErr: "host:port"},
		{name: "http host:port", edit: func(c *Config) { c.Protocol = "http" }, wantErr: "http endpoint"},
		{name: "query URL", edit: func(c *Config) { c.QueryURL = "127.0.0.1:16686" }, wantErr: "query URL"},
		{name: "metrics URL", edit: func(c *Config) { c.MetricsURL = "ftp://x/metrics" }, wantErr: "metrics URL"},
		{name: "duration", edit: func(c *Config) { c.Duration = 0 }, wantErr: "duration"},
		{name: "workers", edit: func(c *Config) { c.Workers = -1 }, wantErr: "workers"},
		{name: "rate", edit: func(c *Config) { c.Rate = -1 }, wantErr: "rate"},
		{name: "one span", edit: func(c *Config) { c.SpansPerRequest = 1 }, wantErr: "spans per request"},
		{name: "lookups", edit: func(c *Config) { c.Lookups = -1 }, wantErr: "lookups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.Workers != DefaultWorkers || c.SpansPerRequest != DefaultSpansPerRequest || c.Lookups != DefaultLookups {
		t.Fatalf("withDefaults() = %+v", c)
	}
}

func TestTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4318":            "http://127.0.0.1:4318/v1/traces",
		"http://127.0.0.1:4318/":           "http://127.0.0.1:4318/v1/traces",
		"https://otel.example/prefix":      "https://otel.example/prefix/v1/traces",
		"http://127.0.0.1:4318/v1/traces":  "http://127.0.0.1:4318/v1/traces",
		"http://127.0.0.1:4318/v1/traces/": "http://127.0.0.1:4318/v1/traces",
	} {
		if got := tracesURL(in); got != want {
			t.Errorf("tracesURL(%q) = %q, want %q", in, got, want)
		}
	}
}
