// Package deploytest holds the tests of everything under deploy/: the Helm
// chart, the plain Kubernetes manifests (kustomize) and the Knative services.
// It has no code of its own besides this file; the tests are in *_test.go.
//
// What the tests do:
//
//   - `helm lint` and `helm template` for every values file in
//     deploy/helm/tracelake/ci, and values the chart must refuse with a
//     message naming the value;
//   - `kubectl apply --dry-run=server --validate=strict` of every rendered
//     mode, every kustomize overlay, the single-file all-in-one manifest and
//     the Knative services against a real kube-apiserver (with etcd, started
//     on loopback ports for the test, with Knative Serving's and the
//     prometheus-operator's CRDs applied first), so a manifest the API
//     server would refuse — a misspelt field, a wrong type, an invalid port
//     name — fails the test; `helm install --dry-run=server` too;
//   - Knative's own webhook validation of the Knative services, run as a
//     library by the knativevalidate module beside this package;
//   - that the plain manifests are what the chart renders (they are
//     generated from it: go test ./deploy/deploytest -update rewrites them);
//   - that the real tracelake binary starts and becomes ready with the
//     arguments, environment and configuration file every rendered workload
//     gives it, so a configuration key the binary does not know fails here
//     rather than in a cluster. Workloads that store on an S3-compatible
//     endpoint run against a real MinIO (storage/objstore/s3/s3test).
//
// The tools come from .tools/bin (make tools), the TRACELAKE_*_BIN variables
// or $PATH. A missing tool skips its tests, or fails them when
// TRACELAKE_REQUIRE_HELM=1, TRACELAKE_REQUIRE_KUBE=1 or
// TRACELAKE_REQUIRE_MINIO=1 (as make test sets),
// so CI cannot pass by validating nothing. This package must never talk to
// a real cluster: it starts its own API server and nothing else.
package deploytest
