package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/headroomhq/headroom/cmd/headroomd/app"
	"github.com/headroomhq/headroom/config"
	"github.com/headroomhq/headroom/test/localstack"
)

// stack is the running local stack, shared by every test in this package.
var stack *localstack.State

func TestMain(m *testing.M) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// These tests create and delete nodes and namespaces: a second run
	// against the same stack waits for this one.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	release, err := localstack.Acquire(ctx, logger)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: local stack:", err)
		os.Exit(1)
	}
	// Building the servers from source takes up to half an hour on a new
	// machine; starting a built stack well under a minute.
	ctx, cancel = context.WithTimeout(context.Background(), 45*time.Minute)
	st, err := localstack.Ensure(ctx, logger)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: local stack:", err)
		os.Exit(1)
	}
	stack = st
	code := m.Run()
	release()
	os.Exit(code)
}

// eventually polls cond every interval until it returns nil or timeout passes,
// then fails the test with cond's last error.
func eventually(t *testing.T, timeout, interval time.Duration, what string, cond func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		if last = cond(ctx); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s: %v", what, timeout, last)
		case <-time.After(interval):
		}
	}
}

// testLogger logs through t, so a component's log shows with its test.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// headroomCLI builds the headroom command once per test binary and returns
// its path, so that tests run the CLI an operator runs.
func headroomCLI(t *testing.T) string { return buildCommand(t, "headroom") }

// headroomdBinary builds headroomd once per test binary, for tests that
// run it as a process of its own (to kill it).
func headroomdBinary(t *testing.T) string { return buildCommand(t, "headroomd") }

// buildCommand builds ./cmd/NAME once per test binary and returns its path.
func buildCommand(t *testing.T, name string) string {
	t.Helper()
	builtMu.Lock()
	b := built[name]
	if b == nil {
		b = &builtCommand{}
		built[name] = b
	}
	builtMu.Unlock()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", name+"-e2e-")
		if err != nil {
			b.err = err
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		b.path = filepath.Join(dir, name)
		out, err := exec.Command(goBin, "build", "-o", b.path, "github.com/headroomhq/headroom/cmd/"+name).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

type builtCommand struct {
	once sync.Once
	path string
	err  error
}

var (
	builtMu sync.Mutex
	built   = map[string]*builtCommand{}
)

// createNamespace creates namespace ns, deletes it at the test's end, and
// waits for its default ServiceAccount (made by the controller-manager;
// pods are refused until it exists).
func createNamespace(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	ctx := t.Context()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	eventually(t, 30*time.Second, 200*time.Millisecond, "default service account", func(ctx context.Context) error {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// getOK GETs url and fails unless it answers 200.
func getOK(ctx context.Context, url string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// runCLI runs the headroom command with args and returns its standard
// output, standard error and exit code.
func runCLI(ctx context.Context, t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(ctx, headroomCLI(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("headroom %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), 0
}

// runHeadroomd starts headroomd in-process with the configuration text
// and returns the configuration, its base URL and a function that stops it
// (failing the test if headroomd returned an error). The test stops it at
// its end if it has not been.
func runHeadroomd(t *testing.T, text, source string) (cfg *config.Config, base string, stop func()) {
	t.Helper()
	cfg, err := config.Parse([]byte(text), source)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	addr := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, app.Options{Config: cfg, Registry: prometheus.NewRegistry(), Logger: testLogger(t),
			ShutdownTimeout: 5 * time.Second, Listening: func(a string) { addr <- a }})
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("headroomd: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case a := <-addr:
		return cfg, "http://" + a, stop
	case err := <-done:
		once.Do(func() {}) // nothing left to stop
		t.Fatalf("headroomd did not start: %v", err)
	}
	return nil, "", nil
}
