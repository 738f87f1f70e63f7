// Command collector compares headroomd with metrics-server on the same kwok
// cluster: CPU-seconds per collection cycle and peak RSS of each process,
// with headroomd also writing everything to InfluxDB. `make bench-collector`
// runs it for 500 and 1,000 nodes × 30 pods and prints a table.
//
// Each size gets a fresh one-cluster stack in .stack-bench-<nodes> (with
// -keep, one left running by an earlier -keep run is reused, pods and all:
// bringing 30,000 pods to Running takes kwok most of an hour here).
// metrics-server runs with --metric-resolution equal to headroomd's
// interval, so both do one cycle per interval over the same kubelets.
//
// CPU is measured over -cycles intervals that start and end just before an
// interval boundary, when headroomd starts its cycles: whole cycles of
// headroomd and as many of metrics-server (whose scrape is cut at one
// interval). A run whose headroomd cycles overran the interval is refused
// rather than reported: -concurrency sizes the fan-out.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/headroomhq/headroom/test/localstack"
)

const interval = 15 * time.Second

func main() {
	sizes := flag.String("nodes", "500,1000", "cluster sizes (nodes), comma-separated")
	podsPerNode := flag.Int("pods-per-node", 30, "pods per node")
	cycles := flag.Int("cycles", 4, "cycles measured per size")
	concurrency := flag.Int("concurrency", 20, "headroomd's collection.concurrency (its default; 20 scraped 1,000 kwok nodes in 4-5 s here)")
	jitter := flag.Duration("jitter", 2*time.Second, "headroomd's collection.jitter")
	keep := flag.Bool("keep", false, "reuse a running stack of an earlier -keep run and leave this one running (make stack-down does not stop it: localstack.Down on its directory does)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var rows []string
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bench: -nodes %q: want positive integers\n", *sizes)
			os.Exit(2)
		}
		row, err := bench(ctx, n, *podsPerNode, *cycles, *concurrency, *jitter, *keep)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, row) // each size as soon as it is measured
		rows = append(rows, row)
	}
	fmt.Println()
	fmt.Println("| nodes × pods | headroomd CPU-s/cycle | metrics-server CPU-s/cycle | ratio | headroomd peak RSS | metrics-server peak RSS | ratio |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Println(r)
	}
}

func bench(ctx context.Context, nodes, podsPerNode, cycles, concurrency int, jitter time.Duration, keep bool) (string, error) {
	root, err := localstack.RepoRoot()
	if err != nil {
		return "", err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// A directory per size: a second stack in the same directory, started
	// by the same process, failed with "certificate signed by unknown
	// authority", most likely client-go's transport cache still holding
	// the first stack's CA file (same path, new CA).
	dir := filepath.Join(root, fmt.Sprintf(".stack-bench-%d", nodes))
	st, err := benchStack(ctx, root, dir, nodes, keep, log)
	if err != nil {
		return "", err
	}
	if !keep {
		defer func() { _ = localstack.Down(dir, log) }()
	}
	cs, err := st.Clientset("bench")
	if err != nil {
		return "", err
	}
	total := nodes * podsPerNode
	log.Info("creating pods", "pods", total)
	if err := createPods(ctx, cs, total); err != nil {
		return "", err
	}
	start := time.Now()
	if err := waitRunning(ctx, cs, total); err != nil {
		return "", err
	}
	log.Info("pods running", "pods", total, "took", time.Since(start).Round(time.Second))

	var ms localstack.Process
	for _, p := range st.Processes {
		if p.Name == "bench-metrics-server" {
			ms = p
		}
	}
	listen, err := freeAddr()
	if err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`collection: {interval: %s, timeout: 10s, concurrency: %d, jitter: %s}
clusters:
- {name: bench, kubeconfig: %s, context: bench, source: kubelet, kubeletInsecureSkipVerify: true}
influx: {url: %s, bucket: %s/autogen}
spool: {path: %s}
server: {listen: %s}
`, interval, concurrency, jitter, st.Kubeconfig, st.InfluxURL, st.InfluxDatabase, filepath.Join(dir, "spool.db"), listen)
	// A reused stack's directory holds the last run's spool and history:
	// headroomd would replay the spool into the measured cycles.
	for _, f := range []string{"spool.db", "history.db"} {
		if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
			return "", err
		}
	}
	cfgPath := filepath.Join(dir, "headroomd.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return "", err
	}
	hd := exec.Command(filepath.Join(root, "bin", "headroomd"), "--config", cfgPath, "--log-level", "warn", "--profiling")
	hd.Stderr = os.Stderr
	if err := hd.Start(); err != nil {
		return "", err
	}
	defer func() { _ = hd.Process.Signal(syscall.SIGTERM); _ = hd.Wait() }()

	// Warm up: two cycles of headroomd (informers synced, rates primed).
	metrics := "http://" + listen + "/metrics"
	if err := waitFor(ctx, 5*time.Minute, func() bool { v, _ := counter(metrics, "headroom_collector_cycles_total"); return v >= 2 }); err != nil {
		return "", fmt.Errorf("headroomd warm-up: %w", err)
	}
	// headroomd starts a cycle on every interval boundary of the wall
	// clock (12:00:00, 12:00:15, ...). The window runs from just before
	// one boundary to just before the boundary `cycles` later: exactly
	// `cycles` cycles of headroomd's work, and as many intervals of
	// metrics-server's. (Polling headroomd's /metrics to find cycle starts
	// instead cost it a quarter of the measured CPU.)
	const lead = 100 * time.Millisecond
	t0 := time.Now().Add(lead + time.Second).Truncate(interval).Add(interval - lead)
	window := time.Duration(cycles) * interval
	if err := sleepUntil(ctx, t0); err != nil {
		return "", err
	}
	profiled := make(chan struct{})
	if out := os.Getenv("HEADROOM_BENCH_PROFILE"); out != "" {
		// The CPU profile covers the measured window, so it shows where
		// the measured CPU-seconds went (its own sampling, a few percent,
		// is in them: compare ratios from unprofiled runs); the
		// allocation profile is taken after it.
		go func() {
			defer close(profiled)
			base := "http://" + listen + "/debug/pprof/"
			saveProfile(fmt.Sprintf("%sprofile?seconds=%d", base, int(window.Seconds())), fmt.Sprintf("%s.%d.cpu", out, nodes))
			saveProfile(base+"allocs", fmt.Sprintf("%s.%d.allocs", out, nodes))
		}()
	} else {
		close(profiled)
	}
	hd0, ms0 := cpuSeconds(hd.Process.Pid), cpuSeconds(ms.PID)
	s0 := scrapeCounters(metrics)
	if err := sleepUntil(ctx, t0.Add(window)); err != nil {
		return "", err
	}
	hd1, ms1 := cpuSeconds(hd.Process.Pid), cpuSeconds(ms.PID)
	s1 := scrapeCounters(metrics)
	<-profiled
	d := s1.minus(s0)
	if d.cycles != float64(cycles) || d.overruns > 0 {
		return "", fmt.Errorf("headroomd started %v cycles in %d intervals, %v of them overran: the window is not whole cycles; raise -concurrency", d.cycles, cycles, d.overruns)
	}
	if d.written <= 0 {
		return "", fmt.Errorf("headroomd wrote no points in %d cycles", cycles)
	}
	hdPerCycle := (hd1 - hd0) / float64(cycles)
	msPerCycle := (ms1 - ms0) / float64(cycles)
	hdRSS, msRSS := peakRSS(hd.Process.Pid), peakRSS(ms.PID)
	var mean time.Duration
	if d.durations > 0 {
		mean = time.Duration(d.durationSum / d.durations * float64(time.Second)).Round(time.Millisecond)
	}
	log.Info("measured", "nodes", nodes, "concurrency", concurrency, "cycles", cycles, "window", window,
		"headroomd_cycle_mean", mean,
		"overruns", d.overruns, "nodes_failed", d.failed, "points_written", d.written)
	return fmt.Sprintf("| %d × %d | %.3f | %.3f | %.2f | %d MiB | %d MiB | %.2f |", nodes, podsPerNode,
		hdPerCycle, msPerCycle, hdPerCycle/msPerCycle, hdRSS>>20, msRSS>>20, float64(hdRSS)/float64(msRSS)), nil
}

// benchStack starts a one-cluster stack of nodes kwok nodes in dir, or with
// keep returns the one an earlier -keep run left there when it is healthy
// and of that size.
func benchStack(ctx context.Context, root, dir string, nodes int, keep bool, log *slog.Logger) (*localstack.State, error) {
	spec := localstack.Spec{Clusters: []localstack.ClusterSpec{{Name: "bench", MetricsResolution: interval.String(),
		Pools: []localstack.NodePool{{Name: "general", Count: nodes, CPU: "32", Memory: "128Gi"}}}}}
	if keep {
		st, err := localstack.LoadState(dir)
		if err == nil {
			err = st.Check(ctx)
		}
		if err == nil && (len(st.Clusters) != 1 || st.Clusters[0].Spec.Pools[0].Count != nodes) {
			err = fmt.Errorf("it is not a %d-node bench stack", nodes)
		}
		if err == nil {
			log.Info("reusing the running bench stack", "dir", dir)
			return st, nil
		}
		log.Info("starting a bench stack", "dir", dir, "reason", err)
	}
	if err := localstack.Down(dir, log); err != nil {
		return nil, err
	}
	bins, err := localstack.BuildBinaries(ctx, root, os.Stderr)
	if err != nil {
		return nil, err
	}
	helper, err := localstack.BuildHelper(ctx, root)
	if err != nil {
		return nil, err
	}
	return localstack.Up(ctx, localstack.Options{Dir: dir, Spec: spec, Binaries: bins, Helper: helper,
		Logger: log, Timeout: 15 * time.Minute})
}

func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(t)):
		return nil
	}
}

// counters are headroomd's self-metrics the bench reports.
type counters struct{ cycles, written, overruns, failed, durationSum, durations float64 }

func scrapeCounters(metrics string) counters {
	var c counters
	c.cycles, _ = counter(metrics, "headroom_collector_cycles_total")
	c.written, _ = counter(metrics, "headroom_sink_points_written_total")
	c.overruns, _ = counter(metrics, "headroom_collector_cycle_overruns_total")
	c.failed, _ = counter(metrics, "headroom_collector_nodes_failed_total")
	c.durationSum, _ = counter(metrics, "headroom_collector_cycle_duration_seconds_sum")
	c.durations, _ = counter(metrics, "headroom_collector_cycle_duration_seconds_count")
	return c
}

func (c counters) minus(o counters) counters {
	return counters{c.cycles - o.cycles, c.written - o.written, c.overruns - o.overruns, c.failed - o.failed,
		c.durationSum - o.durationSum, c.durations - o.durations}
}

func createPods(ctx context.Context, cs kubernetes.Interface, total int) error {
	const apps = 10
	for i := range apps {
		replicas := int32(total / apps)
		if i < total%apps {
			replicas++
		}
		name := fmt.Sprintf("app-%d", i)
		labels := map[string]string{"app": name}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{
						localstack.AnnotationUsageCPU: "5m", localstack.AnnotationUsageMemory: "20Mi"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.local/app:1",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")}}}}}}},
		}
		if _, err := cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err // a reused stack has them already
		}
	}
	return nil
}

// waitRunning waits until want pods of the default namespace run. It
// counts from a watch (an informer), not by listing every pod every few
// seconds: at 30,000 pods those lists were a load of their own on the
// apiserver that kwok was waiting on.
func waitRunning(ctx context.Context, cs kubernetes.Interface, want int) error {
	ctx, cancel := context.WithCancel(ctx)
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace("default"))
	pods := factory.Core().V1().Pods().Lister()
	factory.Start(ctx.Done())
	defer func() {
		cancel() // first: Shutdown waits for the informers, which stop on ctx
		factory.Shutdown()
	}()
	factory.WaitForCacheSync(ctx.Done())
	// kwok brings 30-45 pods a second to Running here at first, and
	// slows as they grow (5 a second past 20,000 on this 2-core VM):
	// allow two minutes per thousand pods beyond the first twenty minutes.
	limit := 20*time.Minute + time.Duration(want/1000)*2*time.Minute
	start := time.Now()
	last := -1000 // prints from the first count
	return waitFor(ctx, limit, func() bool {
		list, err := pods.List(labels.Everything())
		if err != nil {
			return false
		}
		n := 0
		for _, p := range list {
			if p.Status.Phase == corev1.PodRunning {
				n++
			}
		}
		if n/1000 != last/1000 {
			fmt.Fprintf(os.Stderr, "%d of %d pods running after %s\n", n, want, time.Since(start).Round(time.Second))
			last = n
		}
		return n >= want
	})
}

func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	return nil
}

// cpuSeconds is a process's user+system CPU time.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// peakRSS is VmHWM, the process's resident set high-water mark, in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func counter(url, name string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// saveProfile fetches a CPU profile of headroomd, for `go tool pprof`.
func saveProfile(url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_ = os.WriteFile(path, b, 0o644)
}
