package collector

import (
	"fmt"
	"math/rand/v2"
	"runtime"
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
	cached := PodsOf(podObjs...) // as the informer cache holds them
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
		cy := Cycle{Cluster: "osl2", Time: t0, Nodes: []*corev1.Node{node}, Pods: cached,
			NodeUsage: map[string]Usage{}, ContainerUsage: make(map[string]Usage, pods), Scraped: map[string]bool{}}
		c.addUsage(&cy, scrapeResult{node: "node-1", res: res})
		c.containerRates.Forget()
		points := agg.Points(cy)
		buf, _, err = enc.Encode(buf[:0], points)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// apiPod is a Deployment's pod as the API serves it to an informer: the
// service-account volume, the default tolerations, conditions, IPs and
// container statuses a real one carries.
func apiPod(i int) *corev1.Pod {
	yes, grace, seconds := true, int64(30), int64(300)
	app := fmt.Sprintf("web-%d", i%50)
	hash := fmt.Sprintf("7d9f8c6b%02d", i%50)
	name := fmt.Sprintf("%s-%s-%05d", app, hash, i)
	started := metav1.NewTime(time.Unix(1700000000, 0))
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID(fmt.Sprintf("3f1c9a52-0b1e-4c8e-9d2a-%012d", i)),
			ResourceVersion: fmt.Sprint(100000 + i), CreationTimestamp: started,
			Labels: map[string]string{"app": app, "pod-template-hash": hash},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: app + "-" + hash,
				UID: types.UID("rs-" + hash), Controller: &yes, BlockOwnerDeletion: &yes}},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate,
				FieldsV1: &metav1.FieldsV1{Raw: []byte(strings.Repeat(`{"f:metadata":{}}`, 40))}}}},
		Spec: corev1.PodSpec{
			NodeName: fmt.Sprintf("node-%d", i%500), ServiceAccountName: "default", SchedulerName: "default-scheduler",
			RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst, TerminationGracePeriodSeconds: &grace,
			EnableServiceLinks: &yes, SecurityContext: &corev1.PodSecurityContext{},
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &seconds},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &seconds}},
			Volumes: []corev1.Volume{{Name: "kube-api-access-x7k2p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &seconds}}}}}}},
			Containers: []corev1.Container{{Name: "app", Image: "registry.local/" + app + ":1.4.2",
				ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePath: "/dev/termination-log",
				Env:          []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}},
				VolumeMounts: []corev1.VolumeMount{{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, HostIP: "10.1.2.3", PodIP: fmt.Sprintf("10.244.%d.%d", i/250, i%250), StartTime: &started,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: started},
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: started}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, Image: "registry.local/" + app + ":1.4.2",
				ImageID: "registry.local/" + app + "@sha256:0123456789abcdef", ContainerID: fmt.Sprintf("containerd://%064d", i),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}}},
		},
	}
}

// BenchmarkCachedPods measures the informer cache per pod: the live heap
// that 15,000 replicas of 50 Deployments take once slimObjects has kept
// them (live-B/pod), with the transform's cost per pod (ns/op, per 15,000).
func BenchmarkCachedPods(b *testing.B) {
	const n = 15000
	var live float64
	for b.Loop() {
		cached := make([]any, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range n {
			cached[i], _ = slimObjects(apiPod(i))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		live = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(cached)
	}
	b.ReportMetric(live, "live-B/pod")
}

// BenchmarkClusterJoin1000Nodes measures what a cycle does with a
// datacenter's scrapes once every node's page is decoded: rates from the
// counters, usage joined to the informer's pods, aggregated into points.
// 1,000 nodes of 30 single-container pods of 100 Deployments, the pods in
// the informer's (unordered) order, as the bench harness's cluster has them.
func BenchmarkClusterJoin1000Nodes(b *testing.B) {
	const nodes, perNode = 1000, 30
	t0 := time.Unix(1700000000, 0)
	var (
		nodeObjs []*corev1.Node
		podObjs  []*corev1.Pod
		results  [2][]scrapeResult
	)
	yes := true
	for n := range nodes {
		name := fmt.Sprintf("node-%04d", n)
		nodeObjs = append(nodeObjs, testNode(name, "general"))
		var page [2]strings.Builder
		for i := range perNode {
			p := n*perNode + i
			app := fmt.Sprintf("web-%d", p%100)
			pod := fmt.Sprintf("%s-7d9f8c6b5-%05d", app, p)
			ns := fmt.Sprintf("ns%d", p%10)
			podObjs = append(podObjs, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: ns, UID: types.UID(fmt.Sprintf("uid-%d", p)), ResourceVersion: "1",
					Labels:          map[string]string{"app": app, "pod-template-hash": "7d9f8c6b5"},
					OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: app + "-7d9f8c6b5", Controller: &yes}}},
				Spec: corev1.PodSpec{NodeName: name, Containers: []corev1.Container{{Name: "app",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning},
			})
			for k := range page {
				ts := t0.Add(time.Duration(k) * 15 * time.Second)
				fmt.Fprintf(&page[k], "container_cpu_usage_seconds_total{container=\"app\",namespace=%q,pod=%q} %.6f %d\n", ns, pod, 100+float64(3*k), ts.UnixMilli())
				fmt.Fprintf(&page[k], "container_memory_working_set_bytes{container=\"app\",namespace=%q,pod=%q} %d %d\n", ns, pod, 300<<20, ts.UnixMilli())
				fmt.Fprintf(&page[k], "container_start_time_seconds{container=\"app\",namespace=%q,pod=%q} %d %d\n", ns, pod, t0.Add(-time.Hour).Unix(), ts.UnixMilli())
			}
		}
		for k := range page {
			ts := t0.Add(time.Duration(k) * 15 * time.Second)
			fmt.Fprintf(&page[k], "node_cpu_usage_seconds_total %.6f %d\nnode_memory_working_set_bytes %d %d\n", 3000+float64(90*k), ts.UnixMilli(), 40<<30, ts.UnixMilli())
			res, err := decode.ResourceMetricsBytes([]byte(page[k].String()), name, ts)
			if err != nil {
				b.Fatal(err)
			}
			results[k] = append(results[k], scrapeResult{node: name, res: res})
		}
	}
	rand.Shuffle(len(podObjs), func(i, j int) { podObjs[i], podObjs[j] = podObjs[j], podObjs[i] })
	cached := PodsOf(podObjs...)
	c := &Cluster{opts: ClusterOptions{Aggregation: Aggregation{AppLabels: testAppLabels, PoolLabels: []string{"headroom.local/pool"}, Cache: NewPodCache()}}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		cy := c.newCycle("osl2", t0, nodeObjs, cached)
		for _, r := range results[i%2] {
			c.addUsage(&cy, r)
		}
		i++
		c.forgetRates()
		if points := c.opts.Aggregation.Points(cy); len(points) != 100*1+nodes+1 {
			b.Fatalf("%d points", len(points))
		}
		c.keepUsage(cy)
	}
}
