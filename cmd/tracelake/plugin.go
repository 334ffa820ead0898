package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/tracelake/tracelake/cmd/tracelake/internal/plugintool"
)

// runPlugin is "tracelake plugin test|bench": tools for plugin authors.
func runPlugin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "test" && args[0] != "bench") {
		fmt.Fprint(stderr, "usage: tracelake plugin test|bench [flags]; see --help of each\n")
		return fmt.Errorf("plugin: want a subcommand, test or bench")
	}
	fs := pflag.NewFlagSet("tracelake plugin "+args[0], pflag.ContinueOnError)
	fs.SetOutput(stderr)
	if args[0] == "test" {
		cfg := plugintool.TestFlags(fs)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return plugintool.Test(ctx, *cfg, stdout)
	}
	cfg := plugintool.BenchFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	_, err := plugintool.Bench(ctx, *cfg, stdout)
	return err
}
