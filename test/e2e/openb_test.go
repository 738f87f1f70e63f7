package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/test/fixtures"
	"github.com/headroomhq/headroom/test/localstack"
	"github.com/headroomhq/headroom/test/openb"
)

// Replays run on the gate cluster, whose scheduler scores every node
// (percentageOfNodesToScore 100 in test/stack.yaml): with the adaptive
// default it would sample a rotating window of nodes, and where that window
// starts depends on every pod the cluster scheduled before.
const (
	replayLabel     = "headroom.local/replay"
	replayNamespace = "replay"
)

// serialClusterName is the cluster whose scheduler filters in one goroutine
// (parallelism 1 in test/stack.yaml): there the OpenB replay's outcome does
// not depend on goroutine timing, and must equal the gate's exactly.
const serialClusterName = "serial"

// replayClient is the gate cluster's clientset (its scheduler scores every
// node).
func replayClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	_, cs := replayCluster(t, gateClusterName)
	return cs
}

// replayCluster is clusterClient for a cluster whose scheduler scores every
// node, as a replay needs.
func replayCluster(t *testing.T, name string) (localstack.ClusterState, kubernetes.Interface) {
	t.Helper()
	c, cs := clusterClient(t, name)
	if c.Spec.PercentageOfNodesToScore != 100 {
		t.Fatalf("cluster %q: percentageOfNodesToScore %d, the replay needs 100 (test/stack.yaml)", name, c.Spec.PercentageOfNodesToScore)
	}
	return c, cs
}

// replayReset removes what an earlier replay left: its namespace and nodes.
func replayReset(t *testing.T, ctx context.Context, cs kubernetes.Interface, run string) {
	t.Helper()
	err := cs.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: replayLabel})
	if err != nil {
		t.Fatalf("delete replay nodes: %v", err)
	}
	ns := replayNamespace + "-" + run
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("delete namespace %s: %v", ns, err)
	}
	// Pods of a deleted namespace go away with it; a new run uses a new
	// namespace name, so there is no waiting for the old one.
}

// replayNodes creates the nodes one at a time, in order, then a barrier
// node the scheduler must have seen (a probe pod binds to it) before
// anything is submitted: its watch delivers nodes in order, so it has then
// seen them all. The order matters: the scheduler walks nodes (of one zone)
// in the order it learnt of them, and where scores tie that walk decides;
// created concurrently, they reached it in an order of their own, and a
// serial scheduler put 6,679 of 7,150 pods on another node than the gate's.
// The barrier is tainted so that only the probe lands there, and named
// after the run: pods of an earlier run's namespace may still be bound to
// an earlier barrier while that namespace is deleted.
func replayNodes(t *testing.T, ctx context.Context, cs kubernetes.Interface, nodes []*corev1.Node, ns string) {
	t.Helper()
	for _, n := range nodes {
		if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create node %s: %v", n.Name, err)
		}
	}
	barrier := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-barrier", Labels: map[string]string{replayLabel: "barrier", corev1.LabelHostname: ns + "-barrier"}},
		Spec:       corev1.NodeSpec{Taints: []corev1.Taint{{Key: replayLabel, Value: "barrier", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi"), corev1.ResourcePods: resource.MustParse("1")}},
	}
	barrier.Status.Capacity = barrier.Status.Allocatable
	if _, err := cs.CoreV1().Nodes().Create(ctx, barrier, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create barrier node: %v", err)
	}
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "replay-probe", Namespace: ns},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{corev1.LabelHostname: barrier.Name},
			Tolerations:  append(slices.Clone(openb.Tolerations), corev1.Toleration{Key: replayLabel, Operator: corev1.TolerationOpExists}),
			Containers:   []corev1.Container{{Name: "probe", Image: "probe"}},
		},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, probe, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create probe pod: %v", err)
	}
	eventually(t, time.Minute, 200*time.Millisecond, "the scheduler sees the replay's nodes", func(ctx context.Context) error {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, probe.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Spec.NodeName == "" {
			return fmt.Errorf("probe pod not bound yet")
		}
		return nil
	})
}

// submitPaced creates the pods in order, one at a time, each once the
// scheduler has decided the one before (bound, or marked unschedulable),
// and returns the node of each (empty for pending). The scheduler thus
// decides every pod against exactly the pods before it, as the gate's
// replay does; submitted all at once, the order in which it took them
// from its queue and retried the unschedulable ones was its own.
func submitPaced(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns string, pods []*corev1.Pod) map[string]string {
	t.Helper()
	changed := make(chan struct{}, 1)
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods()
	lister := inf.Lister()
	notify := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: notify, UpdateFunc: func(_, o any) { notify(o) }}); err != nil {
		t.Fatal(err)
	}
	ictx, stop := context.WithCancel(ctx)
	factory.Start(ictx.Done())
	defer func() { stop(); factory.Shutdown() }()
	factory.WaitForCacheSync(ictx.Done())

	out := make(map[string]string, len(pods))
	for i, p := range pods {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
		deadline := time.NewTimer(time.Minute)
		for {
			if got, err := lister.Pods(ns).Get(p.Name); err == nil && (got.Spec.NodeName != "" || unschedulable(got)) {
				out[p.Name] = got.Spec.NodeName
				break
			}
			select {
			case <-changed:
			case <-deadline.C:
				t.Fatalf("pod %d of %d (%s): not decided by the scheduler within a minute", i+1, len(pods), p.Name)
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
		deadline.Stop()
	}
	// What the scheduler leaves is the final state: a pod it first found
	// unschedulable and bound on a retry would count as bound (with no pod
	// ever removed, none should be).
	late := 0
	for _, p := range pods {
		if got, err := lister.Pods(ns).Get(p.Name); err == nil && got.Spec.NodeName != out[p.Name] {
			out[p.Name] = got.Spec.NodeName
			late++
		}
	}
	t.Logf("%d pods changed after the scheduler first decided them", late)
	return out
}

// confine labels the replay's nodes and keeps its pods on them, away from
// whatever other tests left in the cluster.
func confine(nodes []*corev1.Node, specs ...*corev1.PodSpec) {
	for _, n := range nodes {
		n.Labels[replayLabel] = "true"
	}
	for _, s := range specs {
		s.NodeSelector = map[string]string{replayLabel: "true"}
	}
}

func unschedulable(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

// TestOpenBReplay submits the 8,152 real pod requests of the openb trace, in
// creation order, to kube-scheduler over the trace's 1,523 real nodes, and
// compares the pods it leaves Pending with the gate's replay of the same
// sequence. Where nodes score alike (same cpu and memory, different GPUs)
// the scheduler takes the one its parallel filtering found first, an order
// that varies with timing, so some pods' fate is itself random:
// the model replays with several tie-breaking seeds, and the real Pending
// set must lie between the pods pending in every run and those pending in
// any run, but for at most one pod in a hundred (see the end of
// openbReplay; the exact check is TestOpenBReplaySerial).
func TestOpenBReplay(t *testing.T) {
	openbReplay(t, gateClusterName)
}

// TestOpenBReplaySerial is the same replay on a scheduler of parallelism 1,
// which filters the nodes in one goroutine, in its walk's order: with no
// timing left in its choices, the pods it leaves Pending must be exactly
// those the gate predicts, and every bound pod on the node the gate names.
func TestOpenBReplaySerial(t *testing.T) {
	openbReplay(t, serialClusterName)
}

// openbReplay runs the OpenB replay on the named cluster.
func openbReplay(t *testing.T, cluster string) {
	// 9-11 minutes under -race on the CI machine. Set HEADROOM_OPENB=0 to
	// skip it.
	if os.Getenv("HEADROOM_OPENB") == "0" {
		t.Skip("HEADROOM_OPENB=0: the OpenB replay is skipped")
	}
	nodes, err := openb.Nodes(fixtures.Path(t, "openb/openb_node_list_all_node.csv"))
	if err != nil {
		t.Fatal(err)
	}
	run := fmt.Sprintf("openb-%d", time.Now().Unix())
	ns := replayNamespace + "-" + run
	// Nodes are named after the run: the pods of an earlier run outlive
	// its nodes for a while (their namespace is deleted, not yet gone),
	// and a pod bound to a node name counts against a new node of that
	// name. (A second run on the same stack, with the trace's own names,
	// saw 3,528 pods pending instead of about 1,000.) The prefix keeps
	// the nodes' order, in which the scheduler walks them.
	for _, n := range nodes {
		n.Name = run + "-" + n.Name
		n.Labels[corev1.LabelHostname] = n.Name
	}
	pods, err := openb.Pods(fixtures.Path(t, "openb/openb_pod_list_default.csv"), ns)
	if err != nil {
		t.Fatal(err)
	}
	specs := make([]*corev1.PodSpec, len(pods))
	for i, p := range pods {
		specs[i] = &p.Spec
	}
	confine(nodes, specs...)
	spec, cs := replayCluster(t, cluster)
	serial := spec.Spec.Parallelism == 1
	ctx := t.Context()
	replayReset(t, ctx, cs, run)
	t.Cleanup(func() { replayReset(t, context.Background(), cs, run) })
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The prediction, before anything is submitted.
	// Twelve seeds sample the tie-breaking of a parallel scheduler; a serial
	// one leaves the seed nothing to decide, and three show that it does not.
	seeds := 12
	if serial {
		seeds = 3
	}
	start := time.Now()
	c := capacity.NewCluster(nodes, nil, capacity.Options{PoolLabels: []string{"headroom.local/pool"},
		PercentageOfNodesToScore: 100, Parallelism: spec.Spec.Parallelism})
	predicted := make([][]string, seeds)
	for s := range seeds {
		predicted[s] = c.Replay(pods, uint64(s))
	}
	modelTook := time.Since(start) / time.Duration(seeds)

	start = time.Now()
	replayNodes(t, ctx, cs, nodes, ns)
	nodesTook := time.Since(start)
	start = time.Now()
	real := submitPaced(t, ctx, cs, ns, pods)
	schedTook := time.Since(start)

	always, sometimes := map[string]bool{}, map[string]bool{}
	pendingCounts := make([]int, seeds)
	for i, p := range pods {
		n := 0
		for s := range seeds {
			if predicted[s][i] == "" {
				n++
				pendingCounts[s]++
			}
		}
		if n == seeds {
			always[p.Name] = true
		}
		if n > 0 {
			sometimes[p.Name] = true
		}
	}
	realPending := map[string]bool{}
	for name, node := range real {
		if node == "" {
			realPending[name] = true
		}
	}
	var missed, extra []string // pending for sure but bound; pending but never predicted
	for name := range always {
		if !realPending[name] {
			missed = append(missed, name)
		}
	}
	for name := range realPending {
		if !sometimes[name] {
			extra = append(extra, name)
		}
	}
	best := len(pods)
	for s := range seeds {
		diff := 0
		for i, p := range pods {
			if (predicted[s][i] == "") != realPending[p.Name] {
				diff++
			}
		}
		best = min(best, diff)
	}
	t.Logf("openb replay: %d nodes, %d pods; kube-scheduler left %d pending; the gate predicts %d always pending, %d pending under some tie-break (runs: %v)",
		len(nodes), len(pods), len(realPending), len(always), len(sometimes), pendingCounts)
	t.Logf("closest single run differs from the scheduler on %d pods; outside the predicted range: %d bound that the gate always leaves pending, %d pending that the gate never does",
		best, len(missed), len(extra))
	t.Logf("timing: gate replay %.2fs per run; nodes created in %.1fs; pods submitted one at a time and decided by the scheduler in %.1fs",
		modelTook.Seconds(), nodesTook.Seconds(), schedTook.Seconds())
	if serial {
		openbExact(t, pods, predicted, real)
		return
	}
	// Twelve runs sample the parallel scheduler's tie-breaking, they do
	// not bound it: how its two filter goroutines interleave depends on the
	// machine's load. Six runs here had 0 or 1 pod outside the range; one
	// CI run, with the serial cluster's replay being cleaned up beside it,
	// had 22 (the scheduler left 1,036 pending, the seeds 988-1,017), a
	// cascade from one early tie. The exact check is TestOpenBReplaySerial,
	// where no timing is left; this one allows one pod in a hundred, and
	// catches a rule the model gets wrong, which puts hundreds outside.
	if outside := len(missed) + len(extra); outside > len(pods)/100 {
		slices.Sort(missed)
		slices.Sort(extra)
		t.Errorf("%d pods outside the predicted range (at most %d allowed): bound but predicted pending %v; pending but predicted bound %v",
			outside, len(pods)/100, head(missed, 20), head(extra, 20))
	}
}

// openbExact checks a replay on a scheduler of parallelism 1: every seed
// of the gate gives one answer, and the scheduler's is the same, pod by
// pod: pending, or bound to the same node.
func openbExact(t *testing.T, pods []*corev1.Pod, predicted [][]string, real map[string]string) {
	t.Helper()
	for s := 1; s < len(predicted); s++ {
		if !slices.Equal(predicted[s], predicted[0]) {
			t.Fatalf("parallelism 1: the gate's seeds %d and 0 disagree; its tie-break should not depend on the seed", s)
		}
	}
	var pending, bound []string // the scheduler's outcome differs from the gate's: left pending, bound elsewhere
	samePending, sameNode := 0, 0
	for i, p := range pods {
		want, got := predicted[0][i], real[p.Name]
		switch {
		case want == got && got == "":
			samePending++
		case want == got:
			sameNode++
		case (want == "") != (got == ""):
			pending = append(pending, fmt.Sprintf("%s (gate %q, scheduler %q)", p.Name, want, got))
		default:
			bound = append(bound, fmt.Sprintf("%s (gate %s, scheduler %s)", p.Name, want, got))
		}
	}
	t.Logf("parallelism 1: %d pods pending in both, %d bound to the same node; %d pending in one and bound in the other, %d bound to different nodes",
		samePending, sameNode, len(pending), len(bound))
	if len(pending) > 0 {
		t.Errorf("the Pending set differs from the gate's on %d pods: %v", len(pending), head(pending, 20))
	}
	if len(bound) > 0 {
		t.Errorf("%d pods bound to another node than the gate's: %v", len(bound), head(bound, 20))
	}
}

func head(s []string, n int) []string { return s[:min(n, len(s))] }

// TestGate200ReplicasAgainstTheScheduler times the comparison: 200
// replicas placed by the real scheduler (until all are bound) against the
// gate's answer for the same Deployment on the same nodes.
func TestGate200ReplicasAgainstTheScheduler(t *testing.T) {
	cs := replayClient(t)
	ctx := t.Context()
	run := fmt.Sprintf("r200-%d", time.Now().Unix())
	ns := replayNamespace + "-" + run
	replayReset(t, ctx, cs, run)
	t.Cleanup(func() { replayReset(t, context.Background(), cs, run) })
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var nodes []*corev1.Node
	for i := range 100 {
		alloc := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("16"), corev1.ResourceMemory: resource.MustParse("64Gi"), corev1.ResourcePods: resource.MustParse("110")}
		if i%4 == 0 {
			alloc[corev1.ResourceCPU], alloc[corev1.ResourceMemory] = resource.MustParse("32"), resource.MustParse("256Gi")
		}
		name := fmt.Sprintf("r200-%03d", i)
		nodes = append(nodes, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name, "headroom.local/pool": []string{"highmem", "general"}[min(i%4, 1)]}},
			Status:     corev1.NodeStatus{Allocatable: alloc, Capacity: alloc},
		})
	}
	lbl := map[string]string{"app": "r200"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "r200", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](200),
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{Tolerations: openb.Tolerations, Containers: []corev1.Container{{Name: "app", Image: "app",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("3Gi")}}}}},
			},
		},
	}
	confine(nodes, &d.Spec.Template.Spec)
	replayNodes(t, ctx, cs, nodes, ns)
	w, err := capacity.WorkloadFromObject(d)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := capacity.NewCluster(nodes, nil, capacity.Options{PoolLabels: []string{"headroom.local/pool"}, PercentageOfNodesToScore: 100}).Check(w, capacity.Policy{})
	gateTook := time.Since(start)

	start = time.Now()
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var perPool map[string]int
	eventually(t, 5*time.Minute, 100*time.Millisecond, "200 replicas bound", func(ctx context.Context) error {
		list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=r200", ResourceVersion: "0"})
		if err != nil {
			return err
		}
		perPool = map[string]int{}
		for _, p := range list.Items {
			if p.Spec.NodeName != "" {
				perPool[[]string{"highmem", "general"}[min(nodeIndex(p.Spec.NodeName)%4, 1)]]++
			}
		}
		if n := perPool["highmem"] + perPool["general"]; n < 200 {
			return fmt.Errorf("%d of 200 bound", n)
		}
		return nil
	})
	schedTook := time.Since(start)
	predicted := map[string]int{}
	for _, p := range res.Placement {
		predicted[p.Pool] = p.Replicas
	}
	t.Logf("200 replicas on 100 nodes: the scheduler bound all in %.2fs, the gate answered in %.1fms (%.0f× faster); placement real %v, predicted %v",
		schedTook.Seconds(), float64(gateTook.Microseconds())/1000, schedTook.Seconds()/gateTook.Seconds(), perPool, predicted)
	if res.ReplicasFit != 200 || !maps.Equal(perPool, predicted) {
		t.Errorf("gate: %d fit, placement %v; scheduler placed %v", res.ReplicasFit, predicted, perPool)
	}
}

func nodeIndex(name string) int {
	var i int
	fmt.Sscanf(name, "r200-%d", &i)
	return i
}
