package lambdaurl

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// MaxResponseBytes is Lambda's limit on a buffered invocation response
// (6 MB), which the JSON of the Function URL response must fit in.
const MaxResponseBytes = 6 << 20

// ErrNotHTTPEvent is returned by Invoke for an event that is not a Function
// URL or API Gateway payload 2.0 request: the function was invoked by
// something other than its URL (a test event, a wrong trigger).
var ErrNotHTTPEvent = errors.New("event is not an HTTP request from a Function URL or an API Gateway HTTP API (payload format 2.0)")

// Options tune a Handler.
type Options struct {
	// MaxResponseBytes bounds the encoded response; larger answers are
	// replaced by a 500 naming the limit. 0 means MaxResponseBytes.
	MaxResponseBytes int
	// CompressAbove gzips textual answers larger than this many bytes when
	// the client accepts gzip: a big Jaeger JSON answer then fits in
	// Lambda's limit and travels faster. 0 means 1 KiB; negative disables.
	CompressAbove int
	// Logger receives what cannot be told to the client.
	Logger *slog.Logger
}

// Handler serves HTTP events with an http.Handler. It implements
// aws-lambda-go's lambda.Handler.
type Handler struct {
	h    http.Handler
	opts Options
}

// New returns a Handler serving h.
func New(h http.Handler, opts Options) *Handler {
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = MaxResponseBytes
	}
	if opts.CompressAbove == 0 {
		opts.CompressAbove = 1 << 10
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{h: h, opts: opts}
}

// Invoke serves one event: payload is the event's JSON, the result the
// response's. An event that is not an HTTP request is an error (the
// invocation fails); everything about the request itself, even a malformed
// body, is answered with the handler's HTTP status instead.
func (a *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotHTTPEvent, err)
	}
	req, err := NewRequest(ctx, &ev)
	if err != nil {
		return nil, err
	}
	ev.Body = "" // the request reads it through req.Body
	rec := newRecorder()
	a.h.ServeHTTP(rec, req)
	resp := a.response(req, rec)
	out, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("encode the Function URL response: %w", err)
	}
	if len(out) > a.opts.MaxResponseBytes {
		a.opts.Logger.WarnContext(ctx, "response too large for Lambda", "path", req.URL.Path, "bytes", len(out), "limit", a.opts.MaxResponseBytes)
		out, _ = json.Marshal(&events.LambdaFunctionURLResponse{
			StatusCode: http.StatusInternalServerError,
			Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
			Body: fmt.Sprintf("the response (%d bytes encoded) exceeds AWS Lambda's limit of %d bytes; ask for less (a smaller limit= or a shorter time range)\n",
				len(out), a.opts.MaxResponseBytes),
		})
	}
	return out, nil
}

// NewRequest turns a Function URL (or API Gateway payload 2.0) event into
// the request it carries. The body is decoded from base64 as it is read, so
// a large request is held once, not twice.
func NewRequest(ctx context.Context, ev *events.LambdaFunctionURLRequest) (*http.Request, error) {
	h := ev.RequestContext.HTTP
	if h.Method == "" {
		return nil, fmt.Errorf("%w: requestContext.http.method is missing", ErrNotHTTPEvent)
	}
	path := ev.RawPath
	if path == "" {
		path = h.Path
	}
	if path == "" || path[0] != '/' {
		return nil, fmt.Errorf("%w: rawPath %q does not start with /", ErrNotHTTPEvent, path)
	}
	uri := path
	if ev.RawQueryString != "" {
		uri += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, fmt.Errorf("%w: request URI %q: %v", ErrNotHTTPEvent, uri, err)
	}

	var body io.Reader = strings.NewReader(ev.Body)
	length := int64(len(ev.Body))
	if ev.IsBase64Encoded {
		body = base64.NewDecoder(base64.StdEncoding, body)
		length = base64DecodedLen(ev.Body)
	}
	req, err := http.NewRequestWithContext(ctx, h.Method, uri, body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotHTTPEvent, err)
	}
	req.URL = u
	req.RequestURI = uri
	req.ContentLength = length
	if length == 0 {
		req.Body = http.NoBody
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = req.Header.Get("Host")
	if req.Host == "" {
		req.Host = ev.RequestContext.DomainName
	}
	req.URL.Host, req.URL.Scheme = req.Host, "https"
	if proto := h.Protocol; proto != "" {
		if major, minor, ok := http.ParseHTTPVersion(proto); ok {
			req.Proto, req.ProtoMajor, req.ProtoMinor = proto, major, minor
		}
	}
	if h.SourceIP != "" {
		req.RemoteAddr = net.JoinHostPort(h.SourceIP, "0")
	}
	return req, nil
}

// base64DecodedLen is the exact length of the bytes s encodes, assuming it
// is valid; an invalid s fails when read.
func base64DecodedLen(s string) int64 {
	n := int64(len(s)) / 4 * 3
	switch {
	case strings.HasSuffix(s, "=="):
		n -= 2
	case strings.HasSuffix(s, "="):
		n--
	}
	if rem := len(s) % 4; rem > 1 {
		n += int64(rem) - 1 // unpadded tail; base64.StdEncoding rejects it when read
	}
	return max(n, 0)
}

// response builds the event response from what the handler wrote.
func (a *Handler) response(req *http.Request, rec *recorder) *events.LambdaFunctionURLResponse {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	body := rec.body.Bytes()
	hdr := rec.header
	if a.shouldCompress(req, hdr, len(body)) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = zw.Write(body)
		if zw.Close() == nil {
			body = buf.Bytes()
			hdr.Set("Content-Encoding", "gzip")
			hdr.Add("Vary", "Accept-Encoding")
			hdr.Del("Content-Length")
		}
	}
	resp := &events.LambdaFunctionURLResponse{StatusCode: status, Headers: make(map[string]string, len(hdr))}
	for k, vs := range hdr {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	if isText(hdr) && utf8.Valid(body) {
		resp.Body = string(body)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(body)
		resp.IsBase64Encoded = true
	}
	return resp
}

func (a *Handler) shouldCompress(req *http.Request, hdr http.Header, n int) bool {
	if a.opts.CompressAbove < 0 || n <= a.opts.CompressAbove || hdr.Get("Content-Encoding") != "" || !isText(hdr) {
		return false
	}
	for _, part := range strings.Split(req.Header.Get("Accept-Encoding"), ",") {
		coding, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q = strings.TrimSpace(q)
			if v, ok := strings.CutPrefix(q, "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
					return false
				}
			}
			return true
		}
	}
	return false
}

// isText reports whether a body with these headers can travel as a JSON
// string: textual media types without a content encoding. Everything else
// (protobuf, gzip) is base64-encoded, as Function URLs expect.
func isText(hdr http.Header) bool {
	if hdr.Get("Content-Encoding") != "" {
		return false
	}
	ct := hdr.Get("Content-Type")
	if ct == "" {
		return true // an empty or plain answer; checked for UTF-8 by the caller
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "image/svg+xml":
		return true
	}
	return false
}

// recorder is the ResponseWriter a request is served into.
type recorder struct {
	header http.Header
	body   bytes.Buffer
	status int
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}
