package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"
)

// influxCounts returns, per cluster, the timestamps of its cluster points
// and the total number of points of every measurement.
func influxCounts(ctx context.Context, url, db string) (points int, cycles map[string][]int64, err error) {
	fields := map[string]string{"app": "replicas", "node": "ready", "cluster": "nodes"}
	for m, f := range fields {
		series, err := influxQL(ctx, url, db, fmt.Sprintf(`SELECT count(%q) FROM %q`, f, m))
		if err != nil {
			return 0, nil, err
		}
		for _, s := range series {
			for _, row := range s.Values {
				n, _ := row[1].(float64)
				points += int(n)
			}
		}
	}
	series, err := influxQL(ctx, url, db, `SELECT "nodes" FROM "cluster" GROUP BY "cluster"`)
	if err != nil {
		return 0, nil, err
	}
	cycles = map[string][]int64{}
	for _, s := range series {
		for _, row := range s.Values {
			ts, _ := row[0].(float64)
			cycles[s.Tags["cluster"]] = append(cycles[s.Tags["cluster"]], int64(ts))
		}
	}
	return points, cycles, nil
}

// largestGap is the longest time between consecutive cycles, in seconds.
func largestGap(ts []int64) int64 {
	var gap int64
	for i := 1; i < len(ts); i++ {
		gap = max(gap, ts[i]-ts[i-1])
	}
	return gap
}

// TestOutageLosesNothing stops InfluxDB for over a minute while headroomd
// collects, starts it again, and checks that every point collected reached
// InfluxDB, with no gap in any cluster's cycles.
func TestOutageLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("a 65 s outage")
	}
	ctx := t.Context()
	in, err := stack.StartInflux(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Stop() })
	db := "outage"
	if err := in.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, headroomdConfig(t, in.URL, db, filepath.Join(t.TempDir(), "spool.db")))
	eventually(t, 60*time.Second, 200*time.Millisecond, "first points written", func(context.Context) error {
		if d.counter(t, "headroom_sink_points_written_total") == 0 {
			return fmt.Errorf("nothing written yet")
		}
		return nil
	})
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	before := d.counter(t, "headroom_collector_points_collected_total")
	// The outage itself: collection goes on for 65 s with InfluxDB down.
	select {
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	case <-time.After(65 * time.Second):
	}
	during := d.counter(t, "headroom_collector_points_collected_total") - before
	if during == 0 {
		t.Fatal("nothing was collected during the outage")
	}
	if err := in.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("InfluxDB down for %s; %v points collected meanwhile", time.Since(stopped).Round(time.Second), during)
	eventually(t, 60*time.Second, 200*time.Millisecond, "the spool drained", func(context.Context) error {
		collected := d.counter(t, "headroom_collector_points_collected_total")
		written := d.counter(t, "headroom_sink_points_written_total")
		if written < collected {
			return fmt.Errorf("written %v of %v collected", written, collected)
		}
		return nil
	})
	d.shutdown(t)
	collected := int(d.counter(t, "headroom_collector_points_collected_total"))
	points, cycles, err := influxCounts(ctx, in.URL, db)
	if err != nil {
		t.Fatal(err)
	}
	if points != collected {
		t.Errorf("InfluxDB holds %d points, headroomd collected %d", points, collected)
	}
	for cluster, ts := range cycles {
		if gap := largestGap(ts); gap > 5 {
			t.Errorf("%s: a gap of %ds between cycles (interval 2s)", cluster, gap)
		}
	}
	if dropped := d.counter(t, "headroom_spool_dropped_points_total"); dropped != 0 {
		t.Errorf("%v points dropped", dropped)
	}
	t.Logf("%d points collected, %d in InfluxDB, %d clusters without gaps", collected, points, len(cycles))
}

// TestCrashLosesNothing kills headroomd with SIGKILL while InfluxDB is down
// and points wait in the spool, restarts it, and checks that everything the
// killed process had collected reaches InfluxDB, in whole cycles.
func TestCrashLosesNothing(t *testing.T) {
	ctx := t.Context()
	bin := headroomdBinary(t)
	in, err := stack.StartInflux(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Stop() })
	db := "crash_" + rand.String(4)
	if err := in.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfgFile := filepath.Join(t.TempDir(), "headroomd.yaml")
	text := headroomdYAML(in.URL, db, filepath.Join(t.TempDir(), "spool.db"), addr)
	if err := os.WriteFile(cfgFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := in.Stop(); err != nil { // points pile up in the spool from the start
		t.Fatal(err)
	}
	metric := func(name string) (float64, error) { return scrapeCounter(ctx, "http://"+addr+"/metrics", name) }

	run := func() *exec.Cmd {
		cmd := exec.Command(bin, "--config", cfgFile, "--log-level", "warn")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := run()
	for _, path := range []string{"/readyz", "/livez"} {
		eventually(t, 30*time.Second, 100*time.Millisecond, "headroomd "+path, func(ctx context.Context) error {
			return getOK(ctx, "http://"+addr+path)
		})
	}
	var before float64
	eventually(t, 60*time.Second, 100*time.Millisecond, "five cycles collected", func(context.Context) error {
		v, err := metric("headroom_collector_cycles_total")
		if err != nil || v < 5*float64(len(stack.PooledClusters())) {
			return fmt.Errorf("cycles %v: %v", v, err)
		}
		before, err = metric("headroom_collector_points_collected_total")
		return err
	})
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	killed := time.Now()
	if err := in.Start(ctx); err != nil {
		t.Fatal(err)
	}
	second := run()
	defer func() {
		_ = second.Process.Signal(syscall.SIGTERM)
		_ = second.Wait()
	}()
	eventually(t, 60*time.Second, 200*time.Millisecond, "the killed process's points in InfluxDB", func(ctx context.Context) error {
		points, _, err := influxCounts(ctx, in.URL, db)
		if err != nil {
			return err
		}
		if float64(points) < before {
			return fmt.Errorf("%d points in InfluxDB, %v collected before the kill", points, before)
		}
		return nil
	})
	_, cycles, err := influxCounts(ctx, in.URL, db)
	if err != nil {
		t.Fatal(err)
	}
	// Whole cycles only: every cycle of a cluster holds the same points.
	for cluster, ts := range cycles {
		for _, m := range []string{"node"} {
			series, err := influxQL(ctx, in.URL, db, fmt.Sprintf(`SELECT count("ready") FROM %q WHERE cluster = '%s' AND time <= %ds GROUP BY time(1s) fill(none)`, m, cluster, killed.Unix()))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range series {
				for _, row := range s.Values {
					if n, _ := row[1].(float64); n != 6 {
						t.Errorf("%s: a cycle at %v holds %v node points, want 6", cluster, row[0], n)
					}
				}
			}
		}
		var beforeKill []int64
		for _, x := range ts {
			if x <= killed.Unix() {
				beforeKill = append(beforeKill, x)
			}
		}
		if gap := largestGap(beforeKill); gap > 5 {
			t.Errorf("%s: a gap of %ds before the kill", cluster, gap)
		}
	}
	t.Logf("%v points collected before SIGKILL; all in InfluxDB after the restart", before)
}

// scrapeCounter reads one counter (summed over labels) from a /metrics page.
func scrapeCounter(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	sum, found := 0.0, false
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != ' ' && line[len(name)] != '{') {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, err
		}
		sum, found = sum+v, true
	}
	if !found {
		return 0, fmt.Errorf("%s not on %s", name, url)
	}
	return sum, nil
}
