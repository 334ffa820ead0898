package lambdalocal

import (
	"bytes"
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
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// URL is a Function URL in front of a function: it turns each HTTP request
// into a payload 2.0 event, invokes the function synchronously, and turns
// its answer back into HTTP, with the status codes AWS's front end uses
// for its own failures (413 for a request over the payload limit, 502 when
// the function fails or answers something that is not a response).
type URL struct {
	f      *Function
	id     string
	logger *slog.Logger
}

// NewURL returns the Function URL of f. logger may be nil.
func NewURL(f *Function, logger *slog.Logger) *URL {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &URL{f: f, id: randomHex(16), logger: logger}
}

func (u *URL) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ev, err := u.event(r)
	if err != nil {
		if errors.Is(err, ErrRequestTooLarge) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"Message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation"})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"Message": err.Error()})
		return
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"Message": err.Error()})
		return
	}
	res, err := u.f.Invoke(r.Context(), payload)
	switch {
	case errors.Is(err, ErrRequestTooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"Message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation"})
		return
	case errors.Is(err, context.Canceled):
		return // the client left
	case err != nil:
		u.logger.Error("invoke", "function", u.f.cfg.Name, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"Message": err.Error()})
		return
	case res.Err != nil:
		u.logger.Warn("function error", "function", u.f.cfg.Name, "type", res.Err.Type, "message", res.Err.Message)
		writeJSON(w, http.StatusBadGateway, map[string]string{"Message": "Internal Server Error"})
		return
	}
	if err := writeResponse(w, res.Payload); err != nil {
		u.logger.Warn("function answered something that is not a response", "function", u.f.cfg.Name, "err", err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"Message": "Internal Server Error"})
	}
}

// event builds the payload 2.0 event of r, as Function URLs do: lower-case
// header names, repeated headers joined by commas, cookies apart, bodies of
// non-text types base64-encoded.
func (u *URL) event(r *http.Request) (*events.LambdaFunctionURLRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if len(body) > MaxPayloadBytes {
		return nil, ErrRequestTooLarge
	}
	now := time.Now()
	ev := &events.LambdaFunctionURLRequest{
		Version:        "2.0",
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID:    "anonymous",
			RequestID:    newRequestID(),
			APIID:        u.id,
			DomainName:   r.Host,
			DomainPrefix: u.id,
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, UserAgent: r.UserAgent(),
			},
		},
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ev.RequestContext.HTTP.SourceIP = host
	}
	for k, vs := range r.Header {
		if k == "Cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	ev.Headers["host"] = r.Host
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		for k, vs := range q {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	if len(body) > 0 {
		if textBody(r.Header, body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	// The base64 body, not the raw one, must fit the payload limit.
	if len(ev.Body) > MaxPayloadBytes {
		return nil, ErrRequestTooLarge
	}
	return ev, nil
}

// textBody reports whether a request body travels as a JSON string:
// textual media types that are not content-encoded.
func textBody(h http.Header, body []byte) bool {
	if h.Get("Content-Encoding") != "" || !utf8.Valid(body) {
		return false
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/xml" || strings.HasSuffix(mt, "+xml") || mt == "application/x-www-form-urlencoded"
}

// writeResponse writes a function's answer: a response object when it has
// a statusCode, else (as Function URLs infer) a 200 with the payload as
// JSON.
func writeResponse(w http.ResponseWriter, payload []byte) error {
	var probe map[string]json.RawMessage
	if json.Unmarshal(payload, &probe) != nil || probe["statusCode"] == nil {
		if !json.Valid(payload) {
			return errors.New("the function's answer is not JSON")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
		return nil
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return err
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("statusCode %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return fmt.Errorf("body: %w", err)
		}
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, bytes.NewReader(body))
	return nil
}
