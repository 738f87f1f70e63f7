package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/headroomhq/headroom/test/localstack"
)

// stack is the running local stack, shared by every test in this package.
var stack *localstack.State

func TestMain(m *testing.M) {
	// Building the servers from source takes up to half an hour on a new
	// machine; starting a built stack well under a minute.
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	st, err := localstack.Ensure(ctx, logger)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: local stack:", err)
		os.Exit(1)
	}
	stack = st
	os.Exit(m.Run())
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
