package ui

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// testFS is a small bundle with the shape build.mjs writes.
func testFS() fstest.MapFS {
	return fstest.MapFS{
		"dist/index.html": {Data: []byte(`<!doctype html><base href="/"><link rel="stylesheet" href="app.css"><script type="module" src="app.js"></script><div id="app"></div>`)},
		"dist/app.js":     {Data: bytes.Repeat([]byte("console.log('tracelake');\n"), 200)},
		"dist/app.css":    {Data: []byte("body{margin:0}")},
	}
}

func serve(t *testing.T, h http.Handler, method, target string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandlerRoutes(t *testing.T) {
	h, err := newHandler(testFS())
	if err != nil {
		t.Fatal(err)
	}
	fsys := testFS()
	index := fsys["dist/index.html"].Data
	tests := []struct {
		name, target string
		status       int
		ctype        string
		want         []byte // nil: do not compare
	}{
		{"root is the app", "/", 200, "text/html; charset=utf-8", index},
		{"search deep link", "/search?service=a&lookback=1h", 200, "text/html; charset=utf-8", index},
		{"trace deep link", "/trace/4bf92f3577b34da6a3ce929d0e0e4736", 200, "text/html; charset=utf-8", index},
		{"compare deep link", "/trace/aa...bb", 200, "text/html; charset=utf-8", index},
		{"nested unknown path", "/some/where/deep", 200, "text/html; charset=utf-8", index},
		{"index by name", "/index.html", 200, "text/html; charset=utf-8", index},
		{"script", "/app.js", 200, "text/javascript; charset=utf-8", fsys["dist/app.js"].Data},
		{"styles", "/app.css", 200, "text/css; charset=utf-8", fsys["dist/app.css"].Data},
		{"unknown API route", "/api/nope", 404, "application/json", nil},
		{"API root", "/api", 404, "application/json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := serve(t, h, http.MethodGet, tt.target, nil)
			b := body(t, res)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if got := res.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if tt.want != nil && !bytes.Equal(b, tt.want) {
				t.Errorf("body %.80q…, want %.80q…", b, tt.want)
			}
			if tt.status == 200 && res.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache", res.Header.Get("Cache-Control"))
			}
		})
	}
}

func TestHandlerAPINotFoundIsJaegerEnvelope(t *testing.T) {
	h, err := newHandler(testFS())
	if err != nil {
		t.Fatal(err)
	}
	res := serve(t, h, http.MethodGet, `/api/no"such`, nil)
	var env struct {
		Errors []struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body(t, res), &env); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if len(env.Errors) != 1 || env.Errors[0].Code != 404 || !strings.Contains(env.Errors[0].Msg, `/api/no"such`) {
		t.Errorf("errors %+v, want one 404 naming the path", env.Errors)
	}
}

func TestHandlerGzip(t *testing.T) {
	h, err := newHandler(testFS())
	if err != nil {
		t.Fatal(err)
	}
	want := testFS()["dist/app.js"].Data
	res := serve(t, h, http.MethodGet, "/app.js", map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", res.Header.Get("Content-Encoding"))
	}
	if !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("Vary %q lacks Accept-Encoding", res.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body(t, res)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("gzipped body does not decompress to the file")
	}

	for _, ae := range []string{"", "identity", "gzip;q=0", "br"} {
		res := serve(t, h, http.MethodGet, "/app.js", map[string]string{"Accept-Encoding": ae})
		if res.Header.Get("Content-Encoding") != "" || !bytes.Equal(body(t, res), want) {
			t.Errorf("Accept-Encoding %q: got an encoded body", ae)
		}
	}
	// Too small to pay: never compressed.
	res = serve(t, h, http.MethodGet, "/app.css", map[string]string{"Accept-Encoding": "gzip"})
	if res.Header.Get("Content-Encoding") != "" {
		t.Error("a tiny file was gzipped")
	}
}

func TestHandlerConditionalAndMethods(t *testing.T) {
	h, err := newHandler(testFS())
	if err != nil {
		t.Fatal(err)
	}
	res := serve(t, h, http.MethodGet, "/app.js", nil)
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res = serve(t, h, http.MethodGet, "/app.js", map[string]string{"If-None-Match": `"other", ` + etag})
	if res.StatusCode != http.StatusNotModified || len(body(t, res)) != 0 {
		t.Errorf("If-None-Match with the ETag: status %d, want 304 and no body", res.StatusCode)
	}
	res = serve(t, h, http.MethodGet, "/app.js", map[string]string{"If-None-Match": `"other"`})
	if res.StatusCode != http.StatusOK {
		t.Errorf("another ETag: status %d, want 200", res.StatusCode)
	}
	if other := serve(t, h, http.MethodGet, "/app.css", nil).Header.Get("ETag"); other == etag {
		t.Error("two files share an ETag")
	}

	res = serve(t, h, http.MethodHead, "/trace/abc", nil)
	if res.StatusCode != http.StatusOK || len(body(t, res)) != 0 || res.Header.Get("Content-Length") == "" {
		t.Errorf("HEAD: status %d, want 200 with a length and no body", res.StatusCode)
	}
	res = serve(t, h, http.MethodPost, "/search", nil)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d Allow %q, want 405 GET, HEAD", res.StatusCode, res.Header.Get("Allow"))
	}
}

func TestNewHandlerNeedsIndex(t *testing.T) {
	_, err := newHandler(fstest.MapFS{"dist/app.js": {Data: []byte("x")}})
	if err == nil || !strings.Contains(err.Error(), "index.html") {
		t.Errorf("err %v, want one naming index.html", err)
	}
}

// TestEmbeddedBundle checks the committed bundle itself: it has the three
// files, index.html loads the other two, and nothing refers to another
// origin (the UI must work with no internet).
func TestEmbeddedBundle(t *testing.T) {
	h := Handler().(*handler)
	for _, name := range []string{"index.html", "app.js", "app.css"} {
		if h.assets[name] == nil || len(h.assets[name].body) == 0 {
			t.Fatalf("dist/%s is missing or empty; run make ui", name)
		}
	}
	index := string(h.index.body)
	for _, ref := range []string{`src="app.js"`, `href="app.css"`, `id="app"`, `<base href="/">`} {
		if !strings.Contains(index, ref) {
			t.Errorf("index.html lacks %s", ref)
		}
	}
	external := regexp.MustCompile(`(?:src|href)=["']?(?:https?:)?//`)
	for name, a := range h.assets {
		if name == "app.js" {
			continue // JS may mention URLs in strings (e.g. SVG's namespace); checked below
		}
		if m := external.Find(a.body); m != nil {
			t.Errorf("%s loads something from another origin: %s", name, m)
		}
	}
	if m := regexp.MustCompile(`@import|url\((?:["']?)(?:https?:)?//`).Find(h.assets["app.css"].body); m != nil {
		t.Errorf("app.css loads something from another origin: %s", m)
	}
}
