package files

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
)

// Pull brings the deploy-files repository up to date with `git pull
// --ff-only`, as the old scripts pulled before each deploy. A pull that
// would merge is refused: the operator decides.
func Pull(ctx context.Context, repo string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "-C", repo, "pull", "--ff-only", "--quiet")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git pull in %s: %w: %s", repo, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// WriteAtomic replaces the file at path with b, keeping its mode: written
// to a temporary file beside it, synced, then renamed over it.
func WriteAtomic(path string, b []byte) error {
	return renameio.WriteFile(path, b, 0o644, renameio.WithExistingPermissions(), renameio.WithTempDir(filepath.Dir(path)))
}
