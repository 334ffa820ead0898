package scalebench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// queryProc is "tracelake query" running on the bucket, as its own
// process so that its CPU time and peak memory are its own.
type queryProc struct {
	cmd      *exec.Cmd
	pid      int
	queryURL string // http://host:port of the Jaeger API
	adminURL string // http://host:port of /metrics, /readyz, /debug/pprof
	logPath  string
	exited   chan struct{}
}

// startQuery starts bin's query role on target and waits until it is ready.
func startQuery(ctx context.Context, bin string, target S3Target, logPath string) (*queryProc, error) {
	var addrs [3]string
	for i := range addrs {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	storage := fmt.Sprintf("s3://%s?endpoint=%s&insecure=true&path-style=true", target.Bucket, target.Endpoint)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	p := &queryProc{
		queryURL: "http://" + addrs[0],
		adminURL: "http://" + addrs[1],
		logPath:  logPath,
		exited:   make(chan struct{}),
	}
	p.cmd = exec.Command(bin, "query", "--storage", storage,
		"--query.http-addr", addrs[0], "--admin.addr", addrs[1], "--zipkin.http-addr", addrs[2],
		"--log.level", "warn")
	// Our environment without tracelake's or AWS's settings, which would
	// change the service under test, plus the bucket's credentials.
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "TRACELAKE_") && !strings.HasPrefix(e, "AWS_") && !strings.HasPrefix(e, "MINIO_") {
			p.cmd.Env = append(p.cmd.Env, e)
		}
	}
	p.cmd.Env = append(p.cmd.Env, "AWS_ACCESS_KEY_ID="+target.AccessKey, "AWS_SECRET_ACCESS_KEY="+target.SecretKey)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = childProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	p.pid = p.cmd.Process.Pid
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	if err := waitHTTP(ctx, p.adminURL+"/readyz", p.exited, 60*time.Second); err != nil {
		p.kill()
		return nil, fmt.Errorf("tracelake query: %w\n%s", err, logTail(logPath))
	}
	return p, nil
}

// cpu is the process's CPU time so far.
func (p *queryProc) cpu() (time.Duration, error) { return procCPU(p.pid) }

// peakRSS is the process's peak resident set so far.
func (p *queryProc) peakRSS() (int64, error) { return procPeakRSS(p.pid) }

// stop asks the process to shut down and kills it if it does not.
func (p *queryProc) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.kill()
		return fmt.Errorf("tracelake query did not stop within 15s of SIGTERM")
	}
	if st := p.cmd.ProcessState; st != nil && !st.Success() {
		return fmt.Errorf("tracelake query: %v\n%s", st, logTail(p.logPath))
	}
	return nil
}

func (p *queryProc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// profiler takes CPU profiles of the query process back to back, chunk
// long each, from its /debug/pprof/profile, until finish: the profile
// endpoint cannot be stopped early, so a phase of unknown length is
// covered by consecutive profiles (summarised together).
type profiler struct {
	stop  chan struct{}
	done  chan struct{}
	files []string
	err   error
}

func (p *queryProc) profile(ctx context.Context, chunk time.Duration, dir, name string) *profiler {
	pr := &profiler{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: chunk + 30*time.Second}
	go func() {
		defer close(pr.done)
		for i := 1; ; i++ {
			path := filepath.Join(dir, fmt.Sprintf("%s-%02d.pprof", name, i))
			if err := fetch(ctx, client, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", p.adminURL, int(chunk/time.Second)), path); err != nil {
				pr.err = err
				return
			}
			pr.files = append(pr.files, path)
			select {
			case <-pr.stop:
				return
			default:
			}
		}
	}()
	return pr
}

// finish waits for the profile in progress and returns every file taken.
func (pr *profiler) finish() ([]string, error) {
	close(pr.stop)
	<-pr.done
	return pr.files, pr.err
}

func fetch(ctx context.Context, client *http.Client, u, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, body)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
