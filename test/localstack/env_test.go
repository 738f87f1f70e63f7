package localstack

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAcquireGivesTheStackToOneRunAtATime(t *testing.T) {
	t.Setenv("HEADROOM_STACK_DIR", filepath.Join(t.TempDir(), "stack"))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	release, err := Acquire(t.Context(), logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, logger); err == nil || !strings.Contains(err.Error(), "another process still holds it") {
		t.Fatalf("second Acquire while the first holds the lock: %v, want a wait that ends with the holder named", err)
	}

	release()
	again, err := Acquire(t.Context(), logger)
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	again()
}
