package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCLIHabits: shell completion for bash, zsh and fish, and --version,
// as kubectl offers them.
func TestCLIHabits(t *testing.T) {
	run := func(args ...string) string {
		t.Helper()
		root := newRootCommand(&logOptions{format: "text", level: "info"})
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

// TestLogFormat: warnings are "headroom: warning: ..." lines by default and
// JSON records with --log-format json; a bad format is a usage error.
func TestLogFormat(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"rows": [], "warnings": ["cluster osl3: left out: its informers have not synced yet"]}`)
	}))
	defer srv.Close()
	run := func(args ...string) (stderr string, err error) {
		logs := &logOptions{format: "text", level: "info"}
		root := newRootCommand(logs)
		var out, errOut bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&errOut)
		root.SetArgs(args)
		err = root.ExecuteContext(context.Background())
		return errOut.String(), err
	}
	got, err := run("top", "--server", srv.URL)
	if err != nil || got != "headroom: warning: cluster osl3: left out: its informers have not synced yet\n" {
		t.Errorf("text: %v, %q", err, got)
	}
	got, err = run("--log-format", "json", "top", "--server", srv.URL)
	var rec struct{ Level, Msg string }
	if err != nil || json.Unmarshal([]byte(got), &rec) != nil || rec.Level != "WARN" || !strings.Contains(rec.Msg, "osl3") {
		t.Errorf("json: %v, %q", err, got)
	}
	if got, _ = run("--log-level", "error", "top", "--server", srv.URL); got != "" {
		t.Errorf("--log-level error still shows %q", got)
	}
	_, err = run("--log-format", "xml", "top", "--server", srv.URL)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), `--log-format "xml": want text or json`) {
		t.Errorf("bad format: exit %d, %v", exitCode(err), err)
	}
}
