package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/tracelake/tracelake/storage/tracegen"
	"github.com/tracelake/tracelake/storage/tracestore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a Writer that remembers every successful write, can be
// made to fail, and can be held to keep flushes in progress.
type recorder struct {
	mu      sync.Mutex
	writes  [][]tracestore.Batch
	tenants []string
	fail    func() error
	hold    chan struct{} // when non-nil, writes wait for it to close
}

func (r *recorder) Write(ctx context.Context, tenant string, batches ...tracestore.Batch) (tracestore.FileRef, error) {
	if r.hold != nil {
		select {
		case <-r.hold:
		case <-ctx.Done():
			return tracestore.FileRef{}, ctx.Err()
		}
	}
	if r.fail != nil {
		if err := r.fail(); err != nil {
			return tracestore.FileRef{}, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, batches)
	r.tenants = append(r.tenants, tenant)
	return tracestore.FileRef{Size: 1}, nil
}

func (r *recorder) written() map[tracestore.Batch]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[tracestore.Batch]int{}
	for _, w := range r.writes {
		for _, b := range w {
			out[b]++
		}
	}
	return out
}

func newBatch(seed uint64) tracestore.Batch {
	return tracestore.NewBatch(tracegen.Telemetrygen(rand.New(rand.NewPCG(seed, seed)), 5, 1, time.Now()))
}

func config() BatcherConfig {
	return BatcherConfig{MaxBytes: 1 << 20, MaxDelay: 50 * time.Millisecond, MaxPendingBytes: 8 << 20, MaxConcurrentFlushes: 2, FlushTimeout: 5 * time.Second}
}

func TestGroupCommitSharesOneWrite(t *testing.T) {
	rec := &recorder{}
	bt, err := NewBatcher(config(), rec, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer bt.Close(context.Background())
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = bt.Add(context.Background(), "acme", newBatch(uint64(i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
	}
	if len(rec.writes) != 1 || len(rec.writes[0]) != 8 {
		t.Fatalf("8 concurrent requests made %d writes (%v); want one write of 8 batches", len(rec.writes), rec.writes)
	}
}

func TestTenantsAreWrittenSeparately(t *testing.T) {
	rec := &recorder{}
	bt, _ := NewBatcher(config(), rec, prometheus.NewRegistry())
	defer bt.Close(context.Background())
	var wg sync.WaitGroup
	for i, tenant := range []string{"a", "b", "a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := bt.Add(context.Background(), tenant, newBatch(uint64(i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(rec.writes) != 2 || rec.tenants[0] == rec.tenants[1] {
		t.Fatalf("writes per tenant: %v", rec.tenants)
	}
}

func TestFlushBySize(t *testing.T) {
	rec := &recorder{}
	cfg := config()
	cfg.MaxDelay = time.Hour // only size can trigger the flush
	cfg.MaxBytes = 1
	bt, _ := NewBatcher(cfg, rec, prometheus.NewRegistry())
	defer bt.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := bt.Add(ctx, "acme", newBatch(1)); err != nil {
		t.Fatal(err)
	}
}

func TestWriteFailureFailsEveryRequestOfTheGroup(t *testing.T) {
	boom := errors.New("disk on fire")
	rec := &recorder{fail: func() error { return boom }}
	bt, _ := NewBatcher(config(), rec, prometheus.NewRegistry())
	defer bt.Close(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := bt.Add(context.Background(), "acme", newBatch(uint64(i)))
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, boom) {
				t.Errorf("Add after a failed write = %v; want ErrUnavailable wrapping the cause", err)
			}
		}()
	}
	wg.Wait()
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.pending != 0 {
		t.Fatalf("failed groups still count %d pending bytes", bt.pending)
	}
}

func TestOverloadFailsFast(t *testing.T) {
	rec := &recorder{hold: make(chan struct{})}
	cfg := config()
	cfg.MaxDelay = 0
	b1 := newBatch(1)
	cfg.MaxBytes = b1.MemSize()
	cfg.MaxPendingBytes = b1.MemSize() + b1.MemSize()/2 // room for one request
	bt, _ := NewBatcher(cfg, rec, prometheus.NewRegistry())

	first := make(chan error)
	go func() { first <- bt.Add(context.Background(), "acme", b1) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		bt.mu.Lock()
		p := bt.pending
		bt.mu.Unlock()
		if p > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first request never became pending")
		}
		time.Sleep(time.Millisecond)
	}
	if err := bt.Add(context.Background(), "acme", newBatch(2)); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("Add past the memory bound = %v, want ErrOverloaded", err)
	}
	close(rec.hold)
	if err := <-first; err != nil {
		t.Fatalf("held request: %v", err)
	}
	// Memory is free again.
	if err := bt.Add(context.Background(), "acme", newBatch(3)); err != nil {
		t.Fatalf("Add after memory was freed: %v", err)
	}
	if err := bt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestCloseFlushesPendingAndRefusesNew(t *testing.T) {
	rec := &recorder{}
	cfg := config()
	cfg.MaxDelay = time.Hour
	bt, _ := NewBatcher(cfg, rec, prometheus.NewRegistry())
	res := make(chan error)
	go func() { res <- bt.Add(context.Background(), "acme", newBatch(1)) }()
	for {
		bt.mu.Lock()
		n := len(bt.open)
		bt.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := bt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Fatalf("a request pending at Close: %v; want it flushed and acknowledged", err)
	}
	if len(rec.writes) != 1 {
		t.Fatalf("Close made %d writes, want 1", len(rec.writes))
	}
	if err := bt.Add(context.Background(), "acme", newBatch(2)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Add after Close = %v, want ErrUnavailable", err)
	}
}

func TestCloseGivesUpOnStuckWrites(t *testing.T) {
	rec := &recorder{hold: make(chan struct{})} // never released
	cfg := config()
	cfg.MaxDelay = 0
	bt, _ := NewBatcher(cfg, rec, prometheus.NewRegistry())
	res := make(chan error)
	go func() { res <- bt.Add(context.Background(), "acme", newBatch(1)) }()
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := bt.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a stuck write = %v", err)
	}
	if err := <-res; err == nil {
		t.Fatal("a request whose write never finished was acknowledged")
	}
}

// TestHammer: many goroutines, several tenants, random write failures. The
// invariant: a request is acknowledged exactly when a write holding its
// batch succeeded, and no batch is written twice.
func TestHammer(t *testing.T) {
	var calls atomic.Int64
	rec := &recorder{fail: func() error {
		if calls.Add(1)%3 == 0 {
			return fmt.Errorf("injected")
		}
		return nil
	}}
	cfg := config()
	cfg.MaxDelay = 2 * time.Millisecond
	cfg.MaxBytes = 20 << 10
	bt, _ := NewBatcher(cfg, rec, prometheus.NewRegistry())
	var mu sync.Mutex
	acked := map[tracestore.Batch]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				b := newBatch(uint64(g*1000 + i))
				err := bt.Add(context.Background(), fmt.Sprintf("t%d", (g+i)%3), b)
				if err != nil && !errors.Is(err, ErrUnavailable) {
					t.Errorf("unexpected error %v", err)
				}
				mu.Lock()
				acked[b] = err == nil
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := bt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	written := rec.written()
	for b, ok := range acked {
		if ok && written[b] != 1 {
			t.Fatalf("acknowledged batch written %d times", written[b])
		}
		if !ok && written[b] != 0 {
			t.Fatalf("failed batch was written")
		}
	}
	if len(written) == 0 || len(written) == len(acked) {
		t.Fatalf("hammer did not exercise both outcomes: %d written of %d", len(written), len(acked))
	}
}
