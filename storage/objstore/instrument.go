package objstore

import (
	"context"
	"errors"
	"io"
	"iter"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracelake/tracelake/internal/promreg"
)

// Operation names, the "operation" label of the metrics Instrument records.
const (
	opGet          = "get"
	opGetRange     = "get_range"
	opAttributes   = "attributes"
	opList         = "list"
	opPut          = "put"
	opPutIfAbsent  = "put_if_absent"
	opDelete       = "delete"
	opOpenReaderAt = "open_reader_at"
)

// Results, the "result" label of tracelake_objstore_operations_total.
const (
	resultSuccess  = "success"
	resultNotFound = "not_found"
	resultExists   = "exists"
	resultError    = "error"
)

// Instrument returns a Bucket that records Prometheus metrics about b's
// operations in reg:
//
//   - tracelake_objstore_operations_total{operation,result}: calls, by result
//     (success, not_found, exists, error);
//   - tracelake_objstore_operation_duration_seconds{operation}: how long each
//     call took until it returned (for Get, until the object was opened, not
//     read; for List, the whole iteration);
//   - tracelake_objstore_written_bytes_total: bytes of objects stored;
//   - tracelake_objstore_read_bytes_total: bytes read through the readers
//     the bucket returned.
//
// Several buckets instrumented with one registry share the metrics. reg may
// be nil to record without exporting (tests). It panics if the metrics
// cannot be registered for another reason than being registered already,
// which is a programming error. The result implements ReaderAtOpener when b
// does.
func Instrument(b Bucket, reg prometheus.Registerer) Bucket {
	m := &metrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_objstore_operations_total",
			Help: "Object store operations, by operation and result (success, not_found, exists, error).",
		}, []string{"operation", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tracelake_objstore_operation_duration_seconds",
			Help: "Time object store operations took until they returned.",
			// From a local file in page cache to a slow S3 upload.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracelake_objstore_written_bytes_total",
			Help: "Bytes of objects successfully stored.",
		}),
		read: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracelake_objstore_read_bytes_total",
			Help: "Bytes read from objects.",
		}),
	}
	if reg != nil {
		m.ops = promreg.MustRegister(reg, m.ops)
		m.duration = promreg.MustRegister(reg, m.duration)
		m.written = promreg.MustRegister(reg, m.written)
		m.read = promreg.MustRegister(reg, m.read)
	}
	// Create every series up front so rates start from zero rather than
	// from the first failure.
	for _, op := range []string{opGet, opGetRange, opAttributes, opList, opPut, opPutIfAbsent, opDelete, opOpenReaderAt} {
		for _, res := range []string{resultSuccess, resultNotFound, resultExists, resultError} {
			m.ops.WithLabelValues(op, res)
		}
		m.duration.WithLabelValues(op)
	}

	in := &instrumented{b: b, m: m}
	if o, ok := b.(ReaderAtOpener); ok {
		return &instrumentedReaderAt{instrumented: in, o: o}
	}
	return in
}

type metrics struct {
	ops      *prometheus.CounterVec
	duration *prometheus.HistogramVec
	written  prometheus.Counter
	read     prometheus.Counter
}

// done records one finished operation that started at start.
func (m *metrics) done(op string, start time.Time, err error) {
	m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	m.ops.WithLabelValues(op, result(err)).Inc()
}

func result(err error) string {
	switch {
	case err == nil:
		return resultSuccess
	case errors.Is(err, ErrNotFound):
		return resultNotFound
	case errors.Is(err, ErrExists):
		return resultExists
	default:
		return resultError
	}
}

type instrumented struct {
	b Bucket
	m *metrics
}

func (i *instrumented) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := i.b.Get(ctx, key)
	i.m.done(opGet, start, err)
	if err != nil {
		return nil, err
	}
	return &countingReadCloser{rc: rc, c: i.m.read}, nil
}

func (i *instrumented) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := i.b.GetRange(ctx, key, off, length)
	i.m.done(opGetRange, start, err)
	if err != nil {
		return nil, err
	}
	return &countingReadCloser{rc: rc, c: i.m.read}, nil
}

func (i *instrumented) Attributes(ctx context.Context, key string) (Attrs, error) {
	start := time.Now()
	a, err := i.b.Attributes(ctx, key)
	i.m.done(opAttributes, start, err)
	return a, err
}

func (i *instrumented) List(ctx context.Context, prefix string, opts ListOptions) iter.Seq2[Attrs, error] {
	return func(yield func(Attrs, error) bool) {
		start := time.Now()
		var err error
		for a, e := range i.b.List(ctx, prefix, opts) {
			err = e
			if !yield(a, e) {
				break
			}
		}
		i.m.done(opList, start, err)
	}
}

func (i *instrumented) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	return i.put(ctx, opPut, i.b.Put, key, r, size)
}

func (i *instrumented) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return i.put(ctx, opPutIfAbsent, i.b.PutIfAbsent, key, r, size)
}

func (i *instrumented) put(ctx context.Context, op string, put func(context.Context, string, io.Reader, int64) error, key string, r io.Reader, size int64) error {
	// With a known size, r goes through untouched: backends look for
	// io.Seeker and io.ReaderAt on it to retry and parallelize uploads,
	// and a counting wrapper would hide them.
	var counter *countingReader
	if size < 0 {
		counter = &countingReader{r: r}
		r = counter
	}
	start := time.Now()
	err := put(ctx, key, r, size)
	i.m.done(op, start, err)
	if err == nil {
		if counter != nil {
			size = counter.n.Load()
		}
		i.m.written.Add(float64(size))
	}
	return err
}

func (i *instrumented) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := i.b.Delete(ctx, key)
	i.m.done(opDelete, start, err)
	return err
}

func (i *instrumented) Name() string { return i.b.Name() }

func (i *instrumented) Close() error { return i.b.Close() }

type instrumentedReaderAt struct {
	*instrumented
	o ReaderAtOpener
}

func (i *instrumentedReaderAt) OpenReaderAt(ctx context.Context, key string) (ReaderAtCloser, int64, error) {
	start := time.Now()
	ra, size, err := i.o.OpenReaderAt(ctx, key)
	i.m.done(opOpenReaderAt, start, err)
	if err != nil {
		return nil, 0, err
	}
	return &countingReaderAt{ra: ra, c: i.m.read}, size, nil
}

type countingReadCloser struct {
	rc io.ReadCloser
	c  prometheus.Counter
}

func (r *countingReadCloser) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if n > 0 {
		r.c.Add(float64(n))
	}
	return n, err
}

func (r *countingReadCloser) Close() error { return r.rc.Close() }

type countingReaderAt struct {
	ra ReaderAtCloser
	c  prometheus.Counter
}

func (r *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.ra.ReadAt(p, off)
	if n > 0 {
		r.c.Add(float64(n))
	}
	return n, err
}

func (r *countingReaderAt) Close() error { return r.ra.Close() }

// countingReader counts the bytes of an upload of unknown size. A backend
// may read from several goroutines in turn, hence the atomic.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
