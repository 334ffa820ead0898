package deploytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tracelake/tracelake/storage/objstore/s3/s3test"
)

// The tracelake binary, built once per test process.
var tracelakeBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(workDir, "tracelake")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/tracelake")
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build tracelake: %v\n%s", err, out)
	}
	return bin, nil
})

// addressKeys are the settings that make tracelake listen, and whether on UDP.
var addressKeys = map[string]bool{
	"admin.addr":                       false,
	"ingest.otlp.grpc-addr":            false,
	"ingest.otlp.http-addr":            false,
	"ingest.jaeger.grpc-addr":          false,
	"ingest.jaeger.thrift-http-addr":   false,
	"ingest.jaeger.agent-compact-addr": true,
	"ingest.jaeger.agent-binary-addr":  true,
	"ingest.sampling.http-addr":        false,
	"zipkin.http-addr":                 false,
	"query.http-addr":                  false,
}

// workload is how a manifest runs tracelake: what the container gets.
type workload struct {
	name     string
	args     []string
	env      []string          // literal values and ConfigMap entries; Secrets are left out
	files    map[string][]byte // path in the container → content, from ConfigMap volumes
	ports    map[int]string    // declared container port → protocol
	knative  bool
	manifest string
}

// workloads finds every tracelake container in a set of objects.
func workloads(t *testing.T, objs []object, manifest string) []workload {
	t.Helper()
	configMaps := map[string]map[string]any{}
	for _, o := range objs {
		if o.kind() == "ConfigMap" {
			configMaps[o.name()] = dict(o, "data")
		}
	}
	var ws []workload
	for _, o := range objs {
		spec := podSpec(o)
		if spec == nil {
			continue
		}
		for _, c := range list(spec, "containers") {
			if !strings.Contains(str(c, "image"), "tracelake") || strings.Contains(str(c, "image"), "minio") {
				continue
			}
			w := workload{name: o.String(), files: map[string][]byte{}, ports: map[int]string{},
				knative: str(o, "apiVersion") == "serving.knative.dev/v1", manifest: manifest}
			for _, a := range list(c, "args") {
				w.args = append(w.args, fmt.Sprint(a))
			}
			for _, e := range list(c, "env") {
				if v, ok := get(e, "value").(string); ok {
					w.env = append(w.env, str(e, "name")+"="+v)
				}
			}
			for _, e := range list(c, "envFrom") {
				if cm := str(e, "configMapRef", "name"); cm != "" {
					for k, v := range configMaps[cm] {
						w.env = append(w.env, k+"="+fmt.Sprint(v))
					}
				}
			}
			for _, p := range list(c, "ports") {
				proto := str(p, "protocol")
				if proto == "" {
					proto = "TCP"
				}
				port, _ := get(p, "containerPort").(int)
				w.ports[port] = proto
			}
			for _, m := range list(c, "volumeMounts") {
				for _, v := range list(spec, "volumes") {
					if str(v, "name") != str(m, "name") || str(v, "configMap", "name") == "" {
						continue
					}
					data, ok := configMaps[str(v, "configMap", "name")]
					if !ok {
						t.Fatalf("%s: ConfigMap %s is not in the manifests", w.name, str(v, "configMap", "name"))
					}
					for k, content := range data {
						w.files[filepath.Join(str(m, "mountPath"), k)] = []byte(fmt.Sprint(content))
					}
				}
			}
			ws = append(ws, w)
		}
	}
	return ws
}

var helpDefault = regexp.MustCompile(`--(\S+) string .*\(default "([^"]*)"\)`)

// defaults reads the binary's defaults from --help.
func defaults(t *testing.T, bin, role string) map[string]string {
	t.Helper()
	out, _ := exec.Command(bin, role, "--help").CombinedOutput()
	d := map[string]string{}
	for _, m := range helpDefault.FindAllStringSubmatch(string(out), -1) {
		d[m[1]] = m[2]
	}
	if _, ok := d["admin.addr"]; !ok {
		t.Fatalf("tracelake %s --help lists no admin.addr default:\n%s", role, out)
	}
	return d
}

// intended is the address the workload gives a key, with tracelake's
// precedence: flags over environment over the file over defaults.
func (w workload) intended(key string, file map[string]any, defs map[string]string) string {
	addr := defs[key]
	if v, ok := get(file, strings.Split(key, ".")...).(string); ok {
		addr = v
	}
	env := "TRACELAKE_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
	for _, e := range w.env {
		if v, ok := strings.CutPrefix(e, env+"="); ok && v != "" {
			addr = v
		}
	}
	for _, a := range w.args {
		if v, ok := strings.CutPrefix(a, "--"+key+"="); ok {
			addr = v
		}
	}
	return addr
}

// tracelakeProcess is a tracelake process the test started.
type tracelakeProcess struct {
	cmd       *exec.Cmd
	exited    chan error // receives Wait's result; put it back after reading
	logs      syncBuffer
	args      []string
	listening map[string]string // address key → test address
}

func (p *tracelakeProcess) kill() {
	p.cmd.Process.Kill()
	err := <-p.exited
	p.exited <- err
}

// startTracelake starts the binary with the workload's arguments plus the
// test's listen addresses, storage and directories, and waits until it is
// ready.
func startTracelake(t *testing.T, bin string, w workload, manifestArgs, env []string, file map[string]any, defs map[string]string, storage, dir string) (*tracelakeProcess, error) {
	p := &tracelakeProcess{exited: make(chan error, 1), listening: map[string]string{}}
	p.args = slices.Clone(manifestArgs)
	adminAddr := ""
	for key, udp := range addressKeys {
		if w.intended(key, file, defs) == "" {
			continue // disabled by the manifest
		}
		addr := freeLoopback(t, udp)
		p.listening[key] = addr
		p.args = append(p.args, "--"+key+"="+addr)
		if key == "admin.addr" {
			adminAddr = addr
		}
	}
	p.args = append(p.args, "--storage="+storage, "--plugins.cache-dir="+filepath.Join(dir, "plugins"),
		"--compactor.temp-dir="+dir, "--log.format=json", "--shutdown-timeout=10s")
	p.cmd = exec.Command(bin, p.args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return p, err
	}
	go func() { p.exited <- p.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + adminAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			return p, fmt.Errorf("tracelake exited during start-up: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return p, fmt.Errorf("tracelake is not ready after 30s")
		}
	}
}

// storageURL is the storage.url the workload gives tracelake.
func (w workload) storageURL(file map[string]any) string {
	url, _ := get(file, "storage", "url").(string)
	for _, e := range w.env {
		if v, ok := strings.CutPrefix(e, "TRACELAKE_STORAGE_URL="); ok && v != "" {
			url = v
		}
	}
	for _, a := range w.args {
		for _, flag := range []string{"--storage=", "--storage.url="} {
			if v, ok := strings.CutPrefix(a, flag); ok {
				url = v
			}
		}
	}
	return url
}

// testStorage turns the workload's storage into one the test can reach,
// keeping as much of it as it can: an S3-compatible URL (one with an
// endpoint) keeps its form, prefix and parameters, with the bucket and
// endpoint moved to a bucket on the test's MinIO and the credentials the
// Secret would hold in the environment; AWS S3 and local directories
// become a temporary directory.
func testStorage(t *testing.T, manifestURL, dir string) (string, []string) {
	u, err := url.Parse(manifestURL)
	if err != nil || u.Scheme != "s3" || u.Query().Get("endpoint") == "" {
		return filepath.Join(dir, "data"), nil
	}
	srv := s3test.Start(t)
	q := u.Query()
	q.Set("endpoint", srv.Endpoint)
	u.Host = srv.CreateBucket(t, t.Name())
	u.RawQuery = q.Encode()
	return u.String(), []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey}
}

// TestWorkloadsRunTheBinary starts the real binary the way each workload of
// each rendered mode, overlay and Knative service would, and checks that it
// accepts the arguments, environment and configuration file, becomes ready,
// listens exactly on the ports the manifest declares, and stops cleanly on
// SIGTERM. Listen addresses and storage are moved to loopback ports and a
// temporary directory; everything else is the manifest's.
func TestWorkloadsRunTheBinary(t *testing.T) {
	need(t, helmTool)
	kubectl := need(t, kubectlTool)
	bin, err := tracelakeBinary()
	if err != nil {
		t.Fatal(err)
	}
	var all []workload
	for _, values := range ciValues(t) {
		out, err := helmTemplate(t, values)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, workloads(t, decode(t, out), "helm "+filepath.Base(values))...)
	}
	for _, dir := range append(slices.Clone(overlays), "knative") {
		path := filepath.Join(kubernetesDir, dir)
		if dir == "knative" {
			path = knativeDir
		}
		all = append(all, workloads(t, decode(t, mustRun(t, nil, nil, kubectl, "kustomize", path)), dir)...)
	}
	// The roles' defaults, read once.
	defs := map[string]map[string]string{}
	for _, w := range all {
		t.Run(strings.NewReplacer("/", "-", " ", "-").Replace(w.manifest+"-"+w.name), func(t *testing.T) {
			if len(w.args) == 0 {
				t.Fatal("no args: the role is not chosen")
			}
			role := w.args[0]
			if defs[role] == nil {
				defs[role] = defaults(t, bin, role)
			}
			runWorkload(t, bin, w, defs[role])
		})
	}
}

func runWorkload(t *testing.T, bin string, w workload, defs map[string]string) {
	dir := t.TempDir()
	// ConfigMap files go to a directory of their own, and every mention of
	// their mount path (in args and in the files, which refer to each other)
	// is moved with them.
	mounts := map[string]string{}
	for path := range w.files {
		mounts[filepath.Dir(path)] = filepath.Join(dir, "mount"+strconv.Itoa(len(mounts)))
	}
	move := func(s string) string {
		for from, to := range mounts {
			s = strings.ReplaceAll(s, from+"/", to+"/")
		}
		return s
	}
	var file map[string]any
	for path, data := range w.files {
		target := move(path)
		os.MkdirAll(filepath.Dir(target), 0o755)
		if err := os.WriteFile(target, []byte(move(string(data))), 0o644); err != nil {
			t.Fatal(err)
		}
		if filepath.Base(path) == "config.yaml" {
			if err := yaml.Unmarshal(data, &file); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
	}
	args := make([]string, len(w.args))
	for i, a := range w.args {
		args[i] = move(a)
	}
	storage, storageEnv := testStorage(t, w.storageURL(file), dir)
	t.Logf("the manifest stores in %s; the test in %s", w.storageURL(file), storage)
	env := append(append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir}, w.env...), storageEnv...)
	// A port found free can be taken before tracelake binds it (other test
	// packages run at the same time): try again with other ports.
	var p *tracelakeProcess
	for attempt := 1; ; attempt++ {
		var err error
		p, err = startTracelake(t, bin, w, args, env, file, defs, storage, dir)
		if err == nil {
			break
		}
		if attempt < 4 && strings.Contains(p.logs.String(), "address already in use") {
			t.Logf("lost a port race, trying other ports: %v", err)
			continue
		}
		t.Fatalf("%v\ntracelake %s\n%s", err, strings.Join(p.args, " "), p.logs.String())
	}
	defer func() {
		p.kill()
		if t.Failed() {
			t.Logf("tracelake %s\n%s", strings.Join(p.args, " "), p.logs.String())
		}
	}()
	cmd, exited, logs, listening := p.cmd, p.exited, &p.logs, p.listening

	// The listeners it opened, from its "ready" log line, must be the ports
	// the manifest declares, with their protocols.
	bound := readyLine(t, logs.Bytes())
	want := map[int]string{}
	for key := range listening {
		if _, ok := bound[key]; !ok {
			continue // the role does not use it
		}
		_, port, err := net.SplitHostPort(w.intended(key, file, defs))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		n, _ := strconv.Atoi(port)
		if w.knative && key == "admin.addr" {
			continue // Knative routes one port; the admin port stays inside the pod
		}
		want[n] = map[bool]string{false: "TCP", true: "UDP"}[addressKeys[key]]
		if w.ports[n] != want[n] {
			t.Errorf("tracelake listens on %d/%s (%s) but the manifest does not declare that port", n, want[n], key)
		}
	}
	for port, proto := range w.ports {
		if want[port] != proto {
			t.Errorf("the manifest declares port %d/%s, where tracelake does not listen", port, proto)
		}
	}
	if w.knative && len(w.ports) != 1 {
		t.Errorf("a Knative Service routes one port; it declares %v", w.ports)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("tracelake did not stop cleanly on SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("tracelake did not stop within 20s of SIGTERM")
	}
}

// syncBuffer is a buffer the child's output goroutines write while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.buf.Bytes())
}

func (b *syncBuffer) String() string { return string(b.Bytes()) }

// readyLine returns the listeners of the JSON "tracelake is ready" log line.
func readyLine(t *testing.T, logs []byte) map[string]string {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec["msg"] != "tracelake is ready" {
			continue
		}
		bound := map[string]string{}
		for k, v := range rec {
			if _, ok := addressKeys[k]; ok {
				bound[k] = fmt.Sprint(v)
			}
		}
		return bound
	}
	t.Fatalf("no JSON \"tracelake is ready\" line in the log")
	return nil
}

func freeLoopback(t *testing.T, udp bool) string {
	t.Helper()
	if udp {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
