package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/headroomhq/headroom/capacity"
)

func runTopCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCommand(&logOptions{format: "text", level: "info"})
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"top"}, args...))
	err := root.ExecuteContext(context.Background())
	if msg := errorMessage(err); msg != "" {
		fmt.Fprintln(&errOut, "headroom:", msg)
	}
	return out.String(), errOut.String(), exitCode(err)
}

func TestTopUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"rack"}, `"rack": want node, pool, namespace or app`},
		{[]string{"--sort", "cpu"}, `--sort: sort key "cpu": want one of name, cpu.requests`},
		{[]string{"-o", "wide"}, `-o "wide": want table or json or yaml or csv`},
		{[]string{"node", "pool"}, "accepts at most 1 arg"},
	} {
		_, errOut, code := runTopCLI(t, tt.args...)
		if code != exitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestWriteTopFormats(t *testing.T) {
	u := 1.5
	rows := []capacity.TopRow{{Cluster: "osl2", Name: "general", Nodes: 3, Pods: 7,
		CPU:    capacity.TopUsed{Requests: 2.35, Limits: 4, Usage: &u, Allocatable: 8},
		Memory: capacity.TopUsed{Requests: 3 << 30, Limits: 6 << 30, Allocatable: 16 << 30}}}
	var b bytes.Buffer
	if err := writeTop(&b, "table", capacity.TopPool, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"POOL", "2.35 (29%)", "4 (50%)", "1.50 (19%)", "3.0Gi (19%)", "6.0Gi (38%)", "-"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := writeTop(&b, "csv", capacity.TopPool, rows); err != nil {
		t.Fatal(err)
	}
	if want := "cluster,pool,nodes,pods,cpu_requests,cpu_limits,cpu_usage,cpu_allocatable,memory_requests,memory_limits,memory_usage,memory_allocatable\n" +
		"osl2,general,3,7,2.35,4,1.5,8,3221225472,6442450944,,17179869184\n"; b.String() != want {
		t.Errorf("csv:\n%s\nwant\n%s", b.String(), want)
	}
}
