package objstore_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/fs"
	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
)

func newFS(t *testing.T) objstore.Bucket {
	t.Helper()
	b, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInstrumentedFS(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Bucket {
		return objstore.Instrument(newFS(t), prometheus.NewRegistry())
	})
}

func TestPrefixedFS(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Bucket {
		return objstore.Prefixed(newFS(t), "deploy/a")
	})
}

func TestInstrumentMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := objstore.Instrument(objstoretest.NewMemory(), reg)
	ctx := t.Context()

	if err := b.Put(ctx, "k", strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	// Unknown size: the bytes are counted as read from the reader.
	if err := b.Put(ctx, "u", struct{ io.Reader }{strings.NewReader("abc")}, -1); err != nil {
		t.Fatal(err)
	}
	if err := b.PutIfAbsent(ctx, "k", strings.NewReader("x"), 1); !errors.Is(err, objstore.ErrExists) {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "missing"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatal(err)
	}
	_ = b.Put(ctx, "short", strings.NewReader("x"), 10) // fails, writes nothing
	rc, err := b.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	rc, err = b.GetRange(ctx, "k", 1, 2) // opened but only partly read
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(rc, make([]byte, 1))
	rc.Close()
	for _, err := range b.List(ctx, "", objstore.ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
	}

	ops := func(op, result string) float64 {
		return testutil.ToFloat64(metricVec(t, reg).WithLabelValues(op, result))
	}
	for _, c := range []struct {
		op, result string
		want       float64
	}{
		{"put", "success", 2},
		{"put", "error", 1},
		{"put_if_absent", "exists", 1},
		{"get", "not_found", 1},
		{"get", "success", 1},
		{"get_range", "success", 1},
		{"list", "success", 1},
		{"delete", "success", 0},
	} {
		if got := ops(c.op, c.result); got != c.want {
			t.Errorf("operations_total{%s,%s} = %v, want %v", c.op, c.result, got, c.want)
		}
	}
	if got := gather(t, reg, "tracelake_objstore_written_bytes_total"); got != 8 {
		t.Errorf("written bytes = %v, want 8", got)
	}
	if got := gather(t, reg, "tracelake_objstore_read_bytes_total"); got != 6 {
		t.Errorf("read bytes = %v, want 6 (5 + the 1 of 2 read)", got)
	}
	if n := testutil.CollectAndCount(reg, "tracelake_objstore_operation_duration_seconds"); n != 8 {
		t.Errorf("%d duration series, want one per operation (8)", n)
	}

	// A second bucket on the same registry shares the metrics instead of
	// panicking.
	b2 := objstore.Instrument(objstoretest.NewMemory(), reg)
	if err := b2.Put(ctx, "k", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if got := ops("put", "success"); got != 3 {
		t.Errorf("after a second bucket's put, operations_total{put,success} = %v, want 3", got)
	}
}

func TestWrappersKeepReaderAtOpener(t *testing.T) {
	fsb := newFS(t)
	ctx := t.Context()
	if err := fsb.Put(ctx, "p/k", strings.NewReader("0123456789"), 10); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	for name, b := range map[string]objstore.Bucket{
		"Instrument":         objstore.Instrument(objstore.Prefixed(fsb, "p"), reg),
		"Prefixed":           objstore.Prefixed(objstore.Instrument(fsb, reg), "p"),
		"Prefixed(Prefixed)": objstore.Prefixed(objstore.Prefixed(fsb, "p"), ""),
	} {
		o, ok := b.(objstore.ReaderAtOpener)
		if !ok {
			t.Errorf("%s: lost ReaderAtOpener", name)
			continue
		}
		ra, size, err := o.OpenReaderAt(ctx, "k")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		buf := make([]byte, 3)
		if _, err := ra.ReadAt(buf, 4); err != nil || size != 10 || string(buf) != "456" {
			t.Errorf("%s: ReadAt = %q, %v; size %d", name, buf, err, size)
		}
		ra.Close()
	}
	for name, b := range map[string]objstore.Bucket{
		"Instrument": objstore.Instrument(objstoretest.NewMemory(), nil),
		"Prefixed":   objstore.Prefixed(objstoretest.NewMemory(), "p"),
	} {
		if _, ok := b.(objstore.ReaderAtOpener); ok {
			t.Errorf("%s claims ReaderAtOpener over a bucket without it", name)
		}
	}
}

func TestPrefixedInvalidPrefix(t *testing.T) {
	b := objstore.Prefixed(objstoretest.NewMemory(), "../escape")
	if err := b.Put(t.Context(), "k", strings.NewReader("x"), 1); !errors.Is(err, objstore.ErrInvalidKey) {
		t.Errorf("Put through an invalid prefix = %v, want ErrInvalidKey", err)
	}
	for _, err := range b.List(t.Context(), "", objstore.ListOptions{}) {
		if !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("List through an invalid prefix yielded %v, want ErrInvalidKey", err)
		}
	}
}

func metricVec(t *testing.T, reg *prometheus.Registry) *prometheus.CounterVec {
	t.Helper()
	// Re-registering an identical collector returns the registered one.
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tracelake_objstore_operations_total",
		Help: "Object store operations, by operation and result (success, not_found, exists, error).",
	}, []string{"operation", "result"})
	var are prometheus.AlreadyRegisteredError
	if err := reg.Register(c); !errors.As(err, &are) {
		t.Fatalf("operations counter not registered: %v", err)
	}
	return are.ExistingCollector.(*prometheus.CounterVec)
}

func gather(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
