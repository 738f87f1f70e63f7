package collector

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/headroomhq/headroom"
	"github.com/headroomhq/headroom/collector/decode"
)

func TestStartOrderSpreadsNodesWithinJitterInOrder(t *testing.T) {
	nodes := make([]*corev1.Node, 200)
	for i := range nodes {
		nodes[i] = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%d", i)}}
	}
	const jitter = 2 * time.Second
	order := startOrder(nodes, jitter)
	if len(order) != len(nodes) {
		t.Fatalf("%d starts for %d nodes", len(order), len(nodes))
	}
	seen := map[string]bool{}
	distinct := map[time.Duration]bool{}
	for i, s := range order {
		if s.offset < 0 || s.offset >= jitter {
			t.Errorf("node %s starts at %s, outside [0, %s)", s.node.Name, s.offset, jitter)
		}
		if i > 0 && s.offset < order[i-1].offset {
			t.Errorf("start %d (%s) before start %d (%s)", i, s.offset, i-1, order[i-1].offset)
		}
		seen[s.node.Name] = true
		distinct[s.offset] = true
	}
	if len(seen) != len(nodes) {
		t.Errorf("%d distinct nodes in the order, want %d", len(seen), len(nodes))
	}
	if len(distinct) < len(nodes)/2 {
		t.Errorf("only %d distinct offsets for %d nodes: not spread", len(distinct), len(nodes))
	}
	for _, s := range startOrder(nodes, 0) {
		if s.offset != 0 {
			t.Fatalf("no jitter, yet node %s starts at %s", s.node.Name, s.offset)
		}
	}
}

type scrapeFunc func(ctx context.Context, n *corev1.Node) (*decode.Result, error)

func (f scrapeFunc) ScrapeNode(ctx context.Context, n *corev1.Node) (*decode.Result, error) {
	return f(ctx, n)
}

type recordingSink struct {
	mu     sync.Mutex
	writes [][]headroom.Point
}

func (s *recordingSink) Write(_ context.Context, p []headroom.Point) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, p)
	return nil
}

// TestCycleCutByShutdownIsDroppedWhole: a cycle that shutdown interrupts
// stores nothing (not a cycle with nodes missing) and blames no node.
func TestCycleCutByShutdownIsDroppedWhole(t *testing.T) {
	var objs []runtime.Object
	for _, name := range []string{"n1", "n2", "n3"} {
		objs = append(objs, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	ctx, shutdown := context.WithCancel(t.Context())
	scraper := scrapeFunc(func(sctx context.Context, n *corev1.Node) (*decode.Result, error) {
		if n.Name == "n2" {
			shutdown()
			<-sctx.Done()
			return nil, sctx.Err()
		}
		return &decode.Result{Nodes: []decode.Node{{Name: n.Name, MemoryWorkingSetBytes: 1 << 30, HasMemory: true}}}, nil
	})
	sink := &recordingSink{}
	m := NewMetrics(prometheus.NewRegistry())
	c, err := NewCluster(ClusterOptions{Name: "t", Client: fake.NewClientset(objs...), Sink: sink,
		NodeScraper: scraper, Concurrency: 1, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	c.factory.Start(t.Context().Done())
	for typ, ok := range c.factory.WaitForCacheSync(t.Context().Done()) {
		if !ok {
			t.Fatalf("%v informer did not sync", typ)
		}
	}
	c.Cycle(ctx)
	if len(sink.writes) != 0 {
		t.Errorf("an interrupted cycle stored %d batches", len(sink.writes))
	}
	if got := testutil.ToFloat64(m.nodesFailed.WithLabelValues("t")); got != 0 {
		t.Errorf("%v nodes counted failed for a shutdown", got)
	}
	if got := testutil.ToFloat64(m.nodesScraped.WithLabelValues("t")); got != 0 {
		t.Errorf("%v nodes counted scraped in a cycle that was dropped", got)
	}
	if got := testutil.ToFloat64(m.partialCycles.WithLabelValues("t")); got != 0 {
		t.Errorf("%v partial cycles counted for a shutdown", got)
	}
	if c.LastUsage() != nil {
		t.Error("an interrupted cycle became the last usage")
	}
}

// TestInformerCachesPodsAsPod runs the real informer path (a fake
// clientset): pods are cached as *Pod, follow updates and deletes, and
// Objects hands the gate whole corev1 pods.
func TestInformerCachesPodsAsPod(t *testing.T) {
	web := map[string]string{"app": "web"}
	a, b := testPod("web-a", "n1", web, "", "1", "1Gi"), testPod("web-b", "n1", web, "", "1", "1Gi")
	cs := fake.NewClientset(testNode("n1", "general"), a, b)
	sink := &recordingSink{}
	scraper := scrapeFunc(func(context.Context, *corev1.Node) (*decode.Result, error) { return &decode.Result{}, nil })
	c, err := NewCluster(ClusterOptions{Name: "t", Client: cs, Sink: sink, NodeScraper: scraper,
		Aggregation: Aggregation{AppLabels: testAppLabels}})
	if err != nil {
		t.Fatal(err)
	}
	c.factory.Start(t.Context().Done())
	c.factory.WaitForCacheSync(t.Context().Done())
	c.synced.Store(true)
	waitPods := func(what string, cond func([]*Pod) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond(c.listPods()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: cache holds %d pods", what, len(c.listPods()))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitPods("synced", func(ps []*Pod) bool { return len(ps) == 2 })
	if ps := c.listPods(); ps[0].spec != ps[1].spec {
		t.Error("the cached replicas do not share their spec")
	}
	_, pods, _ := c.Objects()
	if len(pods) != 2 || pods[0].Spec.NodeName != "n1" || pods[0].Spec.Containers[0].Resources.Requests.Cpu().String() != "1" {
		t.Fatalf("Objects gave %d pods, first %+v", len(pods), pods[0])
	}

	// Relabelled and deleted through the API, followed by the cache.
	b2 := b.DeepCopy()
	b2.Labels = map[string]string{"app": "api"}
	if _, err := cs.CoreV1().Pods("shop").Update(t.Context(), b2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Pods("shop").Delete(t.Context(), "web-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPods("after update and delete", func(ps []*Pod) bool { return len(ps) == 1 && ps[0].Labels["app"] == "api" })
	c.Cycle(t.Context())
	if len(sink.writes) != 1 {
		t.Fatalf("%d writes, want 1", len(sink.writes))
	}
	got := appPoints(sink.writes[0])
	if _, ok := got["app,app=api,cluster=t,container=main,namespace=shop,workload=web-b,workload_kind=Pod"]; len(got) != 1 || !ok {
		t.Errorf("app series %v", keys(got))
	}
}

// TestCycleLongerThanIntervalIsCounted: a cycle that overruns its interval
// (too many nodes for the concurrency) is counted as an overrun; one that
// fits is not.
func TestCycleLongerThanIntervalIsCounted(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	var scrapeTakes time.Duration
	scraper := scrapeFunc(func(_ context.Context, n *corev1.Node) (*decode.Result, error) {
		mu.Lock()
		clock = clock.Add(scrapeTakes)
		mu.Unlock()
		return &decode.Result{Nodes: []decode.Node{{Name: n.Name, MemoryWorkingSetBytes: 1 << 30, HasMemory: true}}}, nil
	})
	m := NewMetrics(prometheus.NewRegistry())
	c, err := NewCluster(ClusterOptions{Name: "t", Client: fake.NewClientset(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}),
		Sink: &recordingSink{}, NodeScraper: scraper, Concurrency: 1, Interval: 15 * time.Second, Timeout: 5 * time.Second,
		Metrics: m, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	c.factory.Start(t.Context().Done())
	c.factory.WaitForCacheSync(t.Context().Done())

	scrapeTakes = 5 * time.Second // two nodes one after the other: 10 s of 15
	c.Cycle(t.Context())
	if got := testutil.ToFloat64(m.overruns.WithLabelValues("t")); got != 0 {
		t.Fatalf("a 10 s cycle of a 15 s interval counted as %v overruns", got)
	}
	scrapeTakes = 8 * time.Second // 16 s
	c.Cycle(t.Context())
	if got := testutil.ToFloat64(m.overruns.WithLabelValues("t")); got != 1 {
		t.Fatalf("a 16 s cycle of a 15 s interval counted as %v overruns, want 1", got)
	}
}
