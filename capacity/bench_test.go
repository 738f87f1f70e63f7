package capacity

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkCheck5000Nodes is the figure: a 5,000-node, 150,000-pod
// cluster, a check of 200 replicas. It reports p50 and p99 over the
// iterations besides the mean.
//
//	go test -run '^$' -bench Check5000 -benchmem -benchtime 200x ./capacity/
func BenchmarkCheck5000Nodes(b *testing.B) {
	ns, ps := bigCluster()
	start := time.Now()
	c := NewCluster(ns, ps, Options{PoolLabels: testPools})
	b.Logf("NewCluster: %s for %d nodes, %d pods", time.Since(start), len(ns), len(ps))
	d := testDeployment(200, "500m", "1Gi")
	d.Namespace = "ns-7"
	w, err := WorkloadFromObject(d)
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		res := c.Check(w, Policy{})
		lat = append(lat, time.Since(t0))
		if res.ReplicasFit != 200 {
			b.Fatalf("fit %d", res.ReplicasFit)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// BenchmarkNewCluster5000Nodes is the model's build from a 5,000-node,
// 150,000-pod cluster's objects: what headroomd does before each check.
func BenchmarkNewCluster5000Nodes(b *testing.B) {
	ns, ps := bigCluster()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		NewCluster(ns, ps, Options{PoolLabels: testPools})
	}
}

// bigCluster is 5,000 nodes in three pools and zones with 30 pods each.
func bigCluster() ([]*corev1.Node, []*corev1.Pod) {
	const nodes, podsPerNode, namespaces = 5000, 30, 300
	pools := []struct {
		name, cpu, mem string
	}{{"general", "16", "64Gi"}, {"highmem", "32", "256Gi"}, {"small", "8", "32Gi"}}
	var ns []*corev1.Node
	var ps []*corev1.Pod
	for i := range nodes {
		pool := pools[i%len(pools)]
		n := testNode(fmt.Sprintf("node-%05d", i), pool.name, pool.cpu, pool.mem)
		n.Labels[corev1.LabelTopologyZone] = fmt.Sprintf("zone-%d", i%3)
		ns = append(ns, n)
		for j := range podsPerNode {
			k := i*podsPerNode + j
			cpu := []string{"100m", "250m", "200m"}[k%3]
			mem := []string{"256Mi", "512Mi", "1Gi"}[k%3]
			ps = append(ps, runningPod(fmt.Sprintf("p-%d", k), fmt.Sprintf("ns-%d", k%namespaces), n.Name, cpu, mem,
				map[string]string{"app": fmt.Sprintf("app-%d", k%1000)}))
		}
	}
	return ns, ps
}
