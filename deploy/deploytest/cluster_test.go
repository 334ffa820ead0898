package deploytest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func contextWithTimeout(t testing.TB, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}

// cluster is an etcd and a kube-apiserver on loopback ports, with
// AlwaysAllow authorization and one static admin token: enough for
// `kubectl apply --dry-run=server`, which runs admission and validation
// but schedules nothing (there is no controller manager or kubelet).
type cluster struct {
	dir        string
	kubeconfig string
	kubectl    string
	etcd       *process
	apiserver  *process
	namespaces atomic.Int64
}

// The cluster of this test process, started by the first test that needs
// it: starting one takes several seconds, too long to pay per test.
var shared struct {
	once sync.Once
	c    *cluster
	err  error
	skip error // a tool is missing and not required
}

// startCluster returns the test process's cluster, starting it on first use.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	kubectl := need(t, kubectlTool)
	apiserver := need(t, apiserverTool)
	etcd := need(t, etcdTool)
	shared.once.Do(func() {
		shared.c, shared.err = newCluster(kubectl, apiserver, etcd)
	})
	if shared.err != nil {
		t.Fatalf("start kube-apiserver: %v", shared.err)
	}
	return shared.c
}

func stopCluster() {
	if shared.c != nil {
		shared.c.stop()
		shared.c = nil
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func newCluster(kubectl, apiserverBin, etcdBin string) (c *cluster, err error) {
	dir, err := os.MkdirTemp("", "tracelake-kube-")
	if err != nil {
		return nil, err
	}
	c = &cluster{dir: dir, kubectl: kubectl}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	c.etcd, err = startProcess(filepath.Join(dir, "etcd.log"), etcdBin,
		"--name", "tracelake-test",
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "tracelake-test="+peerURL,
		"--logger", "zap", "--log-level", "warn",
		"--unsafe-no-fsync", // test data: durability buys nothing but time
	)
	if err != nil {
		return nil, err
	}

	// The service account signing key and the admin's token.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "sa.key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return nil, err
	}
	tok := make([]byte, 16)
	rand.Read(tok)
	token := hex.EncodeToString(tok)
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return nil, err
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	c.apiserver, err = startProcess(filepath.Join(dir, "kube-apiserver.log"), apiserverBin,
		"--etcd-servers", clientURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(ports[2]),
		"--cert-dir", filepath.Join(dir, "certs"),
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", keyFile,
		"--service-account-signing-key-file", keyFile,
		"--token-auth-file", tokens,
		"--authorization-mode", "AlwaysAllow",
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"-v", "0",
	)
	if err != nil {
		return nil, err
	}
	if err := waitReady(server, token, c.apiserver, 90*time.Second); err != nil {
		return nil, fmt.Errorf("%w\n%s\n%s", err, logTail(filepath.Join(dir, "kube-apiserver.log")), logTail(filepath.Join(dir, "etcd.log")))
	}

	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	kc := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"clusters":        []any{map[string]any{"name": "test", "cluster": map[string]any{"server": server, "insecure-skip-tls-verify": true}}},
		"users":           []any{map[string]any{"name": "admin", "user": map[string]any{"token": token}}},
		"contexts":        []any{map[string]any{"name": "test", "context": map[string]any{"cluster": "test", "user": "admin", "namespace": "default"}}},
		"current-context": "test",
	}
	data, _ := json.Marshal(kc) // JSON is YAML
	if err := os.WriteFile(c.kubeconfig, data, 0o600); err != nil {
		return nil, err
	}
	return c, nil
}

// process is a server the tests started.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once it has exited
}

// startProcess starts a server with its output in logPath; the child dies
// with the test process (Pdeathsig), so a crashed test leaves nothing behind.
func startProcess(logPath, bin string, args ...string) (*process, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

func waitReady(server, token string, proc *process, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // a throwaway self-signed server
		DisableKeepAlives: true,
	}}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := client.Do(req); err == nil {
			body := new(bytes.Buffer)
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		select {
		case <-proc.exited:
			return fmt.Errorf("kube-apiserver exited during start-up: %v", proc.cmd.ProcessState)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("kube-apiserver not ready after %v: %s", timeout, last)
}

func (c *cluster) stop() {
	for _, p := range []*process{c.apiserver, c.etcd} {
		if p != nil {
			p.kill()
		}
	}
	os.RemoveAll(c.dir)
}

func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log %s: %v)", path, err)
	}
	const max = 3 << 10
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return filepath.Base(path) + ":\n" + string(bytes.TrimSpace(data))
}

// kubectl runs kubectl against the cluster.
func (c *cluster) run(t testing.TB, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	return run(t, stdin, []string{"KUBECONFIG=" + c.kubeconfig}, c.kubectl, args...)
}

// namespace creates a fresh namespace with its default ServiceAccount (no
// controller manager runs to create it) and returns its name. The namespace
// asks for Pod Security's "restricted" profile, so the API server warns
// about any pod template that breaks it.
func (c *cluster) namespace(t testing.TB) string {
	t.Helper()
	ns := fmt.Sprintf("%s%d", testNamespacePrefix, c.namespaces.Add(1))
	manifest := fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q,"labels":{"pod-security.kubernetes.io/enforce":"restricted","pod-security.kubernetes.io/warn":"restricted"}}}
---
{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":%q}}
`, ns, ns)
	if _, err := c.run(t, []byte(manifest), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	return ns
}

// dryRun applies manifests with server-side dry run and strict field
// validation in a fresh namespace: the API server runs defaulting,
// validation and admission on every object and stores nothing. Any warning
// (Pod Security, a deprecated API, …) fails the test too.
func (c *cluster) dryRun(t testing.TB, manifests []byte) string {
	t.Helper()
	stdout, warnings, err := c.apply(t, manifests)
	if err != nil {
		t.Fatal(err)
	}
	if warnings != "" {
		t.Errorf("the API server warned:\n%s", warnings)
	}
	return stdout
}

// apply runs kubectl apply --dry-run=server in a fresh namespace and
// returns what it printed: the objects accepted, and warnings.
func (c *cluster) apply(t testing.TB, manifests []byte) (stdout, warnings string, err error) {
	t.Helper()
	ns := c.namespace(t)
	ctx, cancel := contextWithTimeout(t, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.kubectl, "apply", "--dry-run=server", "--validate=strict", "-n", ns, "-f", "-")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.kubeconfig)
	cmd.Stdin = bytes.NewReader(manifests)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), "", fmt.Errorf("kubectl apply --dry-run=server: %w\n%s", err, errOut.String())
	}
	return out.String(), strings.TrimSpace(errOut.String()), nil
}

// crdsOnce applies the CRDs the manifests use, once per process.
var crds struct {
	once sync.Once
	err  error
}

// installCRDs applies Knative Serving's CRDs and the prometheus-operator's
// ServiceMonitor CRD, read from their Go modules, and waits until the API
// server serves them.
func (c *cluster) installCRDs(t *testing.T) {
	t.Helper()
	crds.once.Do(func() {
		var files []string
		dir, err := moduleDir(t, knativeServingModule)
		if err != nil {
			crds.err = err
			return
		}
		knative, err := filepath.Glob(filepath.Join(dir, "config", "core", "300-resources", "*.yaml"))
		if err != nil || len(knative) == 0 {
			crds.err = fmt.Errorf("no CRDs in %s/config/core/300-resources (%v)", dir, err)
			return
		}
		files = append(files, knative...)
		dir, err = moduleDir(t, prometheusOperatorModule)
		if err != nil {
			crds.err = err
			return
		}
		files = append(files, filepath.Join(dir, serviceMonitorCRDFilename))
		var all bytes.Buffer
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				crds.err = err
				return
			}
			all.WriteString("\n---\n")
			all.Write(data)
		}
		// Server-side apply: the prometheus-operator's CRDs are too large
		// for the last-applied annotation of a client-side apply.
		if _, err := c.run(t, all.Bytes(), "apply", "--server-side", "-f", "-"); err != nil {
			crds.err = err
			return
		}
		_, crds.err = c.run(t, nil, "wait", "--for=condition=Established", "--timeout=60s",
			"crd/services.serving.knative.dev", "crd/servicemonitors.monitoring.coreos.com")
	})
	if crds.err != nil {
		t.Fatalf("install CRDs: %v", crds.err)
	}
}

// moduleDir downloads a module through the Go module proxy (or finds it in
// the module cache) and returns its directory. It runs outside this
// repository's module, so go.mod is never touched.
func moduleDir(t testing.TB, module string) (string, error) {
	ctx, cancel := contextWithTimeout(t, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(stdout.Bytes(), &info); jerr != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %v %s %s", module, err, info.Error, strings.TrimSpace(stderr.String()))
	}
	return info.Dir, nil
}
