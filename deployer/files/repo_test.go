package files

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestPullFastForwardsOnly: Pull brings a clone up to date, and refuses a
// pull that would merge.
func TestPullFastForwardsOnly(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root := t.TempDir()
	origin, clone := filepath.Join(root, "origin"), filepath.Join(root, "clone")
	if err := os.MkdirAll(origin, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, origin, "init", "-q", "-b", "main")
	write := func(dir, text string) {
		if err := os.WriteFile(filepath.Join(dir, "production.resources"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(origin, "IMAGE=a:1\n")
	git(t, origin, "add", ".")
	git(t, origin, "commit", "-q", "-m", "one")
	git(t, root, "clone", "-q", origin, clone)
	write(origin, "IMAGE=a:2\n")
	git(t, origin, "commit", "-q", "-am", "two")

	if err := Pull(context.Background(), clone); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(clone, "production.resources")); string(b) != "IMAGE=a:2\n" {
		t.Errorf("after the pull: %q", b)
	}

	write(origin, "IMAGE=a:3\n")
	git(t, origin, "commit", "-q", "-am", "three")
	write(clone, "IMAGE=local:1\n")
	git(t, clone, "commit", "-q", "-am", "local")
	if err := Pull(context.Background(), clone); err == nil || !strings.Contains(err.Error(), "git pull in "+clone) {
		t.Errorf("a diverged clone was pulled: %v", err)
	}
}
