package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
)

//go:embed dist
var dist embed.FS

// contentTypes fixes the types of what the bundle holds, whatever the
// system's MIME tables say.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".svg":  "image/svg+xml",
	".txt":  "text/plain; charset=utf-8",
}

// asset is one file of the bundle, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string

	gzOnce  sync.Once
	gzipped []byte // nil when compressing does not pay
}

// Handler returns the handler serving the embedded UI; mount it on the
// query service's mux as "GET /". It panics only if the embedded bundle is
// malformed, which the package's tests rule out.
func Handler() http.Handler {
	h, err := newHandler(dist)
	if err != nil {
		panic(fmt.Sprintf("ui: embedded bundle: %v", err))
	}
	return h
}

type handler struct {
	assets map[string]*asset // by path without the leading slash
	index  *asset
}

func newHandler(fsys fs.FS) (*handler, error) {
	sub, err := fs.Sub(fsys, "dist")
	if err != nil {
		return nil, err
	}
	h := &handler{assets: make(map[string]*asset)}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		a, err := newAsset(p, body)
		if err != nil {
			return err
		}
		h.assets[p] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if h.index = h.assets["index.html"]; h.index == nil {
		return nil, fmt.Errorf("index.html is missing (run make ui)")
	}
	return h, nil
}

func newAsset(name string, body []byte) (*asset, error) {
	ct := contentTypes[path.Ext(name)]
	if ct == "" {
		ct = mime.TypeByExtension(path.Ext(name))
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	a := &asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	return a, nil
}

// compressed returns the asset gzipped, compressing it on first use rather
// than at start-up: the 7–20 ms it takes would otherwise add to every cold
// start of a query function (Lambda) that may never serve the UI. Nil when
// compressing does not pay.
func (a *asset) compressed() []byte {
	a.gzOnce.Do(func() {
		if len(a.body) < 1024 {
			return
		}
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return // serve it uncompressed
		}
		if _, err := zw.Write(a.body); err != nil {
			return
		}
		if err := zw.Close(); err != nil {
			return
		}
		if buf.Len() < len(a.body)*9/10 {
			a.gzipped = buf.Bytes()
		}
	})
	return a.gzipped
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		// An API route that does not exist: say so in the APIs' language
		// rather than answering a script with the page.
		body, _ := json.Marshal(apiNotFound{Errors: []apiError{{Code: http.StatusNotFound, Msg: "no API route " + p}}})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write(append(body, '\n'))
		return
	}
	a := h.assets[strings.TrimPrefix(p, "/")]
	if a == nil || a == h.index {
		// Every other path is a view of the single-page app.
		a = h.index
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	// File names carry no content hash, so every file is revalidated;
	// the ETag makes that a 304 when nothing changed.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Vary", "Accept-Encoding")
	if etagMatch(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		if gz := a.compressed(); gz != nil {
			hd.Set("Content-Encoding", "gzip")
			body = gz
		}
	}
	hd.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etagMatch reports whether an If-None-Match header names etag (or *).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip
// (a q=0 weight refuses it).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.TrimSpace(name) != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// apiNotFound is the classic Jaeger API's error envelope.
type apiNotFound struct {
	Data   any        `json:"data"`
	Total  int        `json:"total"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
	Errors []apiError `json:"errors"`
}

type apiError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}
