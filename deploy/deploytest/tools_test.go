package deploytest

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the plain manifests under deploy/kubernetes from the Helm chart")

// Environment variables that control the tests.
const (
	envRequireHelm = "TRACELAKE_REQUIRE_HELM" // 1: a missing helm fails the tests
	envRequireKube = "TRACELAKE_REQUIRE_KUBE" // 1: a missing kubectl, kube-apiserver or etcd fails them
)

// Versions of what the validation runs against. The binaries' versions are
// pinned in the Makefile (HELM_VERSION, KUBE_VERSION); these are Go modules
// the tests read CRDs from, fetched through the Go module proxy.
const (
	knativeServingModule      = "knative.dev/serving@v0.51.0"
	prometheusOperatorModule  = "github.com/prometheus-operator/prometheus-operator@v0.90.1"
	kubeVersionForHelm        = "1.36.3" // helm template's idea of the cluster (Capabilities.KubeVersion)
	chartDir                  = "deploy/helm/tracelake"
	releaseName               = "tracelake"
	commandTimeout            = 2 * time.Minute
	testNamespacePrefix       = "tl-"
	serviceMonitorCRDFilename = "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"
)

// tool is an external program the tests run.
type tool struct {
	name    string // the binary's name in .tools/bin and $PATH
	env     string // the variable naming its path
	require string // the variable that makes its absence a failure
	install string // how to get it, for the message
}

var (
	helmTool      = tool{"helm", "TRACELAKE_HELM_BIN", envRequireHelm, "make tools"}
	kubectlTool   = tool{"kubectl", "TRACELAKE_KUBECTL_BIN", envRequireKube, "make tools"}
	apiserverTool = tool{"kube-apiserver", "TRACELAKE_KUBE_APISERVER_BIN", envRequireKube, "make tools"}
	etcdTool      = tool{"etcd", "TRACELAKE_ETCD_BIN", envRequireKube, "apt-get install etcd-server (make tools does it)"}
)

// errMissing says a tool is not installed.
var errMissing = errors.New("not installed")

// find returns the tool's path: $<env>, else .tools/bin, else $PATH (where
// kubectl must report the pinned version, since a developer's own kubectl
// may be far older or newer than the API server).
func (tl tool) find() (string, error) {
	if p := os.Getenv(tl.env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", tl.env, p, err) // set but wrong: never a skip
		}
		return p, nil
	}
	local := filepath.Join(repoRoot(), ".tools", "bin", tl.name)
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	if tl.name != "kubectl" { // a kubectl of another version could disagree with our API server
		if p, err := exec.LookPath(tl.name); err == nil {
			return p, nil
		}
	}
	where := "$PATH"
	if tl.name == "kubectl" {
		where = "not $PATH: kubectl must be the API server's version"
	}
	return "", fmt.Errorf("%s %w (looked at $%s, %s, %s): %s, or set %s", tl.name, errMissing, tl.env, local, where, tl.install, tl.env)
}

// need returns the tool's path, skipping the test when it is missing,
// or failing it when its require variable is 1.
func need(t testing.TB, tl tool) string {
	t.Helper()
	p, err := tl.find()
	if errors.Is(err, errMissing) && os.Getenv(tl.require) != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("%v (%s=%s)", err, tl.require, os.Getenv(tl.require))
	}
	return p
}

var rootOnce = sync.OnceValue(func() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("go.mod not found above " + dir)
		}
		dir = parent
	}
})

// repoRoot is the directory holding go.mod.
func repoRoot() string { return rootOnce() }

// run runs a command in the repository root and returns its standard
// output; a failure carries the standard error.
func run(t testing.TB, stdin []byte, env []string, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := contextWithTimeout(t, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = repoRoot()
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// mustRun is run that fails the test on error.
func mustRun(t testing.TB, stdin []byte, env []string, name string, args ...string) []byte {
	t.Helper()
	out, err := run(t, stdin, env, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// helmTemplate renders the chart with a values file (relative to the chart)
// and --set pairs.
func helmTemplate(t testing.TB, valuesFile string, set ...string) ([]byte, error) {
	t.Helper()
	helm := need(t, helmTool)
	args := []string{"template", releaseName, chartDir, "--kube-version", kubeVersionForHelm,
		"--api-versions", "monitoring.coreos.com/v1"}
	if valuesFile != "" {
		args = append(args, "-f", filepath.Join(chartDir, valuesFile))
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return run(t, nil, nil, helm, args...)
}

// ciValues lists the chart's ci/*-values.yaml files, relative to the chart.
func ciValues(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(), chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files in %s/ci (%v)", chartDir, err)
	}
	for i, f := range files {
		files[i] = filepath.Join("ci", filepath.Base(f))
	}
	return files
}
