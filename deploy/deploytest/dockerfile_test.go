package deploytest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDockerfileMatchesChart: the image cannot be built here (no Docker
// daemon), so what can be checked without building it is: it exposes the
// ports the all-in-one pod declares, runs as the user the chart's security
// context names, starts the binary, and is built the way `make build` is.
func TestDockerfileMatchesChart(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(data)
	exposed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^EXPOSE (.+)$`).FindAllStringSubmatch(dockerfile, -1) {
		for _, p := range strings.Fields(m[1]) {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			exposed[p] = true
		}
	}
	out, err := helmTemplate(t, "ci/all-in-one-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := workloads(t, decode(t, out), "helm")
	if len(w) != 1 {
		t.Fatalf("the all-in-one renders %d tracelake containers, want 1", len(w))
	}
	declared := map[string]bool{}
	for port, proto := range w[0].ports {
		declared[fmt.Sprintf("%d/%s", port, strings.ToLower(proto))] = true
	}
	if !maps.Equal(exposed, declared) {
		t.Errorf("the Dockerfile exposes %v; the all-in-one pod declares %v", slices.Sorted(maps.Keys(exposed)), slices.Sorted(maps.Keys(declared)))
	}
	for _, want := range []string{
		"FROM gcr.io/distroless/static-debian12:nonroot\n",
		"USER 65532:65532\n",                // the chart's podSecurityContext.runAsUser/runAsGroup
		`ENTRYPOINT ["/usr/bin/tracelake"]`, // the chart passes the role as the first argument
		"make build VERSION=$VERSION",       // CGO_ENABLED=0, -trimpath, the version stamped
	} {
		if !strings.Contains(dockerfile, want) {
			t.Errorf("the Dockerfile has no %q", want)
		}
	}
	pod := podSpec(find(decode(t, out), "Deployment", "tracelake"))
	if u, g := get(pod, "securityContext", "runAsUser"), get(pod, "securityContext", "runAsGroup"); u != 65532 || g != 65532 {
		t.Errorf("the all-in-one pod runs as %v:%v, not the image's user 65532:65532", u, g)
	}
}
