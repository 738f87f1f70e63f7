package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/headroomhq/headroom/capacity/alert"
	"github.com/headroomhq/headroom/capacity/forecast"
	"github.com/headroomhq/headroom/capacity/history"
)

// These tests cover `headroom forecast` against a stand-in for headroomd's
// API: flags, filters, output formats and errors. The forecasts themselves
// are capacity/alert's to test; test/e2e runs this command against a real
// headroomd.

const gib = 1 << 30

// fakeHeadroomd answers GET /api/v1/forecast with two forecasts and one
// learning series, and records the query it was asked.
func fakeHeadroomd(t *testing.T) (*httptest.Server, *string) {
	t.Helper()
	at := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	answer := liveForecast{
		Forecasts: []alert.SeriesForecast{
			{SeriesID: alert.SeriesID{Cluster: "osl2", Scope: history.ScopePool, Pool: "general", Resource: history.Memory, Kind: history.Used},
				At: at, Now: 30 * gib, Allocatable: 48 * gib, Threshold: 43.2 * gib, Percent: 90,
				In24h: alert.Range{Mean: 40 * gib, Lower: 38 * gib, Upper: 42 * gib},
				In7d:  alert.Range{Mean: 60 * gib, Lower: 50 * gib, Upper: 70 * gib},
				ETA: alert.ETAOf(forecast.ETA{Expected: 50 * time.Hour, Earliest: 30 * time.Hour, Latest: 70 * time.Hour,
					Horizon: 7 * 24 * time.Hour}),
				Method: "max(holt, trend) to 24h, trend after", History: alert.Seconds(3 * 24 * time.Hour)},
			{SeriesID: alert.SeriesID{Cluster: "osl2", Scope: history.ScopeCluster, Resource: history.CPU, Kind: history.Requested},
				At: at, Now: 12.5, Allocatable: 40, Threshold: 36, Percent: 90,
				In24h: alert.Range{Mean: 12.5, Lower: 12, Upper: 13}, In7d: alert.Range{Mean: 12.5, Lower: 11, Upper: 14},
				ETA: alert.ETAOf(forecast.ETA{Expected: forecast.NotWithin, Earliest: forecast.NotWithin,
					Latest: forecast.NotWithin, Horizon: 7 * 24 * time.Hour}),
				Method: "seasonal", History: alert.Seconds(3 * 24 * time.Hour)},
		},
		Learning: []alert.Learning{{SeriesID: alert.SeriesID{Cluster: "ksd1", Scope: history.ScopePool, Pool: "db", Resource: history.CPU,
			Kind: history.Requested}, At: at, Now: 4, Allocatable: 16,
			History: alert.Seconds(3*time.Hour + 10*time.Minute), Needs: alert.Seconds(24 * time.Hour)}},
	}
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/forecast" {
			http.NotFound(w, r)
			return
		}
		query = r.URL.RawQuery
		if r.URL.Query().Get("cluster") == "gone" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"cluster \"gone\" is not watched by this headroomd; it watches ksd1, osl2"}`))
			return
		}
		json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(srv.Close)
	return srv, &query
}

func TestForecastLiveTable(t *testing.T) {
	srv, _ := fakeHeadroomd(t)
	out, errOut, code := runForecast(t, "--server", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and 3 rows, got:\n%s", out)
	}
	// Sorted by cluster, the cluster total before its pools.
	for i, want := range [][]string{
		{"CLUSTER", "IN 24H", "ETA [80% INTERVAL]"},
		{"ksd1", "db", "cpu", "requested", "4.00 (25%)", "learning: 3h10m of the 24h0m of history a forecast needs"},
		{"osl2", "(all)", "cpu", "requested", "12.5 (31%)", "40.0", "12.5 [12.0–13.0]", "36.0 (90%)", "not within 7d0h", "seasonal"},
		{"osl2", "general", "memory", "used", "30.0Gi (62%)", "48.0Gi", "40.0Gi [38.0Gi–42.0Gi]", "60.0Gi [50.0Gi–70.0Gi]",
			"43.2Gi (90%)", "2d2h [30h0m–2d22h]", "max(holt, trend) to 24h, trend after"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
}

func TestForecastLiveFiltersAndJSON(t *testing.T) {
	srv, query := fakeHeadroomd(t)
	t.Setenv(serverEnv, srv.URL)
	out, errOut, code := runForecast(t, "--cluster", "osl2", "--pool", "general", "--resource", "memory", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if *query != "cluster=osl2&pool=general" {
		t.Errorf("asked headroomd %q, want the cluster and pool filters", *query)
	}
	var got struct {
		Forecasts []struct {
			Cluster, Pool, Resource string
			ETA                     struct {
				Expected *float64 `json:"expected_seconds"`
			} `json:"eta"`
			History float64 `json:"history_seconds"`
		}
		Learning []json.RawMessage
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	// The fake ignores the filters; --resource is applied by the CLI.
	if len(got.Forecasts) != 1 || got.Forecasts[0].Resource != "memory" || len(got.Learning) != 0 {
		t.Fatalf("want the memory forecast alone, got %s", out)
	}
	f := got.Forecasts[0]
	if f.ETA.Expected == nil || *f.ETA.Expected != 50*3600 || f.History != 3*24*3600 {
		t.Errorf("ETA %v s, history %v s: want 180000 s and 259200 s", f.ETA.Expected, f.History)
	}

	out, errOut, code = runForecast(t, "--kind", "requested", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "kind: requested") || strings.Contains(out, "kind: used") {
		t.Errorf("-o yaml --kind requested: exit %d, stderr %s, output:\n%s", code, errOut, out)
	}
}

func TestForecastLiveErrors(t *testing.T) {
	srv, _ := fakeHeadroomd(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	t.Setenv(serverEnv, "")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no server", nil, exitUsage, "give --server, headroomd's URL (or set $HEADROOM_SERVER)"},
		{"not a URL", []string{"--server", "headroomd:8080"}, exitUsage, "--server: want headroomd's URL"},
		{"bad resource", []string{"--server", srv.URL, "--resource", "gpu"}, exitUsage, `--resource "gpu": want cpu or memory or pods`},
		{"bad output", []string{"--server", srv.URL, "-o", "csv"}, exitUsage, `-o "csv": want table or json or yaml`},
		{"unknown cluster", []string{"--server", srv.URL, "--cluster", "gone"}, exitFailure,
			`headroomd at ` + srv.URL + `: cluster "gone" is not watched by this headroomd; it watches ksd1, osl2`},
		{"not headroomd", []string{"--server", srv.URL + "/elsewhere"}, exitFailure, "answered 404 Not Found for /api/v1/forecast; is this headroomd's URL?"},
		{"down", []string{"--server", down.URL}, exitFailure, "cannot reach headroomd at " + down.URL},
		{"password never shown", []string{"--server", "http://ops:s3cret@" + strings.TrimPrefix(down.URL, "http://")}, exitFailure, "ops:xxxxx@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runForecast(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "s3cret") {
				t.Errorf("stderr %q does not contain %q (or shows the password)", errOut, tt.want)
			}
			if out != "" {
				t.Errorf("printed %q on standard output", out)
			}
		})
	}
}
