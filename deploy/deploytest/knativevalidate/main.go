// Command knativevalidate runs Knative Serving's own defaulting and
// validation — what its admission webhook does when a Service is created —
// on the Knative Services of a YAML stream read from standard input, with
// the defaults and feature flags Knative ships. It prints every error and
// exits 1 when there is one.
//
// It is a module of its own so that Knative's dependencies stay out of
// tracelake's go.mod; deploy/deploytest builds and runs it. Its Knative is
// v0.42.2 (Serving 1.15), not the v0.51.0 whose CRDs the tests install:
// v0.51.0 needs a knative.dev/pkg the Go module proxy does not serve.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
	"knative.dev/pkg/apis"
	"knative.dev/serving/pkg/apis/config"
	v1 "knative.dev/serving/pkg/apis/serving/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	data, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var errs []error
	n := 0
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if doc["apiVersion"] != "serving.knative.dev/v1" || doc["kind"] != "Service" {
			continue
		}
		raw, err := yaml.Marshal(doc)
		if err != nil {
			return err
		}
		var svc v1.Service
		if err := sigsyaml.UnmarshalStrict(raw, &svc); err != nil {
			errs = append(errs, fmt.Errorf("decode Service: %w", err))
			continue
		}
		ctx := config.ToContext(context.Background(), config.FromContextOrDefaults(context.Background()))
		ctx = apis.WithinCreate(ctx)
		svc.SetDefaults(ctx)
		if ferr := svc.Validate(ctx); ferr != nil {
			errs = append(errs, fmt.Errorf("service %s: %v", svc.Name, ferr))
		}
		n++
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if n == 0 {
		return errors.New("no Knative Services in the input")
	}
	fmt.Fprintf(out, "%d Knative Services valid\n", n)
	return nil
}
