package e2e

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/headroomhq/headroom/cmd/headroomd/app"
	"github.com/headroomhq/headroom/config"
	"github.com/headroomhq/headroom/test/localstack"
)

// daemon is a headroomd running in-process against the local stack.
type daemon struct {
	registry *prometheus.Registry
	stop     func()
	done     chan error
}

// headroomdConfig renders a configuration for the stack: osl2 read from its
// kubelets directly, osl3 from metrics-server, ksd1 through the apiserver's
// node proxy (its kubelets sit in a network namespace).
func headroomdConfig(t *testing.T, influxURL, db, spoolPath string) *config.Config {
	t.Helper()
	text := headroomdYAML(influxURL, db, spoolPath, "127.0.0.1:0")
	cfg, err := config.Parse([]byte(text), "e2e.yaml")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	return cfg
}

func headroomdYAML(influxURL, db, spoolPath, listen string) string {
	sources := map[string]string{"osl2": "kubelet", "osl3": "metrics-server", "ksd1": "kubelet-proxy"}
	var b strings.Builder
	fmt.Fprintf(&b, "collection:\n  interval: 2s\n  timeout: 1s\n  jitter: 200ms\n")
	fmt.Fprintf(&b, "clusters:\n")
	for _, c := range stack.PooledClusters() {
		src := sources[c.Name]
		if src == "" {
			src = "kubelet"
		}
		fmt.Fprintf(&b, "- name: %s\n  kubeconfig: %s\n  context: %s\n  source: %s\n", c.Name, stack.Kubeconfig, c.Context, src)
		if src == "kubelet" {
			b.WriteString("  kubeletInsecureSkipVerify: true\n")
		}
	}
	fmt.Fprintf(&b, "influx:\n  url: %s\n  bucket: %s/autogen\n  timeout: 5s\n  maxRetryBackoff: 2s\n", influxURL, db)
	fmt.Fprintf(&b, "spool:\n  path: %s\nserver:\n  listen: %s\n", spoolPath, listen)
	return b.String()
}

func startDaemon(t *testing.T, cfg *config.Config) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{registry: prometheus.NewRegistry(), stop: cancel, done: make(chan error, 1)}
	go func() {
		d.done <- app.Run(ctx, app.Options{Config: cfg, Registry: d.registry, ShutdownTimeout: 5 * time.Second,
			Logger: testLogger(t)})
	}()
	t.Cleanup(func() { d.shutdown(t) })
	return d
}

func (d *daemon) shutdown(t *testing.T) {
	if d.stop == nil {
		return
	}
	d.stop()
	d.stop = nil
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("headroomd: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("headroomd did not stop within 30s")
	}
}

// counter sums a counter family in the daemon's registry.
func (d *daemon) counter(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := d.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.Metric {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// deployShop runs 3 replicas of app "shop" with known usage in a fresh
// namespace of every cluster, and waits until they are Running.
func deployShop(t *testing.T, ns string) map[string]*kubernetes.Clientset {
	t.Helper()
	clients := map[string]*kubernetes.Clientset{}
	for _, c := range stack.PooledClusters() {
		cs, err := kubernetes.NewForConfig(c.RESTConfig())
		if err != nil {
			t.Fatal(err)
		}
		clients[c.Name] = cs
		ctx := t.Context()
		createNamespace(t, cs, ns)
		d := deployment("shop", 3, "100m", "128Mi")
		d.Spec.Template.Labels["app.kubernetes.io/name"] = "shop"
		d.Spec.Template.Annotations = map[string]string{
			localstack.AnnotationUsageCPU: "250m", localstack.AnnotationUsageMemory: "300Mi"}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for name, cs := range clients {
		eventually(t, 60*time.Second, 250*time.Millisecond, name+": shop Running", func(ctx context.Context) error {
			return runningPods(ctx, cs, ns, "app=shop", 3)
		})
	}
	return clients
}

func runningPods(ctx context.Context, cs kubernetes.Interface, ns, selector string, want int) error {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	n := 0
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			n++
		}
	}
	if n != want {
		return fmt.Errorf("%d of %d pods Running", n, want)
	}
	return nil
}

// TestCollectorWritesAppSeriesOnEveryCluster runs headroomd against the three
// clusters, each read through a different source, and checks what lands in
// InfluxDB: one app series per cluster with exactly the tags of the schema,
// the known kwok usage summed over replicas, node series per pool; then that
// a pod deleted and rescheduled onto another node continues its app series.
func TestCollectorWritesAppSeriesOnEveryCluster(t *testing.T) {
	ctx := t.Context()
	ns := "collect-" + rand.String(5)
	db := "e2e_collect_" + rand.String(6)
	if err := stack.CreateInfluxDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	clients := deployShop(t, ns)
	d := startDaemon(t, headroomdConfig(t, stack.InfluxURL, db, filepath.Join(t.TempDir(), "spool.db")))

	wantTags := func(cluster string) string {
		return fmt.Sprintf("app=shop,cluster=%s,container=shop,namespace=%s,workload=shop,workload_kind=Deployment", cluster, ns)
	}
	checkApps := func(ctx context.Context, since time.Time) error {
		q := fmt.Sprintf(`SELECT last(replicas) AS replicas, last(memory_working_set_bytes_sum) AS mem, last(cpu_usage_cores_sum) AS cpu, last(memory_request_bytes_sum) AS req FROM app WHERE namespace = '%s' AND time >= %ds GROUP BY *`, ns, since.Unix())
		series, err := influxQL(ctx, stack.InfluxURL, db, q)
		if err != nil {
			return err
		}
		got := map[string]influxSeries{}
		for _, s := range series {
			got[tagString(s.Tags)] = s
		}
		for _, c := range stack.PooledClusters() {
			s, ok := got[wantTags(c.Name)]
			if !ok {
				return fmt.Errorf("no series %s among %v", wantTags(c.Name), keysOf(got))
			}
			row := s.Values[0]
			if r := s.column(row, "replicas"); r != float64(3) {
				return fmt.Errorf("%s: replicas %v, want 3", c.Name, r)
			}
			if m := s.column(row, "mem"); m != float64(3*300<<20) {
				return fmt.Errorf("%s: memory sum %v, want %d (3 × 300Mi)", c.Name, m, 3*300<<20)
			}
			if r := s.column(row, "req"); r != float64(3*128<<20) {
				return fmt.Errorf("%s: memory request sum %v, want %d", c.Name, r, 3*128<<20)
			}
			cpu, _ := s.column(row, "cpu").(float64)
			if math.Abs(cpu-0.75) > 0.05 {
				return fmt.Errorf("%s: cpu sum %v, want 0.75 (3 × 250m)", c.Name, s.column(row, "cpu"))
			}
		}
		if len(got) != len(stack.PooledClusters()) {
			return fmt.Errorf("%d app series, want %d: %v", len(got), len(stack.PooledClusters()), keysOf(got))
		}
		return nil
	}
	eventually(t, 90*time.Second, time.Second, "app series with the known usage", func(ctx context.Context) error {
		return checkApps(ctx, time.Unix(0, 0))
	})

	// Node series: one per node, tagged with its pool, per cluster.
	nodes, err := influxQL(ctx, stack.InfluxURL, db, `SHOW TAG VALUES FROM node WITH KEY = "pool"`)
	if err != nil {
		t.Fatal(err)
	}
	var pools []string
	for _, s := range nodes {
		for _, v := range s.Values {
			pools = append(pools, fmt.Sprint(v[1]))
		}
	}
	sort.Strings(pools)
	if strings.Join(pools, ",") != "general,gpu,highmem" {
		t.Errorf("node pools in InfluxDB: %v, want general, gpu, highmem", pools)
	}
	for _, c := range stack.PooledClusters() {
		series, err := influxQL(ctx, stack.InfluxURL, db, fmt.Sprintf(`SELECT last(scraped) FROM node WHERE cluster = '%s' GROUP BY node`, c.Name))
		if err != nil {
			t.Fatal(err)
		}
		if len(series) != 6 {
			t.Errorf("%s: %d node series, want 6", c.Name, len(series))
		}
	}

	// Move one osl2 pod: cordon its node, delete it; the Deployment's
	// replacement lands elsewhere under a new name and the series goes on.
	cs := clients["osl2"]
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=shop"})
	if err != nil {
		t.Fatal(err)
	}
	victim := pods.Items[0]
	node, err := cs.CoreV1().Nodes().Get(ctx, victim.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Spec.Unschedulable = true
	if _, err := cs.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), node.Name, metav1.GetOptions{})
		if err == nil {
			n.Spec.Unschedulable = false
			_, _ = cs.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{})
		}
	})
	if err := cs.CoreV1().Pods(ns).Delete(ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, 250*time.Millisecond, "replacement pod Running on another node", func(ctx context.Context) error {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=shop"})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			if p.Name != victim.Name && p.Status.Phase == corev1.PodRunning && p.CreationTimestamp.After(victim.CreationTimestamp.Time) {
				if p.Spec.NodeName == victim.Spec.NodeName {
					return fmt.Errorf("replacement on the cordoned node %s", p.Spec.NodeName)
				}
				return runningPods(ctx, cs, ns, "app=shop", 3)
			}
		}
		return fmt.Errorf("no replacement yet")
	})
	moved := time.Now().Add(3 * time.Second) // after the first cycle that can rate the new pod
	eventually(t, 60*time.Second, time.Second, "the app series continuing after the move", func(ctx context.Context) error {
		return checkApps(ctx, moved)
	})
	series, err := influxQL(ctx, stack.InfluxURL, db, fmt.Sprintf(`SHOW SERIES FROM app WHERE namespace = '%s'`, ns))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(series[0].Values); n != len(stack.PooledClusters()) {
		t.Errorf("%d app series after the move, want still %d: %v", n, len(stack.PooledClusters()), series[0].Values)
	}
	for _, v := range series[0].Values {
		if k := fmt.Sprint(v[0]); strings.Contains(k, "pod=") || strings.Contains(k, "node=") || strings.Contains(k, "host=") {
			t.Errorf("app series key %s carries a host or pod tag", k)
		}
	}
	if failed := d.counter(t, "headroom_collector_nodes_failed_total"); failed > 0 {
		t.Logf("node scrapes failed during the test: %v", failed)
	}
}

func tagString(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k, v := range tags {
		if v != "" {
			keys = append(keys, k+"="+v)
		}
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
