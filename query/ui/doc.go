// Package ui serves tracelake's web UI: the production bundle in dist/
// (built from web/ by `make ui` and committed, so `go build` and
// `go install` need no npm step), embedded in the binary.
//
// Handler answers every GET that names a file of the bundle with that
// file, and every other GET outside /api/ with index.html, so that the
// single-page app's deep links (/search?…, /trace/{id}, /dependencies, …)
// work when typed, bookmarked or reloaded. Unknown paths under /api/ get a
// JSON 404, never the page.
//
// It must never call a query API itself or hold state between requests:
// the UI reads the same public APIs (Jaeger's HTTP API, api_v3, metrics)
// any script can. It must never fetch anything from elsewhere at run time.
package ui
