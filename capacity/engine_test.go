package capacity

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var testPools = []string{"headroom.local/pool"}

func testNode(name, pool, cpu, mem string, mods ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"headroom.local/pool": pool, corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem),
			corev1.ResourcePods: resource.MustParse("110")}},
	}
	for _, m := range mods {
		m(n)
	}
	return n
}

func testDeployment(replicas int32, cpu, mem string, mods ...func(*appsv1.Deployment)) *appsv1.Deployment {
	lbl := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}}}},
			},
		},
	}
	for _, m := range mods {
		m(d)
	}
	return d
}

func mustWorkload(t *testing.T, d *appsv1.Deployment) *Workload {
	t.Helper()
	w, err := WorkloadFromObject(d)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func runningPod(name, ns, node, cpu, mem string, lbl map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbl,
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "old", Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

func TestCheckCountsAndWordsLikeTheScheduler(t *testing.T) {
	nodes := []*corev1.Node{
		testNode("a", "general", "4", "16Gi"), testNode("b", "general", "4", "16Gi"), testNode("c", "general", "4", "16Gi"),
		testNode("d", "db", "8", "64Gi", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
		}),
		testNode("e", "general", "4", "16Gi", func(n *corev1.Node) { n.Spec.Unschedulable = true }),
	}
	c := NewCluster(nodes, nil, Options{Name: "osl2", PoolLabels: testPools})
	res := c.Check(mustWorkload(t, testDeployment(20, "1", "1Gi")), Policy{})
	if res.Verdict != Fail || res.ReplicasFit != 12 || res.ReplicasRequested != 20 {
		t.Fatalf("verdict %s fit %d/%d, want fail 12/20", res.Verdict, res.ReplicasFit, res.ReplicasRequested)
	}
	want := "0/5 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable, 3 Insufficient cpu."
	if res.Reasons[0] != want {
		t.Errorf("reason %q\nwant   %q", res.Reasons[0], want)
	}
	if len(res.Placement) != 1 || res.Placement[0] != (PoolPlacement{Pool: "general", Replicas: 12, Min: 12, Max: 12}) {
		t.Errorf("placement %+v", res.Placement)
	}
	if len(res.Suggestions) == 0 || !strings.HasPrefix(res.Suggestions[0], "2 more node(s) like pool=general") {
		t.Errorf("suggestions %q", res.Suggestions)
	}
	if got := res.Verdict.ExitCode(); got != 1 {
		t.Errorf("exit code %d", got)
	}
}

func TestCheckSpreadsLikeTheScheduler(t *testing.T) {
	// Empty identical nodes: LeastAllocated and default spreading put one
	// replica on each before doubling up.
	var nodes []*corev1.Node
	for i := range 4 {
		nodes = append(nodes, testNode(fmt.Sprintf("n%d", i), "general", "4", "16Gi"))
	}
	nodes = append(nodes, testNode("big", "highmem", "8", "64Gi"))
	c := NewCluster(nodes, nil, Options{PoolLabels: testPools})
	res := c.Check(mustWorkload(t, testDeployment(5, "500m", "1Gi")), Policy{})
	if res.Verdict != Pass || res.ReplicasFit != 5 {
		t.Fatalf("%+v", res)
	}
	got := map[string]int{}
	for _, p := range res.Placement {
		got[p.Pool] = p.Replicas
	}
	if got["general"] != 4 || got["highmem"] != 1 {
		t.Errorf("placement %v, want general 4 highmem 1", got)
	}
}

func TestCheckTieGoesToTheFirstNodeWalked(t *testing.T) {
	// Twelve empty identical nodes, each its own pool, score alike. The
	// scheduler walks nodes in name order (within a zone); one filter
	// goroutine finds them in that order, and the first of the best in a
	// container/heap of them is bound, as the scheduler's
	// NewSortedScoredNodes does. The answer is that order's, whatever the
	// parallelism; interleaved goroutines find the nodes in other orders,
	// and the range says so unless the scheduler filters in one goroutine.
	var nodes []*corev1.Node
	for i := 11; i >= 0; i-- { // the input's order does not matter
		name := string(rune('a' + i))
		nodes = append(nodes, testNode(name, name, "4", "16Gi"))
	}
	for _, parallelism := range []int{0, 1} {
		c := NewCluster(nodes, nil, Options{PoolLabels: testPools, Parallelism: parallelism})
		res := c.Check(mustWorkload(t, testDeployment(7, "1", "1Gi")), Policy{})
		if res.Verdict != Pass || res.ReplicasFit != 7 {
			t.Fatalf("parallelism %d: verdict %s, fit %d", parallelism, res.Verdict, res.ReplicasFit)
		}
		var got, ranged []string
		for _, p := range res.Placement {
			if p.Replicas > 0 {
				got = append(got, p.Pool)
			}
			if p.Min != p.Max {
				ranged = append(ranged, p.Pool)
			}
		}
		if want := []string{"a", "b", "d", "e", "h", "i", "j"}; !slices.Equal(got, want) {
			t.Errorf("parallelism %d: replicas in pools %v, want %v", parallelism, got, want)
		}
		if parallelism == 1 && len(ranged) > 0 {
			t.Errorf("parallelism 1: pools %v have a range, want one answer", ranged)
		}
		if parallelism == 0 && len(ranged) == 0 {
			t.Errorf("parallelism 0: no pool has a range, want the other orders' placements")
		}
		if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "walks each zone's nodes by name") }) {
			t.Errorf("parallelism %d: notes %q, want one saying the split rests on the node order", parallelism, res.Notes)
		}
	}
}

func TestCheckHardConstraints(t *testing.T) {
	zone := func(z string) func(*corev1.Node) {
		return func(n *corev1.Node) { n.Labels[corev1.LabelTopologyZone] = z }
	}
	nodes := []*corev1.Node{
		testNode("a1", "general", "4", "16Gi", zone("a")), testNode("a2", "general", "4", "16Gi", zone("a")),
		testNode("b1", "general", "1", "16Gi", zone("b")),
	}
	c := NewCluster(nodes, nil, Options{PoolLabels: testPools})

	anti := testDeployment(5, "100m", "100Mi", func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey: corev1.LabelHostname, LabelSelector: d.Spec.Selector}}}}
	})
	res := c.Check(mustWorkload(t, anti), Policy{})
	if res.ReplicasFit != 3 || !strings.Contains(res.Reasons[0], "3 node(s) didn't match pod anti-affinity rules") {
		t.Errorf("anti-affinity: fit %d, reasons %q", res.ReplicasFit, res.Reasons)
	}

	// Zone b holds one 1-cpu pod; maxSkew 1 then caps zone a at 2.
	spread := testDeployment(6, "1", "1Gi", func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: d.Spec.Selector}}
	})
	res = c.Check(mustWorkload(t, spread), Policy{})
	if res.ReplicasFit != 3 {
		t.Errorf("spread: fit %d, want 3: %q", res.ReplicasFit, res.Reasons)
	}

	sel := testDeployment(2, "1", "1Gi", func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.NodeSelector = map[string]string{corev1.LabelTopologyZone: "c"}
	})
	res = c.Check(mustWorkload(t, sel), Policy{})
	if res.ReplicasFit != 0 || res.Reasons[0] != "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector." {
		t.Errorf("selector: fit %d, reasons %q", res.ReplicasFit, res.Reasons)
	}
}

func TestCheckRollingUpdateNeedsRoomForTheSurge(t *testing.T) {
	nodes := []*corev1.Node{testNode("a", "general", "4", "16Gi"), testNode("b", "general", "4", "16Gi")}
	var pods []*corev1.Pod
	for i := range 4 {
		pods = append(pods, runningPod(fmt.Sprintf("web-old-%d", i), "shop", []string{"a", "b"}[i%2], "2", "1Gi", map[string]string{"app": "web"}))
	}
	c := NewCluster(nodes, pods, Options{PoolLabels: testPools})

	// The cluster is full of the old revision; maxUnavailable 0 leaves
	// nothing to free, so the first surge pod never fits.
	strict := testDeployment(4, "2", "1Gi", func(d *appsv1.Deployment) {
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(0))}
	})
	res := c.Check(mustWorkload(t, strict), Policy{})
	if res.Verdict != Fail || res.Rollout == nil || res.Rollout.Completed || res.Rollout.OldReplicas != 4 {
		t.Fatalf("strict rollout: %+v %+v", res, res.Rollout)
	}

	// With the default 25% unavailable, old pods make room as they go.
	res = c.Check(mustWorkload(t, testDeployment(4, "2", "1Gi")), Policy{})
	if res.Verdict != Pass || !res.Rollout.Completed || res.ReplicasFit != 4 || res.Rollout.PeakPods != 5 {
		t.Fatalf("default rollout: %+v %+v", res, res.Rollout)
	}
}

func TestCheckPolicy(t *testing.T) {
	nodes := []*corev1.Node{testNode("a", "general", "4", "16Gi"), testNode("b", "general", "4", "16Gi"), testNode("c", "big", "8", "32Gi")}
	c := NewCluster(nodes, nil, Options{PoolLabels: testPools})
	w := mustWorkload(t, testDeployment(10, "1", "1Gi"))
	res := c.Check(w, Policy{NPlusOne: "node"})
	if res.Verdict != Fail || len(res.Policy) != 1 || res.Policy[0].Pass {
		t.Fatalf("10 cpu of 16 cannot survive losing the 8-cpu node: %+v", res.Policy)
	}
	if !strings.Contains(res.Policy[0].Detail, "after losing node c") {
		t.Errorf("detail %q", res.Policy[0].Detail)
	}
	res = c.Check(mustWorkload(t, testDeployment(6, "1", "1Gi")), Policy{NPlusOne: "node", MaxShare: map[corev1.ResourceName]float64{corev1.ResourceCPU: 0.5}})
	if res.Verdict != Pass {
		t.Fatalf("6 cpu: %+v", res.Policy)
	}
	res = c.Check(mustWorkload(t, testDeployment(9, "1", "1Gi")), Policy{MaxShare: map[corev1.ResourceName]float64{corev1.ResourceCPU: 0.5}})
	if res.Verdict != Fail || res.Policy[0].Pass {
		t.Fatalf("9 of 16 cpu over a 50%% share: %+v", res.Policy)
	}
	res = c.Check(w, Policy{NPlusOne: "zone"})
	if res.Verdict != Unknown {
		t.Errorf("no zones: verdict %s, want unknown: %+v", res.Verdict, res.Policy)
	}
}

func TestCheckUnknownForUnmodelledConstraints(t *testing.T) {
	c := NewCluster([]*corev1.Node{testNode("a", "general", "4", "16Gi")}, nil, Options{PoolLabels: testPools})
	d := testDeployment(1, "1", "1Gi", func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}
	})
	res := c.Check(mustWorkload(t, d), Policy{})
	if res.Verdict != Unknown || res.Verdict.ExitCode() != 3 || !slices.ContainsFunc(res.Reasons, func(r string) bool { return strings.Contains(r, `volume "data"`) }) {
		t.Fatalf("%+v", res)
	}
}

func TestWorkloadFromObjectResolvesTheRollout(t *testing.T) {
	w := mustWorkload(t, testDeployment(10, "1", "1Gi"))
	if w.MaxSurge != 3 || w.MaxUnavailable != 2 {
		t.Errorf("25%%/25%% of 10: surge %d unavailable %d, want 3 and 2", w.MaxSurge, w.MaxUnavailable)
	}
	if _, err := WorkloadFromObject(testDeployment(1, "1", "1Gi", func(d *appsv1.Deployment) { d.Spec.Selector = nil })); err == nil {
		t.Error("a Deployment without selector was accepted")
	}
	if _, err := WorkloadFromObject(&corev1.Pod{}); err == nil {
		t.Error("a Pod was accepted as a workload")
	}
}

// TestNPlusOneLosesLoadedNodes: a large idle node the workload cannot use
// (tainted) is no test of N+1; losing a loaded node is.
func TestNPlusOneLosesLoadedNodes(t *testing.T) {
	nodes := []*corev1.Node{
		testNode("a", "general", "4", "16Gi"), testNode("b", "general", "4", "16Gi"),
		testNode("gpu", "gpu", "32", "128Gi", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "nvidia.com/gpu", Effect: corev1.TaintEffectNoSchedule}}
		}),
	}
	c := NewCluster(nodes, nil, Options{PoolLabels: testPools})
	res := c.Check(mustWorkload(t, testDeployment(6, "1", "1Gi")), Policy{NPlusOne: "node"})
	if res.Verdict != Fail || res.Policy[0].Pass || strings.Contains(res.Policy[0].Detail, "node gpu") {
		t.Fatalf("6 cpu on two 4-cpu nodes cannot survive losing one: %+v", res.Policy)
	}
	// Pods already running elsewhere move too: a replacement is a new pod,
	// not bound to the lost node.
	pods := []*corev1.Pod{runningPod("db-0", "shop", "a", "1", "1Gi", map[string]string{"app": "db"})}
	c = NewCluster(nodes, pods, Options{PoolLabels: testPools})
	res = c.Check(mustWorkload(t, testDeployment(2, "1", "1Gi")), Policy{NPlusOne: "node"})
	if res.Verdict != Pass || !res.Policy[0].Pass {
		t.Fatalf("3 cpu on two 4-cpu nodes survive losing one: %+v", res.Policy)
	}
	for _, m := range res.Margin {
		if m.Resource == corev1.ResourceCPU && m.Allocatable != "8" {
			t.Errorf("cpu margin over %s allocatable, want the 8 the workload may use", m.Allocatable)
		}
	}
}
