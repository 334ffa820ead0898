package deploytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// object is one decoded Kubernetes object.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string { return str(o, "metadata", "name") }
func (o object) String() string {
	return o.kind() + "/" + o.name()
}

// get follows a path of map keys.
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			if o, ok2 := v.(object); ok2 {
				m = o
			} else {
				return nil
			}
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string { s, _ := get(v, path...).(string); return s }
func list(v any, path ...string) []any { l, _ := get(v, path...).([]any); return l }
func dict(v any, path ...string) map[string]any {
	m, _ := get(v, path...).(map[string]any)
	return m
}

// decode splits a multi-document YAML stream into objects, dropping empty
// documents.
func decode(t testing.TB, data []byte) []object {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var objs []object
	for {
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decode manifests: %v\n%s", err, data)
		}
		if len(o) > 0 {
			objs = append(objs, object(o))
		}
	}
}

// podSpec returns the pod spec of a workload (Deployment, Knative Service).
func podSpec(o object) map[string]any {
	return dict(o, "spec", "template", "spec")
}

func podLabels(o object) map[string]any {
	return dict(o, "spec", "template", "metadata", "labels")
}

func matches(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkObjects checks what the API server does not: that the objects of one
// install refer to each other correctly and that every workload is locked
// down. It returns every problem found.
func checkObjects(objs []object) []string {
	var problems []string
	bad := func(o object, format string, args ...any) {
		problems = append(problems, o.String()+": "+fmt.Sprintf(format, args...))
	}
	byKind := map[string][]object{}
	names := map[string]bool{}
	for _, o := range objs {
		byKind[o.kind()] = append(byKind[o.kind()], o)
		names[o.kind()+"/"+o.name()] = true
	}
	workloads := append(slices.Clone(byKind["Deployment"]), byKind["Service"]...)
	workloads = slices.DeleteFunc(workloads, func(o object) bool { return podSpec(o) == nil })

	// Every pod: non-root, read-only, no capabilities, sized, probed.
	for _, w := range workloads {
		spec := podSpec(w)
		knative := str(w, "apiVersion") == "serving.knative.dev/v1"
		for _, c := range list(spec, "containers") {
			name := str(c, "name")
			sc := dict(c, "securityContext")
			if get(sc, "readOnlyRootFilesystem") != true {
				bad(w, "container %s: securityContext.readOnlyRootFilesystem is not true", name)
			}
			if get(sc, "allowPrivilegeEscalation") != false {
				bad(w, "container %s: securityContext.allowPrivilegeEscalation is not false", name)
			}
			if get(sc, "runAsNonRoot") != true && get(spec, "securityContext", "runAsNonRoot") != true {
				bad(w, "container %s: runAsNonRoot is not true", name)
			}
			if drop := list(sc, "capabilities", "drop"); !slices.Contains(drop, any("ALL")) {
				bad(w, "container %s: capabilities.drop is not [ALL]", name)
			}
			if str(sc, "seccompProfile", "type") != "RuntimeDefault" && str(spec, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
				bad(w, "container %s: seccompProfile is not RuntimeDefault", name)
			}
			if dict(c, "resources", "requests") == nil || get(c, "resources", "limits", "memory") == nil {
				bad(w, "container %s: needs resource requests and a memory limit", name)
			}
			// Knative probes the serving port itself; pods probe /healthz and /readyz.
			if !knative && (dict(c, "readinessProbe") == nil || dict(c, "livenessProbe") == nil) {
				bad(w, "container %s: needs readiness and liveness probes", name)
			}
			for _, m := range list(c, "volumeMounts") {
				if !slices.ContainsFunc(list(spec, "volumes"), func(v any) bool { return str(v, "name") == str(m, "name") }) {
					bad(w, "container %s mounts volume %q, which the pod does not have", name, str(m, "name"))
				}
			}
			for _, e := range list(c, "envFrom") {
				if cm := str(e, "configMapRef", "name"); cm != "" && !names["ConfigMap/"+cm] {
					bad(w, "envFrom names ConfigMap %q, which is not in the manifests", cm)
				}
				// Secrets may be made outside (existingSecret, IRSA-less installs);
				// those are optional or documented.
			}
		}
		for _, v := range list(spec, "volumes") {
			if cm := str(v, "configMap", "name"); cm != "" && !names["ConfigMap/"+cm] {
				bad(w, "volume %q names ConfigMap %q, which is not in the manifests", str(v, "name"), cm)
			}
			if pvc := str(v, "persistentVolumeClaim", "claimName"); pvc != "" && !names["PersistentVolumeClaim/"+pvc] {
				bad(w, "volume %q names PersistentVolumeClaim %q, which is not in the manifests", str(v, "name"), pvc)
			}
		}
		if sa := str(spec, "serviceAccountName"); sa != "" && !names["ServiceAccount/"+sa] {
			bad(w, "serviceAccountName %q is not in the manifests", sa)
		}
		if str(w, "kind") == "Deployment" && !matches(dict(w, "spec", "selector", "matchLabels"), podLabels(w)) {
			bad(w, "selector does not match its pod labels")
		}
	}

	// Services select pods that have every named target port.
	containerPorts := func(w object) map[string]bool {
		ports := map[string]bool{}
		for _, c := range list(podSpec(w), "containers") {
			for _, p := range list(c, "ports") {
				ports[str(p, "name")] = true
			}
		}
		return ports
	}
	servicePorts := map[string]map[string]bool{}
	for _, s := range byKind["Service"] {
		if podSpec(s) != nil {
			continue // a Knative Service
		}
		servicePorts[s.name()] = map[string]bool{}
		var selected []object
		for _, w := range workloads {
			if w.kind() == "Deployment" && matches(dict(s, "spec", "selector"), podLabels(w)) {
				selected = append(selected, w)
			}
		}
		if len(selected) == 0 {
			bad(s, "selects no Deployment's pods")
		}
		for _, p := range list(s, "spec", "ports") {
			servicePorts[s.name()][str(p, "name")] = true
			target, isName := get(p, "targetPort").(string)
			if !isName {
				continue
			}
			for _, w := range selected {
				if !containerPorts(w)[target] {
					bad(s, "port %s targets %q, which %s's pods do not declare", str(p, "name"), target, w)
				}
			}
		}
	}

	for _, h := range byKind["HorizontalPodAutoscaler"] {
		if ref := str(h, "spec", "scaleTargetRef", "name"); !names["Deployment/"+ref] {
			bad(h, "scales Deployment %q, which is not in the manifests", ref)
		}
	}
	for _, p := range byKind["PodDisruptionBudget"] {
		if !slices.ContainsFunc(workloads, func(w object) bool {
			return w.kind() == "Deployment" && matches(dict(p, "spec", "selector", "matchLabels"), podLabels(w))
		}) {
			bad(p, "selects no Deployment's pods")
		}
	}
	for _, in := range byKind["Ingress"] {
		for _, r := range list(in, "spec", "rules") {
			for _, p := range list(r, "http", "paths") {
				svc, port := str(p, "backend", "service", "name"), str(p, "backend", "service", "port", "name")
				if servicePorts[svc] == nil {
					bad(in, "path %s goes to Service %q, which is not in the manifests", str(p, "path"), svc)
				} else if port != "" && !servicePorts[svc][port] {
					bad(in, "path %s goes to port %q, which Service %s does not have", str(p, "path"), port, svc)
				}
			}
		}
	}
	for _, sm := range byKind["ServiceMonitor"] {
		n := 0
		for _, s := range byKind["Service"] {
			if matches(dict(sm, "spec", "selector", "matchLabels"), dict(s, "metadata", "labels")) && servicePorts[s.name()]["admin"] {
				n++
			}
		}
		if n == 0 {
			bad(sm, "selects no Service with an admin port")
		}
	}
	return problems
}

// names lists kind/name of objects, for messages.
func names(objs []object) string {
	var s []string
	for _, o := range objs {
		s = append(s, o.String())
	}
	return strings.Join(s, ", ")
}
