package lambdaurl

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// echo answers with what it received, so tests see the request a handler
// gets from an event.
func echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	cookie, _ := r.Cookie("session")
	out, _ := json.Marshal(map[string]any{
		"method":        r.Method,
		"uri":           r.RequestURI,
		"path":          r.URL.Path,
		"query":         r.URL.Query(),
		"host":          r.Host,
		"contentType":   r.Header.Get("Content-Type"),
		"encoding":      r.Header.Get("Content-Encoding"),
		"contentLength": r.ContentLength,
		"body":          base64.StdEncoding.EncodeToString(body),
		"remote":        r.RemoteAddr,
		"cookie":        cookie.String(),
	})
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

func invoke(t *testing.T, h http.Handler, opts Options, ev events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := New(h, opts).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response is not a Function URL response: %v\n%s", err, out)
	}
	return resp
}

func body(t *testing.T, resp events.LambdaFunctionURLResponse) []byte {
	t.Helper()
	b := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if b, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			t.Fatalf("response body is not base64: %v", err)
		}
	}
	if resp.Headers["Content-Encoding"] == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func event(method, path, query string, headers map[string]string, b []byte, b64 bool) events.LambdaFunctionURLRequest {
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: path, RawQueryString: query, Headers: headers,
		RequestContext: events.LambdaFunctionURLRequestContext{
			DomainName: "abc.lambda-url.eu-west-1.on.aws",
			HTTP:       events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.9"},
		},
		IsBase64Encoded: b64,
	}
	if b64 {
		ev.Body = base64.StdEncoding.EncodeToString(b)
	} else {
		ev.Body = string(b)
	}
	return ev
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestRequests(t *testing.T) {
	binary := []byte{0x0a, 0x00, 0xff, 0x80, 0x12}
	for _, tc := range []struct {
		name string
		ev   events.LambdaFunctionURLRequest
		want map[string]any
		raw  []byte // the body the handler must read
	}{
		{
			name: "base64 protobuf",
			ev:   event("POST", "/v1/traces", "", map[string]string{"content-type": "application/x-protobuf"}, binary, true),
			want: map[string]any{"method": "POST", "uri": "/v1/traces", "contentType": "application/x-protobuf", "contentLength": float64(5), "host": "abc.lambda-url.eu-west-1.on.aws", "remote": "203.0.113.9:0"},
			raw:  binary,
		},
		{
			name: "plain JSON",
			ev:   event("POST", "/api/v2/spans", "", map[string]string{"content-type": "application/json", "host": "traces.example.com"}, []byte(`[{"id":"1"}]`), false),
			want: map[string]any{"uri": "/api/v2/spans", "contentLength": float64(12), "host": "traces.example.com"},
			raw:  []byte(`[{"id":"1"}]`),
		},
		{
			name: "gzip body stays compressed for the handler",
			ev:   event("POST", "/v1/traces", "", map[string]string{"content-type": "application/json", "content-encoding": "gzip"}, gz([]byte(`{}`)), true),
			want: map[string]any{"encoding": "gzip"},
			raw:  gz([]byte(`{}`)),
		},
		{
			name: "query string and cookies",
			ev: func() events.LambdaFunctionURLRequest {
				ev := event("GET", "/api/traces", "service=a%20b&tag=x:1&tag=y:2", nil, nil, false)
				ev.Cookies = []string{"session=s1", "other=o"}
				return ev
			}(),
			want: map[string]any{"uri": "/api/traces?service=a%20b&tag=x:1&tag=y:2", "query": map[string]any{"service": []any{"a b"}, "tag": []any{"x:1", "y:2"}}, "cookie": "session=s1", "contentLength": float64(0)},
			raw:  []byte{},
		},
		{
			name: "API Gateway v2 without rawPath uses requestContext.http.path",
			ev: func() events.LambdaFunctionURLRequest {
				ev := event("GET", "/api/services", "", nil, nil, false)
				ev.RawPath = ""
				return ev
			}(),
			want: map[string]any{"path": "/api/services"},
			raw:  []byte{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := invoke(t, http.HandlerFunc(echo), Options{}, tc.ev)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body(t, resp))
			}
			var got map[string]any
			if err := json.Unmarshal(body(t, resp), &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if g, _ := json.Marshal(got[k]); string(g) != mustJSON(v) {
					t.Errorf("%s = %s, want %s", k, g, mustJSON(v))
				}
			}
			raw, _ := base64.StdEncoding.DecodeString(got["body"].(string))
			if !bytes.Equal(raw, tc.raw) {
				t.Errorf("handler read body %x, want %x", raw, tc.raw)
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestBadBase64IsTheHandlersError(t *testing.T) {
	ev := event("POST", "/v1/traces", "", nil, nil, true)
	ev.Body = "not*base64!"
	resp := invoke(t, http.HandlerFunc(echo), Options{}, ev)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body(t, resp)), "illegal base64") {
		t.Fatalf("status %d, body %q", resp.StatusCode, body(t, resp))
	}
}

func TestNotHTTPEvents(t *testing.T) {
	for _, payload := range []string{
		`{"source":"aws.events","detail-type":"Scheduled Event"}`,
		`[1,2]`,
		`not json`,
		`{"requestContext":{"http":{"method":"GET"}},"rawPath":"relative"}`,
	} {
		_, err := New(http.HandlerFunc(echo), Options{}).Invoke(context.Background(), []byte(payload))
		if !errors.Is(err, ErrNotHTTPEvent) {
			t.Errorf("%s: err = %v, want ErrNotHTTPEvent", payload, err)
		}
	}
}

func TestResponses(t *testing.T) {
	big := strings.Repeat(`{"traceID":"0123456789abcdef"},`, 1000)
	for _, tc := range []struct {
		name       string
		handler    http.HandlerFunc
		accept     string
		status     int
		base64     bool
		headers    map[string]string
		cookies    []string
		bodySubstr string
	}{
		{
			name: "protobuf is base64",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-protobuf")
				w.Write([]byte{0x0a, 0x00})
			},
			status: 200, base64: true, headers: map[string]string{"Content-Type": "application/x-protobuf"},
		},
		{
			name: "JSON error with Retry-After is text",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "5")
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte(`{"code":14,"message":"storage unavailable"}`))
			},
			status: 503, headers: map[string]string{"Retry-After": "5"}, bodySubstr: "storage unavailable",
		},
		{
			name: "cookies and repeated headers",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Set-Cookie", "a=1")
				w.Header().Add("Set-Cookie", "b=2")
				w.Header().Add("Vary", "Origin")
				w.Header().Add("Vary", "Accept")
				w.WriteHeader(http.StatusAccepted)
			},
			status: 202, cookies: []string{"a=1", "b=2"}, headers: map[string]string{"Vary": "Origin, Accept"},
		},
		{
			name: "large JSON is gzipped when accepted",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(big))
			},
			accept: "br, gzip;q=0.8", status: 200, base64: true, headers: map[string]string{"Content-Encoding": "gzip"}, bodySubstr: "0123456789abcdef",
		},
		{
			name: "large JSON stays plain when gzip is refused",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(big))
			},
			accept: "gzip;q=0", status: 200, bodySubstr: "0123456789abcdef",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.accept != "" {
				hdr["accept-encoding"] = tc.accept
			}
			resp := invoke(t, tc.handler, Options{}, event("GET", "/", "", hdr, nil, false))
			if resp.StatusCode != tc.status || resp.IsBase64Encoded != tc.base64 {
				t.Fatalf("status %d base64 %t, want %d %t", resp.StatusCode, resp.IsBase64Encoded, tc.status, tc.base64)
			}
			for k, v := range tc.headers {
				if resp.Headers[k] != v {
					t.Errorf("header %s = %q, want %q (all: %v)", k, resp.Headers[k], v, resp.Headers)
				}
			}
			if mustJSON(resp.Cookies) != mustJSON(tc.cookies) {
				t.Errorf("cookies %v, want %v", resp.Cookies, tc.cookies)
			}
			if !strings.Contains(string(body(t, resp)), tc.bodySubstr) {
				t.Errorf("body lacks %q", tc.bodySubstr)
			}
		})
	}
}

func TestResponseTooLarge(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(make([]byte, 2000))
	})
	resp := invoke(t, h, Options{MaxResponseBytes: 1000}, event("GET", "/api/traces", "", nil, nil, false))
	if resp.StatusCode != 500 || !strings.Contains(resp.Body, "exceeds AWS Lambda's limit of 1000 bytes") {
		t.Fatalf("status %d body %q", resp.StatusCode, resp.Body)
	}
}

func TestRequireToken(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret data")) })
	h := RequireToken(ok, "s3cr3t")
	for _, tc := range []struct {
		name     string
		ev       events.LambdaFunctionURLRequest
		status   int
		location string
		cookie   bool
	}{
		{name: "no token", ev: event("GET", "/api/services", "", nil, nil, false), status: 401},
		{name: "wrong bearer", ev: event("GET", "/api/services", "", map[string]string{"authorization": "Bearer nope"}, nil, false), status: 401},
		{name: "bearer", ev: event("POST", "/v1/traces", "", map[string]string{"authorization": "Bearer s3cr3t"}, nil, false), status: 200},
		{name: "bearer, any case", ev: event("GET", "/", "", map[string]string{"authorization": "bearer s3cr3t"}, nil, false), status: 200},
		{name: "cookie", ev: func() events.LambdaFunctionURLRequest {
			ev := event("GET", "/search", "", nil, nil, false)
			ev.Cookies = []string{TokenCookie + "=s3cr3t"}
			return ev
		}(), status: 200},
		{name: "token in the URL sets the cookie and redirects", ev: event("GET", "/search", "service=a&token=s3cr3t", nil, nil, false), status: 303, location: "/search?service=a", cookie: true},
		{name: "wrong token in the URL", ev: event("GET", "/search", "token=x", nil, nil, false), status: 401},
		{name: "token in the URL is for GET only", ev: event("POST", "/v1/traces", "token=s3cr3t", nil, nil, false), status: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := invoke(t, h, Options{}, tc.ev)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if tc.status == 401 && (strings.Contains(resp.Body, "secret data") || resp.Headers["Www-Authenticate"] == "") {
				t.Errorf("401 without WWW-Authenticate or with data: %v %q", resp.Headers, resp.Body)
			}
			if resp.Headers["Location"] != tc.location {
				t.Errorf("Location %q, want %q", resp.Headers["Location"], tc.location)
			}
			if tc.cookie != (len(resp.Cookies) == 1 && strings.Contains(resp.Cookies[0], "HttpOnly") && strings.Contains(resp.Cookies[0], "Secure")) {
				t.Errorf("cookies %v", resp.Cookies)
			}
		})
	}
}

// FuzzInvoke: no event makes the adapter panic, and every event is either
// refused as not HTTP or answered with a Function URL response.
func FuzzInvoke(f *testing.F) {
	for _, ev := range []events.LambdaFunctionURLRequest{
		event("POST", "/v1/traces", "a=1", map[string]string{"content-type": "application/json"}, []byte(`{}`), false),
		event("POST", "/v1/traces", "", nil, []byte{1, 2, 3}, true),
	} {
		b, _ := json.Marshal(ev)
		f.Add(b)
	}
	f.Add([]byte(`{"requestContext":{"http":{"method":"GET"}},"rawPath":"/x","isBase64Encoded":true,"body":"=="}`))
	h := New(http.HandlerFunc(echo), Options{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := h.Invoke(context.Background(), payload)
		if err != nil {
			if !errors.Is(err, ErrNotHTTPEvent) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		var resp events.LambdaFunctionURLResponse
		if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
			t.Fatalf("bad response %s: %v", out, err)
		}
	})
}

// TestAPIGatewayV2Event: an API Gateway HTTP API event (payload 2.0, as
// aws-lambda-go models it) is served like a Function URL event.
func TestAPIGatewayV2Event(t *testing.T) {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: "/v1/traces", RawQueryString: "x=1",
		Headers: map[string]string{"content-type": "application/x-protobuf", "x-scope-orgid": "team-a"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Stage: "$default", DomainName: "abc.execute-api.eu-west-1.amazonaws.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/v1/traces", Protocol: "HTTP/1.1", SourceIP: "198.51.100.7"},
		},
		Body: base64.StdEncoding.EncodeToString([]byte{1, 2, 3}), IsBase64Encoded: true,
	}
	payload, _ := json.Marshal(ev)
	out, err := New(http.HandlerFunc(echo), Options{}).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %v", out, err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	if got["uri"] != "/v1/traces?x=1" || got["host"] != "abc.execute-api.eu-west-1.amazonaws.com" || got["body"] != "AQID" || got["remote"] != "198.51.100.7:0" {
		t.Errorf("handler saw %v", got)
	}
}
