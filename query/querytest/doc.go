// Package querytest holds what the tests of the query area's APIs share:
// Fake, an in-memory query.Querier that answers from canned data and
// records what it was asked; Golden and GoldenJSON, which compare an
// answer with a golden file under testdata/ and rewrite it under -update;
// and small helpers to send a request and to read IDs and JSON.
//
// The -update flag is registered by this package, once per test binary,
// when the package is initialised. A test binary that imports querytest
// must therefore not define a flag named update itself (the flag package
// panics on a second definition); each package's tests are a separate
// binary, so every package importing querytest gets the flag from here:
//
//	go test ./query/zipkinapi/ -run TestGolden -update
//
// It is for tests only: production code must never import it. It must
// never touch storage, the network or any file outside the golden files it
// is given, and Fake must never decide anything a real Querier would (no
// filtering of searches, no ordering): it answers exactly what it was given.
package querytest
