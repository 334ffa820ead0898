package scalebench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/sync/errgroup"

	"github.com/tracelake/tracelake/cmd/tracelake/internal/loadgen"
	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/tracestore"
)

// ingested is what the ingest phase wrote.
type ingested struct {
	files, spans, traces, errors int64
	// otlpBytes is the OTLP protobuf encoding of every file's spans
	// (ExportTraceServiceRequest bodies, one per file, resources per
	// service instance), fileBytes the span files written.
	otlpBytes, fileBytes int64
	wall, cpu            time.Duration
	samples              []traceSample
	users                []userSample
}

// ingest generates and writes files with cfg.Workers writers, each with
// its own Store whose clock says the file is written just after its
// spans ended, within their hour: the file lands in the window ingest
// would have put it in.
func ingest(ctx context.Context, cfg Config, bucket objstore.Bucket, w *world, files []fileSpec, log io.Writer) (*ingested, error) {
	res := &ingested{}
	var mu sync.Mutex
	// Kept by file, so the run's samples do not depend on which writer
	// finished first.
	samples := make([][]traceSample, len(files))
	users := make([][]userSample, len(files))
	cpu0, _ := loadgen.ProcessCPU()
	start := time.Now()
	nextReport := 10

	jobs := make(chan fileSpec)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(jobs)
		for _, f := range files {
			select {
			case jobs <- f:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range cfg.Workers {
		g.Go(func() error {
			var now time.Time // read by store.Write, on this goroutine only
			store := tracestore.New(bucket, tracestore.Config{Now: func() time.Time { return now }})
			var sizer ptrace.ProtoMarshaler
			for spec := range jobs {
				out := newGenerator(w, cfg.Seed, spec.index, cfg.ErrorRate).file(spec, cfg.BigTraceSpans)
				otlp := sizer.TracesSize(out.td)
				batch := tracestore.NewBatch(out.td)
				delay := 200*time.Millisecond + time.Duration(spec.index%800)*time.Millisecond
				now = time.Unix(0, out.maxEnd).Add(delay)
				if limit := spec.hourEnd.Add(-time.Millisecond); now.After(limit) {
					now = limit
				}
				ref, err := store.Write(ctx, cfg.Tenant, batch)
				if err != nil {
					return fmt.Errorf("write file %d: %w", spec.index, err)
				}
				mu.Lock()
				res.files++
				res.spans += int64(out.spans)
				res.traces += int64(out.traces)
				res.errors += int64(out.errors)
				res.otlpBytes += int64(otlp)
				res.fileBytes += ref.Size
				samples[spec.index] = out.samples
				users[spec.index] = out.users
				if pct := int(res.files * 100 / int64(len(files))); pct >= nextReport {
					fmt.Fprintf(log, "  ingest %3d%%: %d files, %d spans, %s\n", pct, res.files, res.spans, time.Since(start).Round(time.Second))
					nextReport = (pct/10 + 1) * 10
				}
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i := range files {
		res.samples = append(res.samples, samples[i]...)
		res.users = append(res.users, users[i]...)
	}
	res.wall = time.Since(start)
	cpu1, _ := loadgen.ProcessCPU()
	res.cpu = cpu1 - cpu0
	return res, nil
}
