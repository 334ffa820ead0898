// Command lambda-local runs tracelake's Lambda package on this machine the
// way AWS Lambda would (see package lambdalocal), and packages it:
//
//	lambda-local serve   the ingest, query and compact functions under the
//	                     Runtime API emulator, behind Function-URL-style
//	                     front ends, on MinIO (`make lambda-local`)
//	lambda-local bench   cold starts and peak memory (`make bench-lambda`)
//	lambda-local zip     a Lambda deployment package (`make lambda-package`)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
)

const usage = `lambda-local: tracelake's Lambda package, run and measured locally.

Usage:
  lambda-local serve [flags]            run ingest, query and compact functions behind local Function URLs
  lambda-local bench [flags]            measure cold starts and peak memory
  lambda-local zip -o OUT.zip BOOTSTRAP package a bootstrap binary for Lambda

Run "lambda-local <command> --help" for the flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "lambda-local:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "zip":
		return runZip(args[1:], stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
