package decode

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fixturesDir returns the shared fixtures folder: $HEADROOM_FIXTURES, or
// ../shared/fixtures beside the repository root (the directory holding
// go.mod). ok is false when the folder is absent.
func fixturesDir() (dir string, ok bool) {
	dir = os.Getenv("HEADROOM_FIXTURES")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", false
		}
		dir = filepath.Join(root, "..", "shared", "fixtures")
	}
	st, err := os.Stat(dir)
	return dir, err == nil && st.IsDir()
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// fixture reads a file from the fixtures folder, skipping the test when the
// folder is absent.
func fixture(t testing.TB, rel string) []byte {
	t.Helper()
	dir, ok := fixturesDir()
	if !ok {
		t.Skipf("fixtures folder not found (set HEADROOM_FIXTURES, or put it at ../shared/fixtures beside the repository root); skipping %s", rel)
	}
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

type capture struct {
	path   string
	format Format
}

// captures lists the real responses in the fixtures folder, with their format.
func captures() []capture {
	return []capture{
		{"kubelet-summary/nri-1.31/stats_summary.json", FormatSummary},
		{"kubelet-summary/gke-2017-beats.json", FormatSummary},
		{"metrics-api/gke-2021-pods.json", FormatMetricsAPIPods},
		{"metrics-api/gke-2021-nodes.json", FormatMetricsAPINodes},
	}
}

const vectorsPath = "metrics-resource/decode-and-rate-vectors.json"
