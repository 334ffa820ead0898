package scalebench

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Config is one run of the benchmark.
type Config struct {
	// Spans and Traces are what is generated, big traces included.
	Spans, Traces int
	// Hours is how many hours the spans' start times cover, ending at the
	// start of the current hour.
	Hours int
	// FileSpans is the spans per ingest file (about; files of an hour
	// share its spans evenly).
	FileSpans int
	// BigTraces traces of BigTraceSpans spans each are generated besides
	// the ordinary ones, and looked up separately.
	BigTraces, BigTraceSpans int
	// ErrorRate is the share of spans with an error status.
	ErrorRate float64
	// Workers generate and write ingest files concurrently; Compactors
	// compact windows concurrently (sharing the bucket through leases, as
	// several compactor processes would).
	Workers, Compactors int

	// Lookups is how many different ordinary traces are looked up by ID,
	// each once cold and once warm; the big traces are looked up too.
	Lookups int
	// SearchRuns is how many times each search shape runs, with varied
	// parameters, unless SearchBudget ends it first.
	SearchRuns int
	// SearchBudget bounds the time one shape's runs take (0: no bound):
	// once spent, the shape stops after at least minSearchRuns runs, so
	// a slow engine cannot make a full-size run take hours.
	SearchBudget time.Duration
	// ProfileChunk is the length of each CPU profile taken of the query
	// process while it is queried (profiles are taken back to back and
	// summarised together); 0 takes none.
	ProfileChunk time.Duration
	// ProfileCompaction takes a CPU profile of compaction (in-process).
	ProfileCompaction bool

	// Tracelake is the tracelake binary run as the query process.
	Tracelake string
	// Minio is the MinIO server binary; unused when S3 is set.
	Minio string
	// S3, when set, is the bucket to use instead of starting MinIO. It
	// must be empty.
	S3 *S3Target
	// OutDir receives the report (bench-scale-results.md), the profiles
	// and the query process's log.
	OutDir string
	// WorkDir holds MinIO's data and compaction's temporary files ("":
	// the system's temporary directory). What the run creates there is
	// removed at the end unless Keep is set.
	WorkDir string
	Keep    bool
	// Tenant the spans are written for.
	Tenant string
	// Seed makes the data (not the timings) reproducible.
	Seed uint64
}

// S3Target is an S3 bucket on an S3-compatible server.
type S3Target struct {
	// Endpoint is host:port, plain HTTP.
	Endpoint             string
	AccessKey, SecretKey string
	Bucket               string
}

// DefaultConfig is the full-size run of "make bench-scale".
func DefaultConfig() Config {
	return Config{
		Spans:             10_000_000,
		Traces:            1_000_000,
		Hours:             24,
		FileSpans:         25_000,
		BigTraces:         5,
		BigTraceSpans:     10_000,
		ErrorRate:         0.015,
		Workers:           runtime.GOMAXPROCS(0),
		Compactors:        runtime.GOMAXPROCS(0),
		Lookups:           200,
		SearchRuns:        30,
		SearchBudget:      2 * time.Minute,
		ProfileChunk:      10 * time.Second,
		ProfileCompaction: true,
		Tracelake:         "bin/tracelake",
		OutDir:            "bin/bench-scale",
		Tenant:            "single-tenant",
		Seed:              1,
	}
}

// Validate reports every invalid setting.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Hours <= 0 {
		bad("hours must be positive, got %d", c.Hours)
	}
	if c.FileSpans <= 0 {
		bad("file spans must be positive, got %d", c.FileSpans)
	}
	if c.BigTraces < 0 || c.BigTraceSpans < 1 {
		bad("big traces must not be negative and have at least one span")
	}
	normalTraces := c.Traces - c.BigTraces
	normalSpans := c.Spans - c.BigTraces*c.BigTraceSpans
	switch {
	case normalTraces < c.Hours:
		bad("traces (%d) must be at least big traces (%d) plus one per hour (%d)", c.Traces, c.BigTraces, c.Hours)
	case normalSpans < normalTraces:
		bad("spans (%d) must leave, after the big traces' %d, at least one span per other trace (%d)",
			c.Spans, c.BigTraces*c.BigTraceSpans, normalTraces)
	}
	if c.ErrorRate < 0 || c.ErrorRate > 1 {
		bad("error rate must be in [0, 1], got %g", c.ErrorRate)
	}
	if c.Workers <= 0 || c.Compactors <= 0 {
		bad("workers and compactors must be positive")
	}
	if c.Lookups <= 0 || c.SearchRuns <= 0 {
		bad("lookups and search runs must be positive")
	}
	if c.SearchBudget < 0 {
		bad("search budget must not be negative, got %s", c.SearchBudget)
	}
	if c.ProfileChunk < 0 || (c.ProfileChunk > 0 && c.ProfileChunk < time.Second) {
		bad("profile chunk must be 0 (no profiles) or at least 1s, got %s", c.ProfileChunk)
	}
	if c.Tracelake == "" {
		bad("the tracelake binary is required")
	}
	if c.S3 == nil && c.Minio == "" {
		bad("a MinIO binary or an S3 target is required")
	}
	if c.OutDir == "" {
		bad("an output directory is required")
	}
	if c.Tenant == "" {
		bad("a tenant is required")
	}
	return errors.Join(errs...)
}
