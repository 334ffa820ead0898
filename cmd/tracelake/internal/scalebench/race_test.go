//go:build race

package scalebench

// raceEnabled builds the query service with the race detector when the
// tests run with it, as cmd/tracelake's end-to-end tests do (so the two
// share the build cache).
const raceEnabled = true
