package deploytest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The plain manifests in deploy/kubernetes/base are rendered from the chart,
// so the two install paths cannot drift apart.
const generatedHeader = "# Generated from deploy/helm/tracelake by `go test ./deploy/deploytest -update`.\n# Edit the chart, not this file; customize with a kustomize overlay.\n"

// bases are the kustomize bases and the chart values each is rendered with.
var bases = []struct {
	dir     string
	set     []string
	sources []string // the chart templates to keep; nil keeps all
}{
	{dir: "base/all-in-one", set: []string{"mode=allInOne"}},
	{dir: "base/production", set: []string{"mode=production", "storage.type=s3", "storage.s3.bucket=traces", "storage.s3.existingSecret=tracelake-s3"}},
	{dir: "base/minio", set: []string{"mode=production", "minio.enabled=true"}, sources: []string{"minio.yaml"}},
}

// overlays are the kustomize overlays users apply; the single-file
// manifest is the all-in-one overlay, built.
var overlays = []string{"overlays/all-in-one", "overlays/production-minio", "overlays/production-s3"}

const (
	kubernetesDir  = "deploy/kubernetes"
	singleFile     = "deploy/kubernetes/tracelake-all-in-one.yaml"
	singleFileFrom = "overlays/all-in-one"
	knativeDir     = "deploy/knative"
)

var sourceLine = regexp.MustCompile(`(?m)^# Source: tracelake/templates/(\S+)\n`)

// renderBase renders one base: file name → content, and its kustomization.
func renderBase(t *testing.T, set []string, sources []string) map[string][]byte {
	t.Helper()
	out, err := helmTemplate(t, "", append([]string{"plainManifests=true"}, set...)...)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var order []string
	for _, doc := range strings.Split(string(out), "\n---\n") {
		doc = strings.TrimPrefix(strings.TrimSpace(doc), "---\n")
		m := sourceLine.FindStringSubmatch(doc + "\n")
		if m == nil {
			if strings.TrimSpace(doc) != "" {
				t.Fatalf("a rendered document has no # Source line:\n%s", doc)
			}
			continue
		}
		src := m[1]
		if sources != nil && !slices.Contains(sources, src) {
			continue
		}
		doc = strings.TrimSpace(sourceLine.ReplaceAllString(doc+"\n", ""))
		if _, ok := files[src]; !ok {
			order = append(order, src)
			files[src] = []byte(generatedHeader)
		} else {
			files[src] = append(files[src], "---\n"...)
		}
		files[src] = append(files[src], doc+"\n"...)
	}
	var k bytes.Buffer
	k.WriteString(generatedHeader)
	k.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	slices.Sort(order)
	for _, f := range order {
		fmt.Fprintf(&k, "  - %s\n", f)
	}
	files["kustomization.yaml"] = k.Bytes()
	return files
}

// TestPlainManifestsMatchChart checks deploy/kubernetes/base and the
// single-file manifest against a fresh render; -update rewrites them.
func TestPlainManifestsMatchChart(t *testing.T) {
	kubectl := need(t, kubectlTool)
	for _, b := range bases {
		dir := filepath.Join(repoRoot(), kubernetesDir, b.dir)
		want := renderBase(t, b.set, b.sources)
		if *update {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, data := range want {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		have, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range have {
			if _, ok := want[filepath.Base(f)]; !ok {
				t.Errorf("%s is not rendered from the chart any more; run go test ./deploy/deploytest -update", f)
			}
		}
		for name, data := range want {
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s/%s differs from the chart's render; run go test ./deploy/deploytest -update (%v)", b.dir, name, err)
			}
		}
	}

	built := mustRun(t, nil, nil, kubectl, "kustomize", filepath.Join(kubernetesDir, singleFileFrom))
	want := append([]byte("# tracelake all-in-one: one pod, spans on a 10Gi volume. Apply with\n#   kubectl apply -f tracelake-all-in-one.yaml\n"+
		"# Built from deploy/kubernetes/"+singleFileFrom+" (kubectl kustomize) by `go test ./deploy/deploytest -update`.\n"), built...)
	path := filepath.Join(repoRoot(), singleFile)
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s is not the build of %s; run go test ./deploy/deploytest -update (%v)", singleFile, singleFileFrom, err)
	}
}

// knativeValidator builds deploy/deploytest/knativevalidate, a module of
// its own, once per test process (make tools warms the build cache).
var knativeValidator = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(workDir, "knativevalidate")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(repoRoot(), "deploy", "deploytest", "knativevalidate")
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build knativevalidate: %v\n%s", err, out)
	}
	return bin, nil
})

// TestKnativeValidatorRefuses shows knativevalidate applies Knative's rules:
// what the CRD schema allows but Knative's webhook refuses is refused.
func TestKnativeValidatorRefuses(t *testing.T) {
	kubectl := need(t, kubectlTool)
	validator, err := knativeValidator()
	if err != nil {
		t.Fatal(err)
	}
	manifests := string(mustRun(t, nil, nil, kubectl, "kustomize", knativeDir))
	for _, tc := range []struct{ name, from, to, want string }{
		{"gRPC port not named h2c", "name: h2c", "name: grpc", "Port name grpc is not allowed"},
		{"a port Knative reserves", "containerPort: 16686", "containerPort: 8012", "8012 is a reserved port"},
		{"pod security context", "      timeoutSeconds: 60", "      securityContext: {runAsUser: 1}\n      timeoutSeconds: 60", "must not set the field(s): spec.template.spec.securityContext"},
		{"bad scale annotation", `min-scale: "0"`, `min-scale: "none"`, "autoscaling.knative.dev/min-scale"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken := strings.ReplaceAll(manifests, tc.from, tc.to)
			if broken == manifests {
				t.Fatalf("the Knative manifests contain no %q to break", tc.from)
			}
			out, err := run(t, []byte(broken), nil, validator)
			if err == nil {
				t.Fatalf("accepted: %s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not say %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestPlainManifestsServerDryRun builds every overlay, the single file and
// the Knative services and applies them to a real API server.
func TestPlainManifestsServerDryRun(t *testing.T) {
	c := startCluster(t)
	c.installCRDs(t)
	cases := map[string]func(t *testing.T) []byte{}
	for _, o := range overlays {
		cases[o] = func(t *testing.T) []byte {
			return mustRun(t, nil, nil, c.kubectl, "kustomize", filepath.Join(kubernetesDir, o))
		}
	}
	cases["tracelake-all-in-one.yaml"] = func(t *testing.T) []byte {
		data, err := os.ReadFile(filepath.Join(repoRoot(), singleFile))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	cases["knative"] = func(t *testing.T) []byte {
		manifests := mustRun(t, nil, nil, c.kubectl, "kustomize", knativeDir)
		// The API server checks the CRD's schema; Knative's webhook checks
		// the rest (allowed fields and feature flags, port names, probes,
		// annotations), which knativevalidate runs.
		validator, err := knativeValidator()
		if err != nil {
			t.Fatal(err)
		}
		mustRun(t, manifests, nil, validator)
		return manifests
	}
	for name, build := range cases {
		t.Run(filepath.Base(name), func(t *testing.T) {
			manifests := build(t)
			objs := decode(t, manifests)
			for _, p := range checkObjects(objs) {
				t.Error(p)
			}
			res := c.dryRun(t, manifests)
			if n := strings.Count(res, "(server dry run)"); n != len(objs) {
				t.Errorf("the API server accepted %d objects of %d:\n%s", n, len(objs), res)
			}
		})
	}
}
