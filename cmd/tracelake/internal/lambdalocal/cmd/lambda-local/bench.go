package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/spf13/pflag"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracelake/tracelake/cmd/tracelake/internal/lambdalocal"
	"github.com/tracelake/tracelake/storage/tracegen"
)

// runBench measures what a Lambda deployment pays that a pod does not:
// cold starts (process start to first response, under the emulator) of the
// ingest and query functions, and the peak memory of a large request in
// the smallest function size.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("lambda-local bench", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	bootstrap := fs.String("bootstrap", "bin/lambda/local/bootstrap", "the Lambda bootstrap (tracelake built with -tags lambda.norpc)")
	storageURL := fs.String("storage", "", "storage URL (credentials from AWS_* variables); empty starts a MinIO server")
	minioBin := fs.String("minio", ".tools/bin/minio", "MinIO server binary, when --storage is empty")
	runs := fs.Int("runs", 15, "cold starts measured per function")
	memory := fs.Int("memory", 128, "function memory size, MB")
	requestMiB := fs.Float64("request-mib", 4, "size of the large OTLP request, MiB of protobuf")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := openBackend(ctx, *storageURL, *minioBin, "bench", stderr)
	if err != nil {
		return err
	}
	defer b.stop()
	cfg := func(role string) lambdalocal.Config {
		return functionConfig(role, *bootstrap, b, *memory, []string{"TRACELAKE_LOG_LEVEL=warn"}, stderr)
	}

	small, traceID, err := otlpEvent(1, 0)
	if err != nil {
		return err
	}
	ingestCold, err := coldStarts(ctx, cfg("ingest"), small.payload, *runs)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	// The query function's first request reads the trace just written.
	lookup, err := httpEvent("GET", "/api/traces/"+traceID, "", nil).marshal()
	if err != nil {
		return err
	}
	queryCold, err := coldStarts(ctx, cfg("query"), lookup, *runs)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	services, err := httpEvent("GET", "/api/services", "", nil).marshal()
	if err != nil {
		return err
	}
	servicesCold, err := coldStarts(ctx, cfg("query"), services, *runs)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}

	// Compact what the cold starts wrote (settle -1h: the hour in progress;
	// a second pass deletes the inputs), and start the query function
	// again on the block.
	cc := functionConfig("compact", *bootstrap, b, 1024, []string{"TRACELAKE_LOG_LEVEL=warn", "TRACELAKE_COMPACTOR_SETTLE=-1h", "TRACELAKE_COMPACTOR_GRACE=0s"}, stderr)
	cf, err := lambdalocal.New(cc)
	if err != nil {
		return err
	}
	for range 2 {
		r, err := cf.Invoke(ctx, lambdalocal.ScheduledEvent(time.Now(), "us-east-1", "arn:aws:events:us-east-1:123456789012:rule/bench"))
		if err == nil && r.Err != nil {
			err = r.Err
		}
		if err != nil {
			cf.Close()
			return fmt.Errorf("compact: %w", err)
		}
	}
	cf.Close()
	compactedCold, err := coldStarts(ctx, cfg("query"), lookup, *runs)
	if err != nil {
		return fmt.Errorf("query after compaction: %w", err)
	}

	big, _, err := otlpEvent(0, int(*requestMiB*(1<<20)))
	if err != nil {
		return err
	}
	f, err := lambdalocal.New(cfg("ingest"))
	if err != nil {
		return err
	}
	defer f.Close()
	first, err := invokeOK(ctx, f, big.payload)
	if err != nil {
		return fmt.Errorf("large request: %w", err)
	}
	var warm []*lambdalocal.Result
	for range 3 {
		r, err := invokeOK(ctx, f, big.payload)
		if err != nil {
			return fmt.Errorf("large request: %w", err)
		}
		warm = append(warm, r)
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tp50\tmin\tmax\taim\n")
	row := func(name string, rs []*lambdalocal.Result, pick func(*lambdalocal.Result) time.Duration, aim string) {
		ds := make([]time.Duration, len(rs))
		for i, r := range rs {
			ds[i] = pick(r)
		}
		slices.Sort(ds)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, ms(ds[len(ds)/2]), ms(ds[0]), ms(ds[len(ds)-1]), aim)
	}
	total := func(r *lambdalocal.Result) time.Duration { return r.Duration }
	initOnly := func(r *lambdalocal.Result) time.Duration { return r.Init }
	row("ingest cold start: process start → response (10-span OTLP export, written to S3)", ingestCold, total, "≤ 50 ms")
	row("  of which init: process start → first request for work", ingestCold, initOnly, "")
	row(fmt.Sprintf("query cold start: process start → response (trace by ID, %d uncompacted files)", *runs+1), queryCold, total, "≤ 50 ms")
	row(fmt.Sprintf("query cold start: process start → response (/api/services, %d uncompacted files)", *runs+1), servicesCold, total, "")
	row("query cold start: process start → response (trace by ID, one block)", compactedCold, total, "≤ 50 ms")
	row("  of which init", queryCold, initOnly, "")
	row(fmt.Sprintf("%.1f MiB OTLP request (%d spans), cold", float64(big.size)/(1<<20), big.spans), []*lambdalocal.Result{first}, total, "")
	row(fmt.Sprintf("%.1f MiB OTLP request, warm", float64(big.size)/(1<<20)), warm, total, "")
	tw.Flush()
	peak := first.PeakRSS
	for _, r := range warm {
		peak = max(peak, r.PeakRSS)
	}
	var coldPeak int64
	for _, r := range ingestCold {
		coldPeak = max(coldPeak, r.PeakRSS)
	}
	fmt.Fprintf(stdout, "\npeak RSS, %d MB ingest function: %.1f MiB after a 10-span export; %.1f MiB after %.1f MiB OTLP requests (aim ≤ 128 MB)\n",
		*memory, float64(coldPeak)/(1<<20), float64(peak)/(1<<20), float64(big.size)/(1<<20))
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// coldStarts invokes a fresh function n times: each invocation starts its
// process.
func coldStarts(ctx context.Context, cfg lambdalocal.Config, payload []byte, n int) ([]*lambdalocal.Result, error) {
	var out []*lambdalocal.Result
	for range n {
		f, err := lambdalocal.New(cfg)
		if err != nil {
			return nil, err
		}
		r, err := invokeOK(ctx, f, payload)
		f.Close()
		if err != nil {
			return nil, err
		}
		if !r.Cold {
			return nil, fmt.Errorf("a new function's first invocation was not cold")
		}
		out = append(out, r)
	}
	return out, nil
}

// invokeOK invokes f and checks the function answered 2xx.
func invokeOK(ctx context.Context, f *lambdalocal.Function, payload []byte) (*lambdalocal.Result, error) {
	r, err := f.Invoke(ctx, payload)
	if err != nil {
		return nil, err
	}
	if r.Err != nil {
		return nil, r.Err
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(r.Payload, &resp); err != nil {
		return nil, fmt.Errorf("answer %q: %w", r.Payload, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, resp.Body)
	}
	return r, nil
}

type benchEvent struct {
	payload     []byte
	size, spans int
}

// otlpEvent is a Function URL event carrying an OTLP/HTTP protobuf export
// of the given number of traces, or of at least size bytes, and the ID of
// its first trace.
func otlpEvent(traces, size int) (*benchEvent, string, error) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	if size > 0 {
		// Telemetrygen traces of 10 spans; grow until the request is large enough.
		traces = max(1, size/1500)
	}
	for {
		td := tracegen.Telemetrygen(rng, traces, 9, time.Now())
		body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			return nil, "", err
		}
		if len(body) >= size {
			id := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID().String()
			ev := httpEvent("POST", "/v1/traces", base64.StdEncoding.EncodeToString(body), map[string]string{"content-type": "application/x-protobuf"})
			ev.IsBase64 = true
			p, err := ev.marshal()
			return &benchEvent{payload: p, size: len(body), spans: td.SpanCount()}, id, err
		}
		traces = traces*size/len(body) + 1
	}
}

type eventBuilder struct {
	events.LambdaFunctionURLRequest
	IsBase64 bool
}

func (e *eventBuilder) marshal() ([]byte, error) {
	e.IsBase64Encoded = e.IsBase64
	return json.Marshal(e.LambdaFunctionURLRequest)
}

func httpEvent(method, path, body string, headers map[string]string) *eventBuilder {
	return &eventBuilder{LambdaFunctionURLRequest: events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: path, Headers: headers, Body: body,
		RequestContext: events.LambdaFunctionURLRequestContext{
			DomainName: "bench.lambda-url.us-east-1.on.aws",
			HTTP:       events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
		},
	}}
}
