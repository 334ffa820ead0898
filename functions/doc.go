// Package functions is the home of tracelake's stateless ingest handlers:
// protocol receivers (functions/otlp, …), the pipeline every receiver
// feeds (functions/pipeline), and later the adapters that run them as
// Lambda functions. Any instance can serve any request; the object store
// is the only state they share.
package functions
