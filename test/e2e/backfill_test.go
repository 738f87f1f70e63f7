package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/headroomhq/headroom/capacity/history"
)

// influxWrite posts line protocol to the 1.x /write endpoint.
func influxWrite(ctx context.Context, base, db string, lines []string) error {
	u := base + "/write?" + url.Values{"db": {db}, "precision": {"s"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("write: %s: %s", resp.Status, b)
	}
	return nil
}

// TestHistoryBackfillFromInfluxDB: headroomd started with an empty history
// file and history.backfill reads three hours that an earlier headroomd
// wrote to the real InfluxDB (Flux on 1.8) into its history, so that it
// forecasts at once instead of learning for forecast.minHistory. The
// backfilled steps are the per-minute means of the cycles written. The
// capacity report, with those forecasts, reaches its file and webhook.
func TestHistoryBackfillFromInfluxDB(t *testing.T) {
	ctx := t.Context()
	const cluster, pool = "osl2", "general" // pools are forecast when the live cluster has them
	var ctxName string
	for _, c := range stack.PooledClusters() {
		if c.Name == cluster {
			ctxName = c.Context
		}
	}
	if ctxName == "" {
		t.Skipf("the stack has no cluster %s", cluster)
	}
	db := "backfill_" + rand.String(6)
	if _, err := influxQL(ctx, stack.InfluxURL, "", "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = influxQL(context.Background(), stack.InfluxURL, "", "DROP DATABASE "+db) }()

	// Three hours of 15-second cycles of two nodes of pool "general" and
	// one app, ending two minutes ago (nodes bf-1 and bf-2, not the live ones). Node bf-1's working set grows 1 MiB
	// a second; the rest is steady.
	now := time.Now().UTC()
	start := now.Add(-3*time.Hour - 2*time.Minute).Truncate(time.Minute)
	end := now.Add(-2 * time.Minute).Truncate(time.Minute)
	usage := func(t time.Time) float64 { return 4<<30 + float64(t.Sub(start)/time.Second)*(1<<20) }
	var lines []string
	for at := start; at.Before(end); at = at.Add(15 * time.Second) {
		s := at.Unix()
		lines = append(lines,
			fmt.Sprintf("node,cluster=%s,node=bf-1,pool=%s cpu_allocatable_cores=8,cpu_requested_cores=2,cpu_usage_cores=1.5,memory_allocatable_bytes=%di,memory_requested_bytes=%di,memory_working_set_bytes=%di,pods_allocatable=110i,pods=12i,ready=true,scraped=true %d",
				cluster, pool, int64(16<<30), int64(8<<30), int64(usage(at)), s),
			fmt.Sprintf("node,cluster=%s,node=bf-2,pool=%s cpu_allocatable_cores=8,cpu_requested_cores=1,cpu_usage_cores=0.5,memory_allocatable_bytes=%di,memory_requested_bytes=%di,memory_working_set_bytes=%di,pods_allocatable=110i,pods=3i,ready=true,scraped=true %d",
				cluster, pool, int64(16<<30), int64(2<<30), int64(2<<30), s),
			fmt.Sprintf("app,app=cart,cluster=%s,container=app,namespace=shop,workload=cart,workload_kind=Deployment replicas=3i,cpu_usage_replicas=3i,memory_usage_replicas=3i,cpu_usage_cores_sum=0.6,cpu_request_cores_sum=1.5,memory_working_set_bytes_sum=%di,memory_request_bytes_sum=%di %d",
				cluster, int64(3<<30), int64(6<<30), s))
	}
	for i := 0; i < len(lines); i += 5000 {
		if err := influxWrite(ctx, stack.InfluxURL, db, lines[i:min(i+5000, len(lines))]); err != nil {
			t.Fatal(err)
		}
	}

	// The capacity report goes to a file and to a webhook, every 3 s here.
	reports := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("report webhook: %v, Content-Type %q", err, r.Header.Get("Content-Type"))
		}
		select {
		case reports <- body.Text:
		default:
		}
	}))
	defer hook.Close()

	dir := t.TempDir()
	reportFile := filepath.Join(dir, "report.md")
	text := fmt.Sprintf(`collection: {interval: 2s, timeout: 1s, jitter: 200ms}
clusters:
- {name: %s, kubeconfig: %s, context: %s, source: kubelet, kubeletInsecureSkipVerify: true}
influx: {url: %s, bucket: %s/autogen, timeout: 5s, maxRetryBackoff: 2s}
spool: {path: %s}
server: {listen: "127.0.0.1:0"}
history: {step: 1m, backfill: true}
forecast: {step: 1m, minHistory: 2h}
schedules: {evaluation: "@every 2s", report: "@every 3s"}
report: {file: %s, webhook: %s, topApps: 5}
`, cluster, stack.Kubeconfig, ctxName, stack.InfluxURL, db, filepath.Join(dir, "spool.db"), reportFile, hook.URL)
	cfg, base, stopDaemon := runHeadroomd(t, text, "backfill-e2e.yaml")

	// Forecasts of pool "general" appear although headroomd has run for
	// seconds: its history came from InfluxDB.
	type row struct {
		Scope, Pool, Resource, Kind string
		History                     float64 `json:"history_seconds"`
	}
	eventually(t, 2*time.Minute, time.Second, "a forecast from backfilled history", func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/forecast?cluster="+cluster+"&pool="+pool, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct{ Forecasts, Learning []row }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return err
		}
		for _, f := range out.Forecasts {
			if f.Resource == "memory" && f.Kind == "used" && f.History >= 3*3600-120 {
				return nil
			}
		}
		return fmt.Errorf("no memory forecast of pool %s from 3 h of history yet: %+v, learning %+v", pool, out.Forecasts, out.Learning)
	})
	// A report with the pool's forecast reaches the webhook and the file.
	var md string
	eventually(t, time.Minute, 0, "a capacity report with forecasts at the webhook", func(ctx context.Context) error {
		select {
		case md = <-reports:
		case <-ctx.Done():
			return fmt.Errorf("no report posted")
		}
		for _, want := range []string{"# Capacity report", "## " + cluster, "| " + pool + " |", "reaches threshold", "Top apps"} {
			if !strings.Contains(md, want) {
				return fmt.Errorf("the report lacks %q:\n%s", want, md)
			}
		}
		return nil
	})
	stopDaemon()
	if b, err := os.ReadFile(reportFile); err != nil || !strings.Contains(string(b), "# Capacity report") ||
		!strings.Contains(string(b), "## "+cluster) {
		t.Errorf("report file %s: %v\n%s", reportFile, err, b)
	}

	// The history file holds each minute's mean of the cycles written.
	st, err := history.Open(history.Options{Path: cfg.HistoryPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := func(r history.Resource, k history.Kind) history.Key {
		return history.Key{Cluster: cluster, Scope: history.ScopePool, Name: pool, Resource: r, Kind: k}
	}
	used, err := st.Series(key(history.Memory, history.Used), start, end, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if used.Len() != int(end.Sub(start)/time.Minute) {
		t.Fatalf("%d minutes of pool memory use, want %d", used.Len(), int(end.Sub(start)/time.Minute))
	}
	for i, v := range used.Values {
		minute := start.Add(time.Duration(i) * time.Minute)
		// bf-1 at :00, :15, :30 and :45 averages to its value at :22.5; bf-2 is steady.
		want := usage(minute) + 22.5*(1<<20) + 2<<30
		if math.IsNaN(v) || math.Abs(v-want) > 1 {
			t.Errorf("memory used at %s: %.0f, want %.0f", minute.Format("15:04"), v, want)
			break
		}
	}
	for _, c := range []struct {
		key  history.Key
		want float64
	}{
		{key(history.CPU, history.Requested), 3},
		{key(history.Memory, history.Allocatable), 32 << 30},
		{key(history.Pods, history.Requested), 15},
		{history.Key{Cluster: cluster, Scope: history.ScopeNamespace, Name: "shop", Resource: history.Memory, Kind: history.Used}, 3 << 30},
		{history.Key{Cluster: cluster, Scope: history.ScopeNamespace, Name: "shop", Resource: history.Pods, Kind: history.Requested}, 3},
	} {
		s, err := st.Series(c.key, start, end, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if s.Len() == 0 || s.Values[0] != c.want || s.Values[s.Len()-1] != c.want {
			t.Errorf("%s: %v, want %v throughout", c.key, s.Values[:min(3, s.Len())], c.want)
		}
	}
}
