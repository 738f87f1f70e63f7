package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/headroomhq/headroom"
	"github.com/headroomhq/headroom/collector/decode"
)

func testPod(name, node string, labels map[string]string, owner string, cpuReq, memReq string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "main",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(cpuReq), corev1.ResourceMemory: resource.MustParse(memReq)}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if owner != "" {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: owner, Controller: &yes}}
	}
	return p
}

func testNode(name, pool string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"headroom.local/pool": pool}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"),
				corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
}

// series renders a point's measurement and tags: what InfluxDB keys a series by.
func series(p headroom.Point) string {
	var b strings.Builder
	b.WriteString(p.Measurement)
	for _, t := range p.Tags {
		if t.Value != "" {
			fmt.Fprintf(&b, ",%s=%s", t.Key, t.Value)
		}
	}
	return b.String()
}

func field(p headroom.Point, key string) any {
	for _, f := range p.Fields {
		if f.Key == key {
			return f.Value
		}
	}
	return nil
}

func appPoints(points []headroom.Point) map[string]headroom.Point {
	out := map[string]headroom.Point{}
	for _, p := range points {
		if p.Measurement == MeasurementApp {
			out[series(p)] = p
		}
	}
	return out
}

func TestAggregateSumsReplicasIntoOneSeriesWithoutHostOrPod(t *testing.T) {
	now := time.Unix(1700000000, 0)
	web := map[string]string{"app.kubernetes.io/name": "web", "pod-template-hash": "5d4f"}
	base := Cycle{
		Cluster: "osl2", Time: now,
		Nodes: []*corev1.Node{testNode("n1", "general"), testNode("n2", "general")},
		Pods: PodsOf(
			testPod("web-5d4f-a", "n1", web, "web-5d4f", "500m", "512Mi"),
			testPod("web-5d4f-b", "n2", web, "web-5d4f", "500m", "512Mi"),
		),
		ContainerUsage: map[string]Usage{
			decode.ContainerID("shop", "web-5d4f-a", "main"): {CPUCores: 0.25, HasCPU: true, MemoryBytes: 300 << 20, HasMemory: true},
			decode.ContainerID("shop", "web-5d4f-b", "main"): {CPUCores: 0.5, HasCPU: true, MemoryBytes: 100 << 20, HasMemory: true},
		},
		NodeUsage: map[string]Usage{},
		Scraped:   map[string]bool{"n1": true, "n2": true},
	}
	agg := Aggregation{AppLabels: testAppLabels}
	before := appPoints(agg.Points(base))
	const want = "app,app=web,cluster=osl2,container=main,namespace=shop,workload=web,workload_kind=Deployment"
	p, ok := before[want]
	if len(before) != 1 || !ok {
		t.Fatalf("app series = %v, want exactly %s", keys(before), want)
	}
	checks := map[string]any{
		"replicas": int64(2), "cpu_usage_cores_sum": 0.75, "cpu_usage_cores_max": 0.5,
		"memory_working_set_bytes_sum": int64(400 << 20), "memory_working_set_bytes_max": int64(300 << 20),
		"cpu_request_cores_sum": 1.0, "memory_request_bytes_sum": int64(1 << 30),
	}
	for k, v := range checks {
		if got := field(p, k); got != v {
			t.Errorf("%s = %v (%T), want %v", k, got, got, v)
		}
	}
	// Pod b is deleted and rescheduled onto n1 under a new name: same series.
	moved := base
	moved.Pods = []*Pod{base.Pods[0], NewPod(testPod("web-5d4f-c", "n1", web, "web-5d4f", "500m", "512Mi"))}
	moved.ContainerUsage = map[string]Usage{
		decode.ContainerID("shop", "web-5d4f-a", "main"): {CPUCores: 0.25, HasCPU: true},
		decode.ContainerID("shop", "web-5d4f-c", "main"): {CPUCores: 0.25, HasCPU: true},
	}
	after := appPoints(agg.Points(moved))
	if _, ok := after[want]; len(after) != 1 || !ok {
		t.Fatalf("after the move: %v, want the same single series %s", keys(after), want)
	}
}

func TestAggregateNodeAndClusterPoints(t *testing.T) {
	pending := testPod("b", "", map[string]string{"app": "b"}, "", "1", "1Gi")
	pending.Status.Phase = corev1.PodPending
	c := Cycle{
		Cluster: "ksd1", Time: time.Unix(1700000000, 0),
		Nodes:     []*corev1.Node{testNode("n1", "general"), testNode("n2", "highmem")},
		Pods:      PodsOf(testPod("a", "n1", map[string]string{"app": "a"}, "", "1", "1Gi"), pending),
		NodeUsage: map[string]Usage{"n1": {CPUCores: 1.5, HasCPU: true, MemoryBytes: 2 << 30, HasMemory: true}},
		Scraped:   map[string]bool{"n1": true},
	}
	pts := Aggregation{PoolLabels: []string{"headroom.local/pool"}}.Points(c)
	bySeries := map[string]headroom.Point{}
	for _, p := range pts {
		bySeries[series(p)] = p
	}
	n1 := bySeries["node,cluster=ksd1,node=n1,pool=general"]
	if field(n1, "cpu_requested_cores") != 1.0 || field(n1, "cpu_usage_cores") != 1.5 || field(n1, "scraped") != true {
		t.Errorf("n1 = %+v", n1.Fields)
	}
	n2 := bySeries["node,cluster=ksd1,node=n2,pool=highmem"]
	if field(n2, "scraped") != false || field(n2, "cpu_usage_cores") != nil {
		t.Errorf("n2 (not scraped) = %+v", n2.Fields)
	}
	cl := bySeries["cluster,cluster=ksd1"]
	for k, v := range map[string]any{"nodes": int64(2), "nodes_failed": int64(1), "pods_running": int64(1),
		"pods_pending": int64(1), "cpu_allocatable_cores": 8.0, "cpu_requested_cores": 1.0} {
		if got := field(cl, k); got != v {
			t.Errorf("cluster %s = %v, want %v", k, got, v)
		}
	}
	if _, ok := bySeries["app,app=a,cluster=ksd1,container=main,namespace=shop,workload=a,workload_kind=Pod"]; !ok {
		t.Errorf("no app series for the unowned pod: %v", keys(bySeries))
	}
}

func TestWorkloadOfFollowsOwners(t *testing.T) {
	yes := true
	pod := func(kind, name string, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}}}
	}
	owners := fakeOwners{rs: map[string]*metav1.OwnerReference{"api-7c9": {Kind: "Deployment", Name: "api"}},
		jobs: map[string]*metav1.OwnerReference{"nightly-2901": {Kind: "CronJob", Name: "nightly"}}}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want Workload
	}{
		{"replicaset owned by a deployment", pod("ReplicaSet", "api-7c9", nil), Workload{"Deployment", "api"}},
		{"replicaset unknown to the lookup, hash label", pod("ReplicaSet", "web-5d4f", map[string]string{"pod-template-hash": "5d4f"}), Workload{"Deployment", "web"}},
		{"bare replicaset", pod("ReplicaSet", "solo", nil), Workload{"ReplicaSet", "solo"}},
		{"job of a cronjob", pod("Job", "nightly-2901", nil), Workload{"CronJob", "nightly"}},
		{"statefulset", pod("StatefulSet", "db", nil), Workload{"StatefulSet", "db"}},
		{"daemonset", pod("DaemonSet", "agent", nil), Workload{"DaemonSet", "agent"}},
		{"unowned pod", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "lonely"}}, Workload{"Pod", "lonely"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := WorkloadOf(tc.pod, owners); got != tc.want {
				t.Fatalf("got %+v want %+v", got, tc.want)
			}
		})
	}
}

func TestAppOfPrecedence(t *testing.T) {
	w := Workload{"Deployment", "api"}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "b", "k8s-app": "c"}}}
	if got := AppOf(p, testAppLabels, w); got != "b" {
		t.Errorf("app label: got %q", got)
	}
	p.Labels["app.kubernetes.io/name"] = "a"
	if got := AppOf(p, testAppLabels, w); got != "a" {
		t.Errorf("app.kubernetes.io/name first: got %q", got)
	}
	if got := AppOf(&corev1.Pod{}, testAppLabels, w); got != "api" {
		t.Errorf("no label: got %q, want the workload name", got)
	}
}

type fakeOwners struct {
	rs, jobs map[string]*metav1.OwnerReference
}

func (f fakeOwners) ReplicaSetOwner(_, name string) *metav1.OwnerReference { return f.rs[name] }
func (f fakeOwners) JobOwner(_, name string) *metav1.OwnerReference        { return f.jobs[name] }

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCachedPodKeepsWhatAggregationReads(t *testing.T) {
	p := testPod("web-5d4f-a", "n1", map[string]string{"app": "web", "pod-template-hash": "5d4f"}, "web-5d4f", "500m", "512Mi")
	p.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 4096)}
	p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "b"}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", RestartCount: 4, Image: "big"}}
	c := Cycle{Cluster: "c", Nodes: []*corev1.Node{testNode("n1", "general")}, Pods: PodsOf(p),
		ContainerUsage: map[string]Usage{decode.ContainerID("shop", "web-5d4f-a", "main"): {CPUCores: 0.25, HasCPU: true}},
		NodeUsage:      map[string]Usage{}, Scraped: map[string]bool{"n1": true}}
	got := appPoints(Aggregation{AppLabels: testAppLabels}.Points(c))
	a, ok := got["app,app=web,cluster=c,container=main,namespace=shop,workload=web,workload_kind=Deployment"]
	if len(got) != 1 || !ok {
		t.Fatalf("app series %v", keys(got))
	}
	for k, v := range map[string]any{"replicas": int64(1), "restarts": int64(4), "cpu_usage_cores_sum": 0.25,
		"cpu_request_cores_sum": 0.5, "memory_request_bytes_sum": int64(512 << 20)} {
		if f := field(a, k); f != v {
			t.Errorf("%s = %v, want %v", k, f, v)
		}
	}
	if s := NewPod(p).Object(); s.Annotations != nil || s.Spec.Containers[0].Env != nil {
		t.Fatalf("cached pod keeps annotations or env: %+v", s)
	}
}

func TestPodCacheFollowsPodChanges(t *testing.T) {
	p := testPod("api-1", "n1", map[string]string{"app": "api"}, "", "1", "1Gi")
	p.UID, p.ResourceVersion = "u1", "1"
	c := Cycle{Cluster: "c", Nodes: []*corev1.Node{testNode("n1", "general")}, Pods: PodsOf(p),
		ContainerUsage: map[string]Usage{}, NodeUsage: map[string]Usage{}, Scraped: map[string]bool{}}
	agg := Aggregation{AppLabels: testAppLabels, Cache: NewPodCache()}
	if got := appPoints(agg.Points(c)); len(got) != 1 || got["app,app=api,cluster=c,container=main,namespace=shop,workload=api-1,workload_kind=Pod"].Measurement == "" {
		t.Fatalf("first cycle: %v", keys(got))
	}
	// The pod is relabelled (a new resourceVersion): the cache must notice.
	q := p.DeepCopy()
	q.Labels["app"], q.ResourceVersion = "api-v2", "2"
	q.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("2")
	c.Pods = PodsOf(q)
	pts := agg.Points(c)
	got := appPoints(pts)
	a, ok := got["app,app=api-v2,cluster=c,container=main,namespace=shop,workload=api-1,workload_kind=Pod"]
	if len(got) != 1 || !ok || field(a, "cpu_request_cores_sum") != 2.0 {
		t.Fatalf("after the change: %v", keys(got))
	}
	for _, p := range pts {
		if p.Measurement == MeasurementNode && field(p, "cpu_requested_cores") != 2.0 {
			t.Fatalf("node requested %v, want 2", field(p, "cpu_requested_cores"))
		}
	}
	// Another aggregation of the same pods (other app labels) works them
	// out for itself.
	other := Aggregation{AppLabels: []string{"team"}, Cache: NewPodCache()}
	if got := appPoints(other.Points(c)); got["app,app=api-1,cluster=c,container=main,namespace=shop,workload=api-1,workload_kind=Pod"].Measurement == "" {
		t.Fatalf("another aggregation read the first one's facts: %v", keys(got))
	}
}

// testAppLabels are the configuration's default app labels.
var testAppLabels = []string{"app.kubernetes.io/name", "app", "k8s-app"}
