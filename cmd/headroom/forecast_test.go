package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests cover `headroom forecast --backtest`'s plumbing: flags,
// files, exit codes and output formats. The forecasters' accuracy is
// capacity/forecast's to test.

// runForecast runs the CLI in-process as main would.
func runForecast(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCommand(&logOptions{format: "text", level: "info"})
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"forecast"}, args...))
	err := root.ExecuteContext(context.Background())
	if msg := errorMessage(err); msg != "" {
		fmt.Fprintln(&errOut, "headroom:", msg)
	}
	return out.String(), errOut.String(), exitCode(err)
}

// seriesCSV is days of 5-minute rows: a daily cycle in "cpu", zeros in "idle".
func seriesCSV(t *testing.T, days int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("cpu,idle\n")
	for i := range days * 288 {
		fmt.Fprintf(&b, "%.3f,0\n", 50+10*math.Sin(2*math.Pi*float64(i)/288)+float64(i%7)/7)
	}
	path := filepath.Join(t.TempDir(), "usage.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestForecastBacktestJSON(t *testing.T) {
	path := seriesCSV(t, 4)
	out, errOut, code := runForecast(t, "--backtest", path, "--column", "cpu", "--step", "300s", "--every", "1h", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var scores []map[string]any
	if err := json.Unmarshal([]byte(out), &scores); err != nil {
		t.Fatalf("output is not a JSON list: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, sc := range scores {
		if len(sc) != 4 || sc["mae"] == nil || sc["mape"] == nil {
			t.Errorf("score %v: want exactly method, horizon, mae and mape, all set", sc)
		}
		seen[fmt.Sprint(sc["method"], " ", sc["horizon"])] = true
	}
	for _, m := range []string{"linear", "holt", "seasonal_naive", "seasonal", "auto"} {
		for _, h := range []string{"1h", "6h", "24h"} {
			if !seen[m+" "+h] {
				t.Errorf("no score for %s at %s in %v", m, h, seen)
			}
		}
	}
}

func TestForecastBacktestTable(t *testing.T) {
	path := seriesCSV(t, 3)
	out, errOut, code := runForecast(t, "--backtest", path, "--column", "idle", "--step", "5m", "--horizons", "30m,2h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"MAE 30m", "MAPE 2h", "seasonal_naive", "auto", "left out of MAPE"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// A column of zeros has no MAPE: "-" in the table, null in JSON.
	if !strings.Contains(out, " -") {
		t.Errorf("table shows a MAPE for a column of zeros:\n%s", out)
	}
	out, _, _ = runForecast(t, "--backtest", path, "--column", "idle", "--step", "5m", "--horizons", "30m", "-o", "json")
	if !strings.Contains(out, `"mape": null`) {
		t.Errorf("JSON MAPE of a column of zeros is not null:\n%s", out)
	}
}

func TestForecastUsageErrors(t *testing.T) {
	good := seriesCSV(t, 3)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badNumber := write("bad.csv", "cpu\n1\n2\nlots\n4\n")
	short := write("short.csv", "cpu\n1\n2\n3\n")
	empty := write("empty.csv", "")
	ok := []string{"--column", "cpu", "--step", "300s"}
	tests := []struct {
		name string
		args []string
		want string // part of the message on standard error
	}{
		{"backtest flags without a file", ok, "--column goes with --backtest FILE.csv"},
		{"live flags with a file", append([]string{"--backtest", good, "--cluster", "osl2"}, ok...), "--cluster is for live forecasts, not with --backtest"},
		{"a positional argument", append([]string{good}, ok...), "unexpected argument"},
		{"file missing", append([]string{"--backtest", filepath.Join(dir, "none.csv")}, ok...), "--backtest: open " + filepath.Join(dir, "none.csv")},
		{"no column", []string{"--backtest", good, "--step", "300s"}, "--column: required"},
		{"column absent", []string{"--backtest", good, "--column", "mem", "--step", "300s"}, good + `: line 1: no such column "mem" (have cpu, idle)`},
		{"not a number", append([]string{"--backtest", badNumber}, ok...), badNumber + `: line 4: column "cpu": "lots" is not a number`},
		{"empty file", append([]string{"--backtest", empty}, ok...), empty + ": line 1: empty file"},
		{"too short", append([]string{"--backtest", short}, ok...), short + ", column cpu: series too short"},
		{"no step", []string{"--backtest", good, "--column", "cpu"}, "--step: required"},
		{"step not a duration", []string{"--backtest", good, "--column", "cpu", "--step", "300"}, "--step"},
		{"horizon not a multiple of the step", append([]string{"--backtest", good, "--horizons", "1h,7m"}, ok...), "--horizons: 7m0s is not a positive multiple of --step 5m0s"},
		{"origins not a multiple of the step", append([]string{"--backtest", good, "--every", "7m"}, ok...), "--every 7m0s: must be a multiple of --step"},
		{"unknown output", append([]string{"--backtest", good, "-o", "wide"}, ok...), `-o "wide": want table or json or yaml`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runForecast(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (usage); stderr: %s", code, exitUsage, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.want)
			}
			if out != "" {
				t.Errorf("printed %q on standard output for a usage error", out)
			}
		})
	}
}
