package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// tenantHeader carries the tenant, as Tempo, Loki and Mimir take it.
const tenantHeader = "X-Scope-OrgID"

// exportMethod is OTLP's gRPC trace export.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// An outcome is what became of one export request.
type outcome struct {
	ok bool
	// rejected counts spans the server refused in a partial success.
	rejected int64
	// code names a failure for the report: "http 503", "grpc Unavailable",
	// "transport".
	code string
	err  error
	// retryAfter is how long the server asked the client to wait, if it did.
	retryAfter time.Duration
	// retryable is true for overload answers, which call for backing off.
	retryable bool
	// keep is false when the transport may still read the request's bytes,
	// so the caller must not reuse the buffer.
	keep bool
}

// A sender delivers encoded export requests. Each worker has its own
// conn, which the sender uses for per-worker scratch space.
type sender interface {
	send(ctx context.Context, c *conn, req []byte) outcome
	close()
}

// conn is a worker's scratch space in a sender.
type conn struct {
	id   int
	resp []byte
	// gzip
	zw   *gzip.Writer
	zbuf *bytes.Buffer
}

func newSender(cfg Config) (sender, error) {
	switch cfg.Protocol {
	case ProtocolGRPC:
		return newGRPCSender(cfg)
	case ProtocolZipkin:
		return newHTTPSender(cfg, "/api/v2/spans", "application/json", http.StatusAccepted), nil
	case ProtocolJaegerThrift:
		return newHTTPSender(cfg, "/api/traces", "application/x-thrift", http.StatusAccepted), nil
	}
	return newHTTPSender(cfg, "/v1/traces", "application/x-protobuf", 0), nil
}

type httpSender struct {
	client      *http.Client
	url         string
	contentType string
	// accepted is the one status that acknowledges a request (Zipkin's
	// and Jaeger's 202); 0 takes any 2xx, with an OTLP export response.
	accepted int
	tenant   string
	gzip     bool
}

func newHTTPSender(cfg Config, path, contentType string, accepted int) *httpSender {
	tr := &http.Transport{
		Proxy:               nil, // never through a proxy: it would be measured too
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * cfg.Workers,
		MaxIdleConnsPerHost: 2 * cfg.Workers,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &httpSender{
		client:      &http.Client{Transport: tr},
		url:         endpointURL(cfg.Endpoint, path),
		contentType: contentType,
		accepted:    accepted,
		tenant:      cfg.Tenant,
		gzip:        cfg.Gzip,
	}
}

// endpointURL is path under base, unless base names it already.
func endpointURL(base, path string) string {
	base = strings.TrimSuffix(base, "/")
	if strings.HasSuffix(base, path) {
		return base
	}
	return base + path
}

// reqBody is a request body that says when the transport closed it: a
// RoundTripper may still read the body after Do returns (when the server
// answers before reading it all), and only after Close may its bytes be
// reused.
type reqBody struct {
	bytes.Reader
	once sync.Once
	done chan struct{}
}

func (b *reqBody) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

// bodyCloseWait bounds the wait for the transport to close a body; past
// it the buffer is abandoned rather than reused.
const bodyCloseWait = 5 * time.Second

func (s *httpSender) send(ctx context.Context, c *conn, req []byte) outcome {
	body := req
	if s.gzip {
		if c.zw == nil {
			c.zbuf = new(bytes.Buffer)
			c.zw, _ = gzip.NewWriterLevel(c.zbuf, gzip.BestSpeed)
		}
		c.zbuf.Reset()
		c.zw.Reset(c.zbuf)
		c.zw.Write(req)
		c.zw.Close()
		body = c.zbuf.Bytes()
	}
	rb := &reqBody{done: make(chan struct{})}
	rb.Reset(body)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, rb)
	if err != nil {
		return outcome{code: "transport", err: err, keep: true}
	}
	hreq.ContentLength = int64(len(body))
	hreq.Header.Set("Content-Type", s.contentType)
	if s.gzip {
		hreq.Header.Set("Content-Encoding", "gzip")
	}
	if s.tenant != "" {
		hreq.Header.Set(tenantHeader, s.tenant)
	}
	out := s.do(hreq, c)
	if waitClosed(rb.done) {
		out.keep = true
	} else if s.gzip { // the compressed copy is in flight, not req
		c.zbuf, c.zw = nil, nil
		out.keep = true
	}
	return out
}

func waitClosed(done <-chan struct{}) bool {
	select {
	case <-done: // nearly always, by the time the answer is in
		return true
	default:
	}
	t := time.NewTimer(bodyCloseWait)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

func (s *httpSender) do(hreq *http.Request, c *conn) outcome {
	resp, err := s.client.Do(hreq)
	if err != nil {
		return outcome{code: "transport", err: err}
	}
	defer resp.Body.Close()
	buf := bytes.NewBuffer(c.resp[:0])
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, 1<<20))
	c.resp = buf.Bytes()
	if resp.StatusCode/100 != 2 || (s.accepted != 0 && resp.StatusCode != s.accepted) {
		out := outcome{
			code: "http " + strconv.Itoa(resp.StatusCode),
			err:  fmt.Errorf("%s: %s", resp.Status, firstLine(c.resp)),
		}
		if resp.StatusCode/100 == 2 {
			out.err = fmt.Errorf("%s, want %d %s", resp.Status, s.accepted, http.StatusText(s.accepted))
		}
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			out.retryable = true
			if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
				out.retryAfter = time.Duration(secs) * time.Second
			}
		}
		return out
	}
	if err != nil {
		return outcome{code: "transport", err: fmt.Errorf("read response: %w", err)}
	}
	if s.accepted != 0 { // Zipkin and Jaeger: no partial success
		return outcome{ok: true}
	}
	rejected, err := partialSuccess(c.resp, resp.Header.Get("Content-Type"))
	if err != nil {
		return outcome{code: "bad response", err: err}
	}
	return outcome{ok: true, rejected: rejected}
}

// partialSuccess returns the spans an export response says were rejected.
func partialSuccess(body []byte, contentType string) (int64, error) {
	if len(body) == 0 {
		return 0, nil
	}
	resp := ptraceotlp.NewExportResponse()
	var err error
	if strings.HasPrefix(contentType, "application/json") {
		err = resp.UnmarshalJSON(body)
	} else {
		err = resp.UnmarshalProto(body)
	}
	if err != nil {
		return 0, fmt.Errorf("decode export response: %w", err)
	}
	return resp.PartialSuccess().RejectedSpans(), nil
}

func firstLine(b []byte) string {
	s := string(b[:min(len(b), 200)])
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func (s *httpSender) close() { s.client.CloseIdleConnections() }

// grpcConns is how many connections the gRPC sender spreads its workers
// over: one HTTP/2 connection is read by one server goroutine, which would
// cap the server at one core's worth of decoding.
const grpcConns = 4

type grpcSender struct {
	conns []*grpc.ClientConn
	md    metadata.MD
	opts  []grpc.CallOption
}

func newGRPCSender(cfg Config) (*grpcSender, error) {
	s := &grpcSender{opts: []grpc.CallOption{grpc.ForceCodec(rawCodec{})}}
	if cfg.Gzip {
		s.opts = append(s.opts, grpc.UseCompressor(grpcgzip.Name))
	}
	if cfg.Tenant != "" {
		s.md = metadata.Pairs(strings.ToLower(tenantHeader), cfg.Tenant)
	}
	for range min(cfg.Workers, grpcConns) {
		cc, err := grpc.NewClient(cfg.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			s.close()
			return nil, fmt.Errorf("grpc client for %s: %w", cfg.Endpoint, err)
		}
		s.conns = append(s.conns, cc)
	}
	return s, nil
}

func (s *grpcSender) send(ctx context.Context, c *conn, req []byte) outcome {
	if s.md != nil {
		ctx = metadata.NewOutgoingContext(ctx, s.md)
	}
	cc := s.conns[c.id%len(s.conns)]
	if err := cc.Invoke(ctx, exportMethod, req, &c.resp, s.opts...); err != nil {
		st := status.Convert(err)
		out := outcome{code: "grpc " + st.Code().String(), err: err}
		switch st.Code() {
		case codes.Unavailable, codes.ResourceExhausted:
			out.retryable = true
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					out.retryAfter = ri.GetRetryDelay().AsDuration()
				}
			}
		}
		// The server may have answered before reading all of req, which
		// the transport may still be sending: do not reuse it.
		return out
	}
	rejected, err := partialSuccess(c.resp, "")
	if err != nil {
		return outcome{code: "bad response", err: err, keep: true}
	}
	return outcome{ok: true, rejected: rejected, keep: true}
}

func (s *grpcSender) close() {
	for _, cc := range s.conns {
		cc.Close()
	}
}

// rawCodec passes already-encoded messages through, so requests are sent
// as the bytes the worker patched, without a protobuf round trip.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
	}
	return b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	*p = append((*p)[:0], data...)
	return nil
}

// Name is "proto" so the content type is application/grpc+proto, which is
// what these bytes are.
func (rawCodec) Name() string { return "proto" }
