// Command tracelake is the one tracelake binary. Its first argument picks
// the role: all-in-one (the default), ingest, query; or a tool: load.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, pflag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "tracelake:", err)
		os.Exit(1)
	}
}

const usage = `tracelake: distributed tracing on object storage.

Usage:
  tracelake [all-in-one] [flags]   every receiver, the query API and the UI in one process (default)
  tracelake ingest [flags]         receivers only: OTLP/gRPC :4317, OTLP/HTTP :4318
  tracelake query [flags]          query API only: Jaeger HTTP API and api_v3 on :16686
  tracelake compact [flags]        compactor only: merges ingest files into indexed blocks, deletes what they replaced
  tracelake inspect blocks|block|trace   list blocks, show one block's layout, or dump a trace
  tracelake load [flags]           replay OTLP load against a running instance and report throughput
  tracelake plugin test [flags]    run a sampling plugin over traces and show each span's decision and edits
  tracelake plugin bench [flags]   measure a sampling plugin: per-span cost by batch size, cold start
  tracelake version                print the version

As an AWS Lambda function's bootstrap (AWS_LAMBDA_RUNTIME_API set, no
arguments) it serves the role TRACELAKE_ROLE names: ingest, query or compact.

Every role serves /metrics, /healthz and /readyz on :14269.
Run "tracelake <command> --help" for the flags; each flag is also a
TRACELAKE_* environment variable and a key of the --config YAML file.
`

// run is main without the process: arguments, environment and output are
// passed in, so tests run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 && inLambda(getenv) {
		// The binary is a Lambda function's bootstrap.
		return runLambda(ctx, getenv, stderr)
	}
	cmd := "all-in-one"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "all-in-one":
		return serve(ctx, roleAllInOne, args, getenv, stderr)
	case "ingest":
		return serve(ctx, roleIngest, args, getenv, stderr)
	case "query":
		return serve(ctx, roleQuery, args, getenv, stderr)
	case "compact":
		return serve(ctx, roleCompact, args, getenv, stderr)
	case "inspect":
		return runInspect(ctx, args, getenv, stdout, stderr)
	case "load":
		return runLoad(ctx, args, stdout, stderr)
	case "plugin":
		return runPlugin(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "tracelake", version)
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
