package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// RepoRoot returns the root of the headroom module: the nearest parent of the
// working directory whose go.mod declares it.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/headroomhq/headroom\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the headroom module")
		}
		dir = parent
	}
}

// DefaultDir is where the stack keeps its state: $HEADROOM_STACK_DIR, or
// .stack at the repository root.
func DefaultDir(root string) string {
	if d := os.Getenv("HEADROOM_STACK_DIR"); d != "" {
		return d
	}
	return filepath.Join(root, ".stack")
}

// DefaultSpecFile is the spec make stack-up and the tests use.
func DefaultSpecFile(root string) string { return filepath.Join(root, "test", "stack.yaml") }

// BuildBinaries runs build.sh, which builds whatever server is missing from
// the per-user cache (minutes, once per machine) and returns its manifest.
// Build progress goes to stderr.
func BuildBinaries(ctx context.Context, root string, stderr *os.File) (Binaries, error) {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "test", "localstack", "build.sh"))
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("build stack binaries: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return LoadBinaries(lines[len(lines)-1])
}

// BuildHelper compiles the localstack command into root/bin, for the helper
// processes (webhook recorder, forwarders) the stack starts.
func BuildHelper(ctx context.Context, root string) (string, error) {
	out := filepath.Join(root, "bin", "localstack")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./test/localstack/cmd/localstack")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build localstack helper: %w: %s", err, b)
	}
	return out, nil
}

// Check reports whether every recorded process is alive and every server
// answers its readiness endpoint.
func (s *State) Check(ctx context.Context) error {
	if s.ReadyAt.IsZero() {
		return errors.New("stack never finished starting")
	}
	for _, p := range s.Processes {
		if !p.alive() {
			return fmt.Errorf("%s (pid %d) is not running", p.Name, p.PID)
		}
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	checks := map[string]func(context.Context) error{
		"influxd":      httpOK(plain, s.InfluxURL+"/ping", ""),
		"alertmanager": httpOK(plain, s.AlertmanagerURL+"/-/ready", ""),
		"webhook":      httpOK(plain, s.WebhookURL+"/healthz", ""),
	}
	for _, c := range s.Clusters {
		hc, err := httpClient(c.CAFile)
		if err != nil {
			return err
		}
		checks[c.Name+" apiserver"] = httpOK(hc, c.Server+"/readyz", c.Token)
	}
	for name, check := range checks {
		if err := check(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// Acquire gives one test run the stack in DefaultDir to itself, and returns
// the function that gives it back (the lock also goes when the process
// exits). The end-to-end tests create and delete cluster-wide objects,
// nodes above all, so two runs against one stack delete each other's: a
// second run waits here, polling, until the first is done or ctx ends.
func Acquire(ctx context.Context, logger *slog.Logger) (release func(), err error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return lockFile(ctx, DefaultDir(root)+".tests.lock", func(path string) {
		logger.Warn("another test run is using the local stack; waiting for it to finish", "lock", path)
	})
}

// lockFile takes an exclusive flock on path, creating it, and returns the
// function that gives it back. While another process holds it, it polls
// every second until ctx ends, calling waiting once.
func lockFile(ctx context.Context, path string, waiting func(path string)) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	for waited := false; ; {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing the file releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !waited {
			waiting(path)
			waited = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: another process still holds it: %w", path, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// Ensure returns the stack running in DefaultDir, starting it (and building
// what it needs) when it is not up or not healthy. A file lock makes
// concurrent callers, such as several test binaries, start it only once. A
// stack Ensure starts is left running for the next test run; `make
// stack-down` stops it.
func Ensure(ctx context.Context, logger *slog.Logger) (*State, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	dir := DefaultDir(root)
	unlock, err := lockFile(ctx, dir+".lock", func(path string) {
		logger.Info("another process is starting or checking the local stack; waiting", "lock", path)
	})
	if err != nil {
		return nil, err
	}
	defer unlock()

	spec, err := LoadSpec(DefaultSpecFile(root))
	if err != nil {
		return nil, err
	}
	if st, err := LoadState(dir); err == nil {
		err := st.Check(ctx)
		if err == nil && !st.runs(spec) {
			err = errors.New("it runs other clusters than " + DefaultSpecFile(root) + " declares")
		}
		if err == nil {
			return st, nil
		}
		logger.Warn("local stack is not healthy; restarting it", "dir", dir, "reason", err)
	}
	if err := Down(dir, logger); err != nil {
		return nil, fmt.Errorf("stop the old stack: %w", err)
	}
	bins, err := BuildBinaries(ctx, root, os.Stderr)
	if err != nil {
		return nil, err
	}
	helper, err := BuildHelper(ctx, root)
	if err != nil {
		return nil, err
	}
	logger.Info("starting the local stack", "dir", dir, "clusters", len(spec.Clusters))
	return Up(ctx, Options{Dir: dir, Spec: spec, Binaries: bins, Helper: helper, Logger: logger})
}

// runs reports whether the stack runs exactly spec's clusters, so that an edit
// of the spec file restarts a stack started from an older one.
func (s *State) runs(spec Spec) bool {
	running := make([]ClusterSpec, len(s.Clusters))
	for i, c := range s.Clusters {
		running[i] = c.Spec
	}
	a, errA := json.Marshal(running)
	b, errB := json.Marshal(spec.Clusters)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}
