package deploytest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelake/tracelake/storage/objstore/s3/s3test"
)

// workDir holds what the tests build once per process (the tracelake
// binary, knativevalidate); TestMain removes it.
var workDir string

func TestMain(m *testing.M) {
	var err error
	if workDir, err = os.MkdirTemp("", "tracelake-deploytest-"); err != nil {
		panic(err)
	}
	code := m.Run()
	stopCluster()
	s3test.Stop()
	os.RemoveAll(workDir)
	os.Exit(code)
}

func TestHelmLint(t *testing.T) {
	helm := need(t, helmTool)
	for _, values := range ciValues(t) {
		t.Run(filepath.Base(values), func(t *testing.T) {
			mustRun(t, nil, nil, helm, "lint", chartDir, "--strict", "--quiet",
				"--kube-version", kubeVersionForHelm, "-f", filepath.Join(chartDir, values))
		})
	}
}

// TestHelmRendersEveryMode renders every values file and checks what the
// API server cannot: references between the objects and the pods' locks.
func TestHelmRendersEveryMode(t *testing.T) {
	for _, values := range ciValues(t) {
		t.Run(filepath.Base(values), func(t *testing.T) {
			out, err := helmTemplate(t, values)
			if err != nil {
				t.Fatal(err)
			}
			objs := decode(t, out)
			for _, p := range checkObjects(objs) {
				t.Error(p)
			}
			mode := "allInOne"
			if strings.HasPrefix(filepath.Base(values), "production") {
				mode = "production"
			}
			want := map[string][]string{
				"allInOne":   {"Deployment/tracelake", "Service/tracelake", "ConfigMap/tracelake", "ServiceAccount/tracelake"},
				"production": {"Deployment/tracelake-ingest", "Service/tracelake-ingest", "Deployment/tracelake-query", "Service/tracelake-query", "Deployment/tracelake-compactor", "PodDisruptionBudget/tracelake-ingest", "PodDisruptionBudget/tracelake-query", "ConfigMap/tracelake"},
			}[mode]
			have := names(objs)
			for _, w := range want {
				if !strings.Contains(", "+have+",", ", "+w+",") {
					t.Errorf("%s mode renders no %s; it renders %s", mode, w, have)
				}
			}
		})
	}
}

// TestHelmRefusesBadValues: values that cannot work fail the render with a
// message naming the value, rather than producing pods that crash.
func TestHelmRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"unknown mode", []string{"mode=cluster"}, `mode: "cluster" is not allInOne or production`},
		{"unknown storage", []string{"storage.type=gcs"}, `storage.type: "gcs" is not local or s3`},
		{"production on a local directory", []string{"mode=production"}, "mode=production needs object storage"},
		{"s3 without a bucket", []string{"storage.type=s3"}, "storage.s3.bucket: must be set"},
		{"secret and keys", []string{"storage.type=s3", "storage.s3.bucket=b", "storage.s3.existingSecret=s", "storage.s3.accessKeyId=k", "storage.s3.secretAccessKey=s"}, "set existingSecret or accessKeyId/secretAccessKey, not both"},
		{"half a key", []string{"storage.type=s3", "storage.s3.bucket=b", "storage.s3.accessKeyId=k"}, "accessKeyId and secretAccessKey must be set together"},
		{"bad bucket", []string{"mode=production", "minio.enabled=true", "minio.bucket=Traces_1"}, `minio.bucket: "Traces_1" is not a valid bucket name`},
		{"short MinIO password", []string{"mode=production", "minio.enabled=true", "minio.rootPassword=short"}, "minio.rootPassword: MinIO needs at least 8 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := helmTemplate(t, "", tc.set...)
			if err == nil {
				t.Fatalf("rendered without error:\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not say %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestHelmServerDryRun applies every rendered mode to a real API server.
func TestHelmServerDryRun(t *testing.T) {
	c := startCluster(t)
	c.installCRDs(t)
	for _, values := range ciValues(t) {
		t.Run(filepath.Base(values), func(t *testing.T) {
			out, err := helmTemplate(t, values)
			if err != nil {
				t.Fatal(err)
			}
			res := c.dryRun(t, out)
			if n := strings.Count(res, "(server dry run)"); n != len(decode(t, out)) {
				t.Errorf("the API server accepted %d objects of %d:\n%s", n, len(decode(t, out)), res)
			}
			// helm install against the cluster too: its lookups (the bundled
			// MinIO's password is kept across upgrades) and the kube version
			// check run only there.
			ns := c.namespace(t)
			if _, err := run(t, nil, []string{"KUBECONFIG=" + c.kubeconfig}, need(t, helmTool), "install", releaseName, chartDir,
				"-n", ns, "--dry-run=server", "-f", filepath.Join(chartDir, values)); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestHelmKeepsGeneratedMinIOPassword: the bundled MinIO's generated
// password must survive upgrades (a new one would lock tracelake out of the
// data MinIO already holds).
func TestHelmKeepsGeneratedMinIOPassword(t *testing.T) {
	c := startCluster(t)
	ns := c.namespace(t)
	secret := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"tracelake-minio"},"stringData":{"MINIO_ROOT_USER":"tracelake","MINIO_ROOT_PASSWORD":"kept-across-upgrades"}}`
	if _, err := c.run(t, []byte(secret), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, nil, []string{"KUBECONFIG=" + c.kubeconfig}, need(t, helmTool), "template", releaseName, chartDir,
		"-n", ns, "--dry-run=server", "--kube-version", kubeVersionForHelm, "-f", filepath.Join(chartDir, "ci/production-minio-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `MINIO_ROOT_PASSWORD: "kept-across-upgrades"`) {
		t.Errorf("the existing password is not kept:\n%s", out)
	}
	// Without a Secret in the cluster, a new random one each time.
	first, _ := helmTemplate(t, "ci/production-minio-values.yaml")
	second, _ := helmTemplate(t, "ci/production-minio-values.yaml")
	if bytes.Equal(first, second) {
		t.Error("two fresh renders made the same MinIO password")
	}
}
