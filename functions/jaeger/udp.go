package jaeger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/internal/promreg"
	"github.com/tracelake/tracelake/storage/tenant"
)

// Defaults of UDPConfig, jaeger-agent's.
const (
	DefaultUDPWorkers     = 10
	DefaultUDPQueueSize   = 1000
	DefaultMaxPacketBytes = 65000
)

// warnEvery is how often each kind of bad datagram may be logged.
const warnEvery = 10 * time.Second

// UDPConfig configures an agent listener.
type UDPConfig struct {
	// DefaultTenant owns every span received: datagrams carry no headers.
	DefaultTenant string
	// Workers decode and store datagrams concurrently (DefaultUDPWorkers).
	Workers int
	// QueueSize is how many datagrams may wait for a worker; a datagram
	// arriving at a full queue is dropped (DefaultUDPQueueSize).
	QueueSize int
	// MaxPacketBytes is the largest datagram taken; larger ones are
	// dropped (DefaultMaxPacketBytes).
	MaxPacketBytes int
}

func (c UDPConfig) withDefaults() UDPConfig {
	if c.Workers <= 0 {
		c.Workers = DefaultUDPWorkers
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultUDPQueueSize
	}
	if c.MaxPacketBytes <= 0 {
		c.MaxPacketBytes = DefaultMaxPacketBytes
	}
	return c
}

// Values of the result label of tracelake_jaeger_agent_packets_total.
const (
	resultOK            = "ok"
	resultSpansRejected = "spans_rejected" // the pipeline stored some spans and rejected others
	resultMalformed     = "malformed"
	resultUnsupported   = "unsupported" // emitZipkinBatch
	resultTooLarge      = "too_large"
	resultQueueFull     = "dropped_queue_full"
	resultShutdown      = "dropped_shutdown" // still queued when Shutdown gave up
	resultConsumeFailed = "consume_failed"
	resultReadError     = "read_error"
)

const (
	packetsMetricName  = "tracelake_jaeger_agent_packets_total"
	queueLenMetricName = "tracelake_jaeger_agent_queue_length"

	readErrorBackoff     = 10 * time.Millisecond
	maxLoggedErrorLength = 512
)

var allResults = []string{resultOK, resultSpansRejected, resultMalformed, resultUnsupported, resultTooLarge,
	resultQueueFull, resultShutdown, resultConsumeFailed, resultReadError}

// ErrServerClosed is what Serve returns after Shutdown.
var ErrServerClosed = errors.New("jaeger: UDP server closed")

// UDPServer receives jaeger-agent datagrams: each one is a Thrift
// Agent.emitBatch call. UDP has no acknowledgement, so there is no one to
// answer: a reader goroutine only copies datagrams onto a bounded queue
// (dropping them when it is full, never blocking), and workers decode
// them and wait for the pipeline. Every datagram is counted by outcome.
type UDPServer struct {
	cfg      UDPConfig
	enc      Encoding
	protocol string
	next     pipeline.Consumer
	warn     *logLimiter
	packets  *prometheus.CounterVec // by result
	queueLen prometheus.Gauge
	bufs     sync.Pool
	queue    chan packet

	mu          sync.Mutex
	conn        net.PacketConn
	serving     bool
	closed      bool
	cancel      context.CancelFunc // aborts queued and in-flight work when Shutdown gives up
	readerDone  chan struct{}
	workersDone chan struct{}
}

type packet struct {
	buf  *[]byte
	from net.Addr
}

// NewUDPServer returns a server for datagrams in enc feeding next.
// Metrics are registered with reg; servers for both encodings may share
// one registry.
func NewUDPServer(cfg UDPConfig, enc Encoding, next pipeline.Consumer, reg prometheus.Registerer, logger *slog.Logger) (*UDPServer, error) {
	if enc != Compact && enc != Binary {
		return nil, fmt.Errorf("jaeger agent: unknown encoding %v", enc)
	}
	cfg = cfg.withDefaults()
	if err := tenant.Validate(cfg.DefaultTenant); err != nil {
		return nil, fmt.Errorf("jaeger agent: default tenant: %w", err)
	}
	packets, err := promreg.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: packetsMetricName,
		Help: "Jaeger agent datagrams received, by protocol and result (" + strings.Join(allResults, ", ") + ").",
	}, []string{"protocol", "result"}))
	if err != nil {
		return nil, fmt.Errorf("jaeger agent: %w", err)
	}
	queueLen, err := promreg.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: queueLenMetricName,
		Help: "Jaeger agent datagrams waiting for a worker, by protocol.",
	}, []string{"protocol"}))
	if err != nil {
		return nil, fmt.Errorf("jaeger agent: %w", err)
	}
	protocol := enc.protocol()
	s := &UDPServer{
		cfg:         cfg,
		enc:         enc,
		protocol:    protocol,
		next:        next,
		warn:        newLogLimiter(logger.With("protocol", protocol), warnEvery, time.Now),
		packets:     packets.MustCurryWith(prometheus.Labels{"protocol": protocol}),
		queueLen:    queueLen.WithLabelValues(protocol),
		bufs:        sync.Pool{New: func() any { return new([]byte) }},
		queue:       make(chan packet, cfg.QueueSize),
		readerDone:  make(chan struct{}),
		workersDone: make(chan struct{}),
	}
	for _, r := range allResults {
		s.packets.WithLabelValues(r) // export zeros, so rates work from the start
	}
	return s, nil
}

// Serve reads datagrams from conn until Shutdown, which closes conn; it
// then returns ErrServerClosed while the workers drain the queue. Serve
// may be called once.
func (s *UDPServer) Serve(conn net.PacketConn) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return ErrServerClosed
	}
	if s.serving {
		s.mu.Unlock()
		return errors.New("jaeger agent: Serve called twice")
	}
	s.serving, s.conn = true, conn
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.mu.Unlock()

	var workers sync.WaitGroup
	for range s.cfg.Workers {
		workers.Go(func() { s.work(ctx) })
	}
	go func() {
		workers.Wait()
		cancel()
		close(s.workersDone)
	}()
	defer close(s.readerDone)
	defer close(s.queue) // the reader is the only sender
	return s.read(conn)
}

// Shutdown stops reading, closing the connection, and waits until the
// workers have stored every queued datagram. If ctx ends first, queued
// datagrams are dropped, in-flight ones are cancelled, and ctx's error is
// returned.
func (s *UDPServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	conn, serving, cancel := s.conn, s.serving, s.cancel
	s.mu.Unlock()
	if !serving {
		return nil
	}
	conn.Close() // unblocks ReadFrom; closing twice is harmless
	for _, done := range []chan struct{}{s.readerDone, s.workersDone} {
		select {
		case <-done:
		case <-ctx.Done():
			cancel()
			return ctx.Err()
		}
	}
	return nil
}

func (s *UDPServer) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *UDPServer) read(conn net.PacketConn) error {
	// One byte more than the limit tells a datagram at the limit from a
	// larger one, which the kernel truncates to fit.
	scratch := make([]byte, s.cfg.MaxPacketBytes+1)
	for {
		n, from, err := conn.ReadFrom(scratch)
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("jaeger agent: %w", err)
			}
			s.count(resultReadError)
			s.warn.Warn(resultReadError, "reading a Jaeger agent datagram failed", "err", err)
			time.Sleep(readErrorBackoff) // never spin on an error that persists
			continue
		}
		if n > s.cfg.MaxPacketBytes {
			s.count(resultTooLarge)
			s.warn.Warn(resultTooLarge, "dropped a Jaeger agent datagram over the size limit",
				"from", from, "limit_bytes", s.cfg.MaxPacketBytes)
			continue
		}
		buf := s.bufs.Get().(*[]byte)
		*buf = append((*buf)[:0], scratch[:n]...)
		s.queueLen.Inc()
		select {
		case s.queue <- packet{buf: buf, from: from}:
		default:
			s.queueLen.Dec()
			s.bufs.Put(buf)
			s.count(resultQueueFull)
			s.warn.Warn(resultQueueFull, "dropped a Jaeger agent datagram: the queue is full",
				"from", from, "queue_size", s.cfg.QueueSize)
		}
	}
}

func (s *UDPServer) work(ctx context.Context) {
	for p := range s.queue {
		s.queueLen.Dec()
		s.handle(ctx, *p.buf, p.from)
		s.bufs.Put(p.buf)
	}
}

// handle decodes and stores one datagram. Decoding copies what it keeps,
// so data may be reused afterwards.
func (s *UDPServer) handle(ctx context.Context, data []byte, from net.Addr) {
	if ctx.Err() != nil {
		s.count(resultShutdown)
		return
	}
	batch, err := decodeEmitBatch(ctx, s.enc, data)
	if err != nil {
		if errors.Is(err, errUnsupported) {
			s.count(resultUnsupported)
			s.warn.Warn(resultUnsupported, "dropped an unsupported Jaeger agent datagram", "from", from, "err", err)
			return
		}
		s.count(resultMalformed)
		s.warn.Warn(resultMalformed, "dropped a malformed Jaeger agent datagram",
			"from", from, "bytes", len(data), "err", truncate(err.Error()))
		return
	}
	td, err := jaegertranslator.ThriftToTraces(batch)
	if err != nil {
		s.count(resultMalformed)
		s.warn.Warn(resultMalformed, "dropped a Jaeger agent batch that cannot be translated", "from", from, "err", err)
		return
	}
	res, err := s.next.Consume(ctx, s.protocol, s.cfg.DefaultTenant, td)
	if err != nil {
		s.count(resultConsumeFailed)
		s.warn.Warn(resultConsumeFailed, "lost a Jaeger agent batch: the pipeline failed",
			"from", from, "spans", td.SpanCount(), "err", err)
		return
	}
	if res.Rejected > 0 {
		s.count(resultSpansRejected)
		s.warn.Warn(resultSpansRejected, "the pipeline rejected spans of a Jaeger agent batch",
			"from", from, "stored", res.Accepted, "err", res.RejectMessage)
		return
	}
	s.count(resultOK)
}

func (s *UDPServer) count(result string) { s.packets.WithLabelValues(result).Inc() }

func truncate(s string) string {
	if len(s) <= maxLoggedErrorLength {
		return s
	}
	return s[:maxLoggedErrorLength] + "…"
}
