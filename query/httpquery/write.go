package httpquery

import "net/http"

// WriteBody answers with status and body. Every answer of the query APIs,
// successful or not, goes through it, so that none is sniffed as another
// type than contentType says.
func WriteBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
