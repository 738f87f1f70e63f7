package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/headroomhq/headroom/config"
)

// TestLeaderFailover runs two headroomd replicas, each a process of its
// own, against osl2 with leader election: one leads; the leader is killed
// with SIGKILL (so it cannot give the Lease up) and the other takes over
// within the lease duration. Both collect and write throughout, their cycles stamped alike:
// InfluxDB holds every 2-second cycle exactly once, before, during and
// after the failover.
func TestLeaderFailover(t *testing.T) {
	ctx := t.Context()
	cs := stack.PooledClusters()
	if len(cs) == 0 {
		t.Skip("the stack has no pooled cluster")
	}
	cluster := cs[0]
	db := "leader_" + rand.String(6)
	if _, err := influxQL(ctx, stack.InfluxURL, "", "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = influxQL(context.Background(), stack.InfluxURL, "", "DROP DATABASE "+db) }()
	lease := "headroomd-e2e-" + rand.String(5)
	const leaseDuration, retryPeriod = 6 * time.Second, 500 * time.Millisecond
	replica := func(release bool) string {
		dir := t.TempDir()
		return fmt.Sprintf(`collection: {interval: 2s, timeout: 1s, jitter: 200ms}
clusters:
- {name: %s, kubeconfig: %s, context: %s, source: kubelet, kubeletInsecureSkipVerify: true}
influx: {url: %s, bucket: %s/autogen, timeout: 5s, maxRetryBackoff: 2s}
spool: {path: %s}
server: {listen: "%s"}
schedules: {report: ""}
leaderElection: {enabled: true, namespace: default, name: %s, kubeconfig: %s, context: %s,
  leaseDuration: 6s, renewDeadline: 4s, retryPeriod: 500ms, releaseOnShutdown: %v}
`, cluster.Name, stack.Kubeconfig, cluster.Context, stack.InfluxURL, db, filepath.Join(dir, "spool.db"),
			freeAddr(t), lease, stack.Kubeconfig, cluster.Context, release)
	}
	leading := func(ctx context.Context, base string) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return false, err
		}
		return strings.Contains(string(b), "\nheadroom_leader 1\n"), nil
	}
	baseA, a := startHeadroomdProcess(t, replica(false))
	eventually(t, 30*time.Second, 200*time.Millisecond, "replica a leads", func(ctx context.Context) error {
		if ok, err := leading(ctx, baseA); !ok {
			return fmt.Errorf("not leading (%v)", err)
		}
		return nil
	})
	baseB, _ := startHeadroomdProcess(t, replica(true))
	time.Sleep(8 * time.Second) // both collect side by side
	if ok, err := leading(ctx, baseB); ok || err != nil {
		t.Fatalf("replica b leads beside a (%v)", err)
	}

	if err := a.Process.Signal(syscall.SIGKILL); err != nil { // it cannot give the Lease up
		t.Fatal(err)
	}
	killed := time.Now()
	eventually(t, 3*leaseDuration, 100*time.Millisecond, "replica b takes over", func(ctx context.Context) error {
		if ok, err := leading(ctx, baseB); !ok {
			return fmt.Errorf("not leading (%v)", err)
		}
		return nil
	})
	took := time.Since(killed)
	t.Logf("replica b leads %s after a was killed (lease duration %s)", took.Round(100*time.Millisecond), leaseDuration)
	// client-go takes an expired Lease at its next retry, jittered up to
	// 2.2 retry periods; the last renewal was at most a retry period before
	// the stop.
	if limit := leaseDuration + 3*retryPeriod + 500*time.Millisecond; took > limit {
		t.Errorf("takeover took %s; want within the lease duration and the retries, %s", took, limit)
	}
	time.Sleep(7 * time.Second) // b alone, for a few cycles

	// Every 2-second cycle from a's first to now holds each node once.
	nodes := 0
	for _, p := range cluster.Spec.Pools {
		nodes += p.Count
	}
	// From 4 s before the stop (both replicas' aligned cycles run by then)
	// to 4 s after the takeover.
	from, to := killed.Add(-4*time.Second).Truncate(2*time.Second), killed.Add(took+4*time.Second).Truncate(2*time.Second)
	series, err := influxQL(ctx, stack.InfluxURL, db, fmt.Sprintf(
		`SELECT count("ready") FROM "node" WHERE "cluster" = '%s' AND time >= %ds AND time < %ds GROUP BY time(2s) fill(0)`,
		cluster.Name, from.Unix(), to.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	if want := int(to.Sub(from) / (2 * time.Second)); len(series) == 0 || len(series[0].Values) != want {
		t.Fatalf("want %d cycles from %s to %s in InfluxDB: %+v", want, from, to, series)
	}
	if !from.Before(killed) || !to.After(killed.Add(took)) {
		t.Fatalf("the cycles checked, %s to %s, do not span the failover", from, to)
	}
	for _, row := range series[0].Values {
		if n, _ := row[1].(float64); int(n) != nodes {
			t.Errorf("cycle %v holds %v node points, want %d (every node once)", row[0], row[1], nodes)
		}
	}
	t.Logf("%d cycles of %d nodes each in InfluxDB across the failover", len(series[0].Values), nodes)
}

// startHeadroomdProcess runs the built headroomd with the configuration
// text (whose server.listen must be a fixed address) as a process of its
// own, its log shown with the test, and returns its base URL once /readyz
// answers, and the process. It is killed at the test's end if still running.
func startHeadroomdProcess(t *testing.T, text string) (base string, cmd *exec.Cmd) {
	t.Helper()
	cfg, err := config.Parse([]byte(text), "headroomd.yaml")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	file := filepath.Join(t.TempDir(), "headroomd.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(headroomdBinary(t), "--config", file)
	cmd.Stdout, cmd.Stderr = tWriter{t}, tWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	base = "http://" + cfg.Server.Listen
	eventually(t, 30*time.Second, 100*time.Millisecond, "headroomd's /readyz", func(ctx context.Context) error {
		select {
		case <-exited:
			t.Fatalf("headroomd exited: %v", cmd.ProcessState)
		default:
		}
		return getOK(ctx, base+"/readyz")
	})
	return base, cmd
}
