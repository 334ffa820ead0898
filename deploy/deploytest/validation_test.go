package deploytest

import (
	"strings"
	"testing"
)

// TestServerDryRunRefusesBadManifests shows the validation is real: the API
// server (with the CRDs installed) refuses what a typo or a wrong type makes,
// in built-in kinds and custom resources alike.
func TestServerDryRunRefusesBadManifests(t *testing.T) {
	c := startCluster(t)
	c.installCRDs(t)
	for _, tc := range []struct {
		name, manifest, want string
	}{
		{"misspelt Deployment field", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: x, image: x, readinessProbes: {}}]
`, `unknown field "spec.template.spec.containers[0].readinessProbes"`},
		{"container port name too long", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: x, image: x, ports: [{name: jaeger-compact-thrift, containerPort: 6831, protocol: UDP}]}]
`, "must be no more than 15 characters"},
		{"Knative Service with a wrong type", `
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: x}
spec:
  template:
    spec:
      containerConcurrency: "many"
      containers: [{image: x}]
`, "spec.template.spec.containerConcurrency"},
		{"misspelt ServiceMonitor field", `
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  endpoints: [{port: admin, pathh: /metrics}]
`, `unknown field "spec.endpoints[0].pathh"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := c.apply(t, []byte(tc.manifest))
			if err == nil {
				t.Fatalf("accepted:\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not say %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestPodSecurityWarns: the test namespaces ask for Pod Security's
// "restricted" profile, so a pod template that breaks it is reported (and
// dryRun fails on any warning).
func TestPodSecurityWarns(t *testing.T) {
	c := startCluster(t)
	_, warnings, err := c.apply(t, []byte(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: x, image: x}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warnings, `would violate PodSecurity "restricted:latest"`) {
		t.Errorf("no Pod Security warning for a container with no security context; warnings: %q", warnings)
	}
}

// TestCheckObjectsFindsProblems breaks a rendered install in the ways
// checkObjects looks for and expects each to be reported.
func TestCheckObjectsFindsProblems(t *testing.T) {
	out, err := helmTemplate(t, "ci/production-s3-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(objs []object)
		want   string
	}{
		{"writable root", func(objs []object) {
			c := list(podSpec(find(objs, "Deployment", "tracelake-ingest")), "containers")[0]
			dict(c, "securityContext")["readOnlyRootFilesystem"] = false
		}, "Deployment/tracelake-ingest: container tracelake: securityContext.readOnlyRootFilesystem is not true"},
		{"capabilities kept", func(objs []object) {
			c := list(podSpec(find(objs, "Deployment", "tracelake-query")), "containers")[0]
			delete(dict(c, "securityContext"), "capabilities")
		}, "Deployment/tracelake-query: container tracelake: capabilities.drop is not [ALL]"},
		{"no probes", func(objs []object) {
			c := list(podSpec(find(objs, "Deployment", "tracelake-compactor")), "containers")[0]
			delete(c.(map[string]any), "readinessProbe")
		}, "Deployment/tracelake-compactor: container tracelake: needs readiness and liveness probes"},
		{"service port without a container port", func(objs []object) {
			p := list(find(objs, "Service", "tracelake-ingest"), "spec", "ports")[0]
			p.(map[string]any)["targetPort"] = "otlp"
		}, `Service/tracelake-ingest: port otlp-grpc targets "otlp", which Deployment/tracelake-ingest's pods do not declare`},
		{"HPA on a missing Deployment", func(objs []object) {
			dict(find(objs, "HorizontalPodAutoscaler", "tracelake-ingest"), "spec", "scaleTargetRef")["name"] = "ingest"
		}, `HorizontalPodAutoscaler/tracelake-ingest: scales Deployment "ingest"`},
		{"ingress to a missing port", func(objs []object) {
			p := list(list(find(objs, "Ingress", "tracelake"), "spec", "rules")[0], "http", "paths")[0]
			dict(p, "backend", "service", "port")["name"] = "http"
		}, `path /v1/traces goes to port "http", which Service tracelake-ingest does not have`},
		{"missing ConfigMap", func(objs []object) {
			find(objs, "ConfigMap", "tracelake")["metadata"].(map[string]any)["name"] = "other"
		}, `names ConfigMap "tracelake", which is not in the manifests`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := decode(t, out)
			if p := checkObjects(objs); len(p) != 0 {
				t.Fatalf("problems before breaking anything: %v", p)
			}
			tc.break_(objs)
			problems := strings.Join(checkObjects(objs), "\n")
			if !strings.Contains(problems, tc.want) {
				t.Errorf("checkObjects did not report %q; it reported:\n%s", tc.want, problems)
			}
		})
	}
}

func find(objs []object, kind, name string) object {
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return o
		}
	}
	panic("no " + kind + "/" + name)
}
