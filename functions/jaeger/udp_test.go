package jaeger

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	tjaeger "github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/zipkincore"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tracelake/tracelake/functions/pipeline"
)

// udpHarness is a server on a loopback socket and a client socket
// connected to it, as jaeger-client-go's UDP transport used one.
type udpHarness struct {
	srv    *UDPServer
	reg    *prometheus.Registry
	client *net.UDPConn
	served chan error
	logs   *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startUDP(t *testing.T, cfg UDPConfig, enc Encoding, next pipeline.Consumer) *udpHarness {
	t.Helper()
	if cfg.DefaultTenant == "" {
		cfg.DefaultTenant = "single-tenant"
	}
	h := &udpHarness{reg: prometheus.NewRegistry(), served: make(chan error, 1), logs: &syncBuffer{}}
	srv, err := NewUDPServer(cfg, enc, next, h.reg, slog.New(slog.NewTextHandler(h.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { h.served <- srv.Serve(conn) }()
	h.client, err = net.DialUDP("udp", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-h.served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return h
}

func (h *udpHarness) send(t *testing.T, datagram []byte) {
	t.Helper()
	if _, err := h.client.Write(datagram); err != nil {
		t.Fatal(err)
	}
}

// value reads a metric from the registry the server registered with.
func (h *udpHarness) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if labelValue(m, labels[i]) != labels[i+1] {
					continue metrics
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func (h *udpHarness) packets(t *testing.T, enc Encoding, result string) float64 {
	return h.value(t, packetsMetricName, "protocol", enc.protocol(), "result", result)
}

func (h *udpHarness) waitPackets(t *testing.T, enc Encoding, result string, n float64) {
	t.Helper()
	waitFor(t, result+" datagrams", func() bool { return h.packets(t, enc, result) >= n })
	if got := h.packets(t, enc, result); got != n {
		t.Fatalf("%s datagrams: %v, want %v", result, got, n)
	}
}

func TestUDPFixtureArrivesIntact(t *testing.T) {
	for _, enc := range []Encoding{Compact, Binary} {
		t.Run(enc.String(), func(t *testing.T) {
			fc := &fakeConsumer{}
			h := startUDP(t, UDPConfig{DefaultTenant: "agent-tenant"}, enc, fc)
			h.send(t, emitBatchDatagram(t, enc, thriftBatch()))
			h.waitPackets(t, enc, resultOK, 1)
			calls := fc.seen()
			if calls[0].protocol != enc.protocol() || calls[0].tenant != "agent-tenant" {
				t.Errorf("protocol/tenant %s/%s", calls[0].protocol, calls[0].tenant)
			}
			checkFixture(t, calls[0].td)
		})
	}
}

// message encodes a Thrift message with any name, type and arguments.
func message(t *testing.T, enc Encoding, name string, typ thrift.TMessageType, args thrift.TStruct) []byte {
	t.Helper()
	buf := thrift.NewTMemoryBuffer()
	var p thrift.TProtocol = thrift.NewTCompactProtocolConf(buf, nil)
	if enc == Binary {
		p = thrift.NewTBinaryProtocolConf(buf, nil)
	}
	ctx := context.Background()
	if err := p.WriteMessageBegin(ctx, name, typ, 1); err != nil {
		t.Fatal(err)
	}
	if err := args.Write(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteMessageEnd(ctx); err != nil {
		t.Fatal(err)
	}
	p.Flush(ctx)
	return buf.Bytes()
}

// badDatagrams are malformed for enc, each in its own way.
func badDatagrams(t *testing.T, enc Encoding) map[string][]byte {
	valid := emitBatchDatagram(t, enc, thriftBatch())
	other := Binary
	if enc == Binary {
		other = Compact
	}
	return map[string][]byte{
		"empty":              {},
		"garbage":            []byte("GET / HTTP/1.1\r\nHost: agent\r\n\r\n"),
		"truncated":          valid[:len(valid)/2],
		"other encoding":     emitBatchDatagram(t, other, thriftBatch()),
		"unknown method":     message(t, enc, "emitSpans", thrift.ONEWAY, &agent.AgentEmitBatchArgs{Batch: thriftBatch()}),
		"reply message":      message(t, enc, "emitBatch", thrift.REPLY, &agent.AgentEmitBatchArgs{Batch: thriftBatch()}),
		"no batch":           message(t, enc, "emitBatch", thrift.ONEWAY, &agent.AgentEmitBatchArgs{}),
		"missing fields":     message(t, enc, "emitBatch", thrift.ONEWAY, &agent.AgentEmitBatchArgs{Batch: &tjaeger.Batch{}}),
		"huge declared list": hugeAgentList(t, enc),
	}
}

// hugeAgentList is an emitBatch whose spans list declares 2^31-1 elements.
func hugeAgentList(t *testing.T, enc Encoding) []byte {
	buf := thrift.NewTMemoryBuffer()
	var p thrift.TProtocol = thrift.NewTCompactProtocolConf(buf, nil)
	if enc == Binary {
		p = thrift.NewTBinaryProtocolConf(buf, nil)
	}
	ctx := context.Background()
	p.WriteMessageBegin(ctx, "emitBatch", thrift.ONEWAY, 1)
	p.WriteStructBegin(ctx, "emitBatch_args")
	p.WriteFieldBegin(ctx, "batch", thrift.STRUCT, 1)
	p.WriteStructBegin(ctx, "Batch")
	p.WriteFieldBegin(ctx, "process", thrift.STRUCT, 1)
	(&tjaeger.Process{ServiceName: "svc"}).Write(ctx, p)
	p.WriteFieldEnd(ctx)
	p.WriteFieldBegin(ctx, "spans", thrift.LIST, 2)
	p.WriteListBegin(ctx, thrift.STRUCT, 1<<31-1)
	p.Flush(ctx)
	return buf.Bytes()
}

func TestUDPMalformedDoesNotStopListener(t *testing.T) {
	for _, enc := range []Encoding{Compact, Binary} {
		t.Run(enc.String(), func(t *testing.T) {
			fc := &fakeConsumer{}
			h := startUDP(t, UDPConfig{}, enc, fc)
			bad := badDatagrams(t, enc)
			for _, d := range bad {
				h.send(t, d)
			}
			zipkin := message(t, enc, "emitZipkinBatch", thrift.ONEWAY, &agent.AgentEmitZipkinBatchArgs{Spans: []*zipkincore.Span{{TraceID: 1, ID: 2, Name: "op"}}})
			h.send(t, zipkin)
			h.send(t, emitBatchDatagram(t, enc, minimalThriftBatch()))

			h.waitPackets(t, enc, resultOK, 1)
			h.waitPackets(t, enc, resultMalformed, float64(len(bad)))
			h.waitPackets(t, enc, resultUnsupported, 1)
			if n := len(fc.seen()); n != 1 {
				t.Errorf("%d batches reached the pipeline, want 1", n)
			}
			logs := h.logs.String()
			if n := strings.Count(logs, "reason="+resultMalformed); n != 1 {
				t.Errorf("%d malformed warnings logged, want 1 (rate-limited):\n%s", n, logs)
			}
		})
	}
}

func TestUDPTooLarge(t *testing.T) {
	fc := &fakeConsumer{}
	h := startUDP(t, UDPConfig{}, Compact, fc)
	h.send(t, make([]byte, DefaultMaxPacketBytes+100))
	h.send(t, emitBatchDatagram(t, Compact, minimalThriftBatch()))
	h.waitPackets(t, Compact, resultOK, 1)
	h.waitPackets(t, Compact, resultTooLarge, 1)
}

func TestUDPRejectedAndFailed(t *testing.T) {
	rej := &fakeConsumer{result: pipeline.Result{Accepted: 1, Rejected: 1, RejectMessage: "1 span rejected"}}
	h := startUDP(t, UDPConfig{}, Binary, rej)
	h.send(t, emitBatchDatagram(t, Binary, minimalThriftBatch()))
	h.waitPackets(t, Binary, resultSpansRejected, 1)

	failing := &fakeConsumer{err: pipeline.ErrUnavailable}
	h = startUDP(t, UDPConfig{}, Binary, failing)
	h.send(t, emitBatchDatagram(t, Binary, minimalThriftBatch()))
	h.waitPackets(t, Binary, resultConsumeFailed, 1)
}

func TestUDPQueueFull(t *testing.T) {
	fc := &fakeConsumer{entered: make(chan struct{}, 10), release: make(chan struct{})}
	h := startUDP(t, UDPConfig{Workers: 1, QueueSize: 1}, Compact, fc)
	d := emitBatchDatagram(t, Compact, minimalThriftBatch())

	h.send(t, d)
	<-fc.entered // the only worker is busy
	h.send(t, d)
	waitFor(t, "a queued datagram", func() bool { return h.value(t, queueLenMetricName, "protocol", ProtocolThriftCompact) == 1 })
	h.send(t, d)
	h.send(t, d)
	h.waitPackets(t, Compact, resultQueueFull, 2)

	close(fc.release)
	h.waitPackets(t, Compact, resultOK, 2)
	if got := h.value(t, queueLenMetricName, "protocol", ProtocolThriftCompact); got != 0 {
		t.Errorf("queue length %v after draining", got)
	}
}

func TestUDPShutdownDrains(t *testing.T) {
	fc := &fakeConsumer{entered: make(chan struct{}, 10), release: make(chan struct{})}
	h := startUDP(t, UDPConfig{Workers: 1, QueueSize: 10}, Compact, fc)
	d := emitBatchDatagram(t, Compact, minimalThriftBatch())
	h.send(t, d)
	<-fc.entered
	for range 5 {
		h.send(t, d)
	}
	waitFor(t, "5 queued datagrams", func() bool { return h.value(t, queueLenMetricName, "protocol", ProtocolThriftCompact) == 5 })

	shut := make(chan error, 1)
	go func() { shut <- h.srv.Shutdown(context.Background()) }()
	if err := <-h.served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v, want ErrServerClosed", err)
	}
	h.served <- ErrServerClosed // for the cleanup's check
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v before the queue drained", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(fc.release)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := len(fc.seen()); n != 6 {
		t.Errorf("%d batches stored, want 6", n)
	}
	if got := h.packets(t, Compact, resultOK); got != 6 {
		t.Errorf("ok datagrams: %v, want 6", got)
	}
}

func TestUDPShutdownGivesUp(t *testing.T) {
	fc := &fakeConsumer{entered: make(chan struct{}, 10), release: make(chan struct{})} // never released
	h := startUDP(t, UDPConfig{Workers: 1, QueueSize: 10}, Compact, fc)
	d := emitBatchDatagram(t, Compact, minimalThriftBatch())
	h.send(t, d)
	<-fc.entered
	for range 3 {
		h.send(t, d)
	}
	waitFor(t, "3 queued datagrams", func() bool { return h.value(t, queueLenMetricName, "protocol", ProtocolThriftCompact) == 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := h.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
	}
	// The in-flight call is cancelled, the queued datagrams dropped.
	h.waitPackets(t, Compact, resultConsumeFailed, 1)
	h.waitPackets(t, Compact, resultShutdown, 3)
}

func TestUDPLifecycle(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewUDPServer(UDPConfig{DefaultTenant: "a/b"}, Compact, &fakeConsumer{}, reg, discardLogger()); err == nil {
		t.Error("a bad default tenant was accepted")
	}
	if _, err := NewUDPServer(UDPConfig{DefaultTenant: "t"}, Encoding(7), &fakeConsumer{}, reg, discardLogger()); err == nil {
		t.Error("an unknown encoding was accepted")
	}
	// Both encodings share one registry.
	compact, err := NewUDPServer(UDPConfig{DefaultTenant: "t"}, Compact, &fakeConsumer{}, reg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewUDPServer(UDPConfig{DefaultTenant: "t"}, Binary, &fakeConsumer{}, reg, discardLogger()); err != nil {
		t.Fatalf("second server on one registry: %v", err)
	}
	// Shutdown before Serve: Serve then refuses, closing the connection.
	if err := compact.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := compact.Serve(conn); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	if _, _, err := conn.ReadFrom(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the connection was left open: %v", err)
	}
}

func TestLogLimiter(t *testing.T) {
	var buf syncBuffer
	now := time.Unix(0, 0)
	l := newLogLimiter(slog.New(slog.NewTextHandler(&buf, nil)), 10*time.Second, func() time.Time { return now })
	for range 5 {
		l.Warn("malformed", "bad datagram")
	}
	l.Warn("queue_full", "dropped")
	now = now.Add(9 * time.Second)
	l.Warn("malformed", "bad datagram")
	now = now.Add(2 * time.Second)
	l.Warn("malformed", "bad datagram")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"reason=malformed suppressed=0", "reason=queue_full suppressed=0", "reason=malformed suppressed=5"}
	if len(lines) != len(want) {
		t.Fatalf("logged:\n%s", buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d %q does not contain %q", i, lines[i], w)
		}
	}
}
