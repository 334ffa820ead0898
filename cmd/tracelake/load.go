package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/tracelake/tracelake/cmd/tracelake/internal/loadgen"
)

// runLoad is "tracelake load": it replays OTLP load against a running
// instance and reports throughput per server core, stored bytes per span,
// memory and latencies.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("tracelake load", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadgen.Config
	fs.StringVar(&cfg.Protocol, "protocol", "grpc", "how to send spans: grpc or http (OTLP), zipkin (Zipkin v2 JSON) or jaeger-thrift (Jaeger Thrift over HTTP)")
	fs.StringVar(&cfg.Endpoint, "endpoint", "", "where to send (default: 127.0.0.1:4317 for grpc, http://127.0.0.1:4318 for http, http://127.0.0.1:9411 for zipkin, http://127.0.0.1:14268 for jaeger-thrift)")
	fs.StringVar(&cfg.QueryURL, "query-url", "http://127.0.0.1:16686", "query API to time trace-by-ID lookups on (empty skips them)")
	fs.StringVar(&cfg.MetricsURL, "metrics-url", "http://127.0.0.1:14269/metrics", "server's /metrics, for its CPU, memory and stored bytes (empty skips them)")
	fs.StringVar(&cfg.Tenant, "tenant", "", "tenant to send as X-Scope-OrgID (empty sends none)")
	fs.IntVar(&cfg.Workers, "workers", loadgen.DefaultWorkers, "concurrent senders; each waits for its export to be durable (up to the server's batch delay), so high rates need many")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to send")
	fs.IntVar(&cfg.Rate, "rate", 0, "target spans per second in total (0: as fast as the server acknowledges)")
	fs.IntVar(&cfg.SpansPerRequest, "spans-per-request", loadgen.DefaultSpansPerRequest, "spans in each export request")
	fs.BoolVar(&cfg.Gzip, "gzip", false, "gzip every request")
	fs.IntVar(&cfg.Lookups, "lookups", loadgen.DefaultLookups, "trace-by-ID lookups after the load (an empty --query-url skips them)")
	fs.Uint64Var(&cfg.Seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	report, err := loadgen.Run(ctx, cfg, stderr)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(report)
	} else {
		err = report.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	// Wrong answers (lost spans, failed lookups) fail the command, so a
	// benchmark run cannot hide them.
	return report.Err()
}
