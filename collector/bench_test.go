package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/headroomhq/headroom/collector/decode"
	"github.com/headroomhq/headroom/sink"
)

// resourceMetrics renders a kubelet /metrics/resource page for one node
// with n single-container pods, as a real kubelet prints it.
func resourceMetrics(n int, ts time.Time, cpuSeconds float64) []byte {
	var b strings.Builder
	ms := ts.UnixMilli()
	b.WriteString("# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds\n# TYPE container_cpu_usage_seconds_total counter\n")
	for i := range n {
		fmt.Fprintf(&b, "container_cpu_usage_seconds_total{container=\"app\",namespace=\"ns%d\",pod=\"web-%d-7d9f8c6b5-x%04d\"} %.6f %d\n", i%10, i%25, i, cpuSeconds, ms)
	}
	b.WriteString("# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes\n# TYPE container_memory_working_set_bytes gauge\n")
	for i := range n {
		fmt.Fprintf(&b, "container_memory_working_set_bytes{container=\"app\",namespace=\"ns%d\",pod=\"web-%d-7d9f8c6b5-x%04d\"} %d %d\n", i%10, i%25, i, 300<<20, ms)
	}
	b.WriteString("# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds\n# TYPE container_start_time_seconds gauge\n")
	for i := range n {
		fmt.Fprintf(&b, "container_start_time_seconds{container=\"app\",namespace=\"ns%d\",pod=\"web-%d-7d9f8c6b5-x%04d\"} %d %d\n", i%10, i%25, i, ts.Add(-time.Hour).Unix(), ms)
	}
	fmt.Fprintf(&b, "# TYPE node_cpu_usage_seconds_total counter\nnode_cpu_usage_seconds_total %.6f %d\n", cpuSeconds*float64(n), ms)
	fmt.Fprintf(&b, "# TYPE node_memory_working_set_bytes gauge\nnode_memory_working_set_bytes %d %d\n", 40<<30, ms)
	return []byte(b.String())
}

// BenchmarkNodeCycle110Pods measures what headroomd does per node and cycle
// once the bytes have arrived: decode a 110-pod /metrics/resource page, rate
// the counters, enrich and aggregate into app, node and cluster points, and
// encode them as line protocol.
func BenchmarkNodeCycle110Pods(b *testing.B) {
	const pods = 110
	t0 := time.Unix(1700000000, 0)
	pages := [2][]byte{resourceMetrics(pods, t0, 100), resourceMetrics(pods, t0.Add(15*time.Second), 103)}
	node := testNode("node-1", "general")
	var podObjs []*corev1.Pod
	yes := true
	for i := range pods {
		podObjs = append(podObjs, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d-7d9f8c6b5-x%04d", i%25, i), Namespace: fmt.Sprintf("ns%d", i%10),
				UID: types.UID(fmt.Sprintf("uid-%d", i)), ResourceVersion: "1",
				Labels:          map[string]string{"app.kubernetes.io/name": fmt.Sprintf("web-%d", i%25), "pod-template-hash": "7d9f8c6b5"},
				OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: fmt.Sprintf("web-%d-7d9f8c6b5", i%25), Controller: &yes}}},
			Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning},
		})
	}
	c := &Cluster{}
	agg := Aggregation{AppLabels: testAppLabels, PoolLabels: []string{"headroom.local/pool"}, Cache: NewPodCache()}
	var enc sink.Encoder
	buf := make([]byte, 0, 64<<10)
	b.SetBytes(int64(len(pages[0])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		page := pages[i%2]
		i++
		res, err := decode.ResourceMetricsBytes(page, "node-1", t0) // as KubeletScraper decodes its pooled buffer
		if err != nil {
			b.Fatal(err)
		}
		cy := Cycle{Cluster: "osl2", Time: t0, Nodes: []*corev1.Node{node}, Pods: podObjs,
			NodeUsage: map[string]Usage{}, ContainerUsage: make(map[ContainerKey]Usage, pods), Scraped: map[string]bool{}}
		c.addUsage(&cy, scrapeResult{node: "node-1", res: res})
		c.containerRates.Forget()
		points := agg.Points(cy)
		buf, _, err = enc.Encode(buf[:0], points)
		if err != nil {
			b.Fatal(err)
		}
	}
}
