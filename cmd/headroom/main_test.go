package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestCLIHabits: shell completion for bash, zsh and fish, and --version,
// as kubectl offers them.
func TestCLIHabits(t *testing.T) {
	run := func(args ...string) string {
		t.Helper()
		root := newRootCommand()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	for shell, want := range map[string]string{"bash": "__headroom_debug", "zsh": "#compdef headroom", "fish": "complete -c headroom"} {
		if out := run("completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s lacks %q", shell, want)
		}
	}
	if out := run("--version"); !strings.Contains(out, "headroom version "+version) {
		t.Errorf("--version: %q", out)
	}
	// Completion of the grouping `headroom top` takes.
	if out := run("__complete", "top", ""); !strings.Contains(out, "namespace") || !strings.Contains(out, "pool") {
		t.Errorf("top completes to %q", out)
	}
}
