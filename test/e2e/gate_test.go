package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/test/localstack"
)

// The deploy gate's differential test: random clusters and workloads, the
// gate's prediction against where kube-scheduler really puts the replicas.
const (
	gateClusterName = "gate"
	// gateDefaultScenarios fits about seven minutes on the 2-core CI machine.
	gateDefaultScenarios = 200
	gateDefaultSeed      = 20261127
	// gateWorkers bounds the concurrent creates of one scenario.
	gateWorkers = 8
	// gateScenarioLabel marks every node and namespace a scenario makes, with
	// the scenario's name (s<seed>-<index>), so leftovers can be found.
	gateScenarioLabel = "headroom.local/gate-scenario"
	// gateGenerationLabel is numeric, for Gt and Lt node affinity.
	gateGenerationLabel = "headroom.local/generation"
	gateDiskLabel       = "disk"
	gateTaintKey        = "dedicated"
	gateRuntimeClass    = "with-overhead"
	gateHostPort        = 8080
	gateApp             = "web"
	gateGPU             = corev1.ResourceName("nvidia.com/gpu")
)

// gateOverhead is the RuntimeClass's podFixed overhead.
var gateOverhead = corev1.ResourceList{
	corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")}

// TestGateDifferential runs seeded random scenarios on the node-less gate
// cluster. Each makes 2–4 node pools (taints, zones, cordons, GPUs, small pod
// limits), fills them partly with pods bound directly, asks the gate where a
// Deployment's replicas go, creates it and compares with the real
// scheduler's placement. It fails unless every prediction is within its
// range and at least 99 % are exact (gateReport). HEADROOM_GATE_SEED and
// HEADROOM_GATE_SCENARIOS change the seed and the count;
// HEADROOM_GATE_SCENARIO=<i> runs scenario i alone.
func TestGateDifferential(t *testing.T) {
	c, cs := gateClient(t)
	seed := gateEnvInt(t, "HEADROOM_GATE_SEED", gateDefaultSeed)
	indices := make([]int, gateEnvInt(t, "HEADROOM_GATE_SCENARIOS", gateDefaultScenarios))
	for i := range indices {
		indices[i] = i
	}
	if v := os.Getenv("HEADROOM_GATE_SCENARIO"); v != "" {
		indices = []int{gateEnvInt(t, "HEADROOM_GATE_SCENARIO", 0)}
	}
	dumpDir := os.Getenv("HEADROOM_GATE_DUMP")
	if dumpDir == "" {
		dumpDir = filepath.Join(os.TempDir(), fmt.Sprintf("headroom-gate-%d", seed))
	}
	t.Logf("seed %d, %d scenarios (HEADROOM_GATE_SEED, HEADROOM_GATE_SCENARIOS, HEADROOM_GATE_SCENARIO); mismatches dumped to %s",
		seed, len(indices), dumpDir)

	ctx := t.Context()
	gateSetup(t, ctx, cs)
	start := time.Now()
	var outcomes []gateOutcome
	for _, i := range indices {
		sc, err := newGateScenario(seed, i, c.KubeletIP)
		if err != nil {
			t.Fatalf("scenario %d: %v", i, err)
		}
		o := runGateScenario(t, ctx, cs, sc)
		if c := o.class(); c != "exact" && c != "unknown" {
			o.dump = dumpGateScenario(dumpDir, sc, o)
		}
		t.Logf("%s %-7s %s (%.1fs)\n    %s", sc.name, o.class(), o.brief(), o.took.total().Seconds(), strings.Join(sc.features, ", "))
		if o.observed.message != "" {
			t.Logf("    scheduler: %s", o.observed.message)
		}
		outcomes = append(outcomes, o)
	}
	gateReport(t, seed, outcomes, time.Since(start))
}

// gateClient is the gate cluster and a clientset on it (clusterClient).
func gateClient(t *testing.T) (localstack.ClusterState, kubernetes.Interface) {
	t.Helper()
	return clusterClient(t, gateClusterName)
}

// clusterClient is the named cluster and a clientset on it without
// client-side throttling: fan-outs are bounded by the tests' workers and the
// stack's apiserver does not throttle. Tests list thousands of pods (those
// earlier scenarios left terminating among them): protobuf decodes them
// faster.
func clusterClient(t *testing.T, name string) (localstack.ClusterState, kubernetes.Interface) {
	t.Helper()
	c, ok := stack.Cluster(name)
	if !ok {
		t.Fatalf("the stack has no %q cluster; test/stack.yaml declares it (an older stack restarts on the next Ensure)", name)
	}
	cfg := c.RESTConfig()
	cfg.QPS = -1
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, cs
}

// gateEnvInt reads a non-negative integer from the environment.
func gateEnvInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// gateSetup makes the RuntimeClass, checks that admission copies its
// overhead into pods, and removes the namespaces and pods an earlier run
// left: a node of a reused name must not inherit pods still bound to it.
func gateSetup(t *testing.T, ctx context.Context, cs kubernetes.Interface) {
	t.Helper()
	rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: gateRuntimeClass}, Handler: "kwok",
		Overhead: &nodev1.Overhead{PodFixed: gateOverhead}}
	if _, err := cs.NodeV1().RuntimeClasses().Create(ctx, rc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("runtime class: %v", err)
	}
	// The RuntimeClass admission plugin (on by default) sets spec.overhead;
	// a server-side dry run shows it without creating anything.
	probe := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "overhead-probe", Namespace: "default"},
		Spec: corev1.PodSpec{RuntimeClassName: ptrTo(gateRuntimeClass),
			Containers: []corev1.Container{{Name: "c", Image: "registry.local/probe:1"}}}}
	eventually(t, 30*time.Second, 200*time.Millisecond, "pod overhead set by RuntimeClass admission", func(ctx context.Context) error {
		got, err := cs.CoreV1().Pods("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return err
		}
		if !gateSameResources(got.Spec.Overhead, gateOverhead) {
			return fmt.Errorf("spec.overhead %v, want %v", got.Spec.Overhead, gateOverhead)
		}
		return nil
	})
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: gateScenarioLabel})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss.Items {
		if err := gateDeleteNamespace(ctx, cs, ns.Name); err != nil {
			t.Fatal(err)
		}
	}
}

// gateScenario is one generated cluster and workload.
type gateScenario struct {
	seed  int
	index int
	name  string // s<seed>-<index>: node-name prefix and label value
	ns    string // s<index>
	pools []gatePool
	nodes []*corev1.Node
	// existing pods are bound to their nodes directly, as a scheduler or a
	// kubelet would have left them.
	existing   []*corev1.Pod
	deployment *appsv1.Deployment
	// features name what the workload uses, for the report.
	features []string
}

type gatePool struct {
	name           string
	count          int
	cpu, memGi     int
	pods, gpu      int
	labels         map[string]string
	taints         []corev1.Taint
	zoneless       bool
	cordoned       []int // node indices
	tainted, isGPU bool
}

func (p gatePool) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d×(%dcpu %dGi", p.name, p.count, p.cpu, p.memGi)
	if p.pods != 110 {
		fmt.Fprintf(&b, " %dpods", p.pods)
	}
	if p.gpu > 0 {
		fmt.Fprintf(&b, " %dgpu", p.gpu)
	}
	b.WriteString(")")
	keys := make([]string, 0, len(p.labels))
	for k := range p.labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", strings.TrimPrefix(k, "headroom.local/"), p.labels[k])
	}
	for _, tn := range p.taints {
		fmt.Fprintf(&b, " taint %s=%s:%s", tn.Key, tn.Value, tn.Effect)
	}
	if p.zoneless {
		b.WriteString(" no-zone")
	}
	if len(p.cordoned) > 0 {
		fmt.Fprintf(&b, " cordoned%v", p.cordoned)
	}
	return b.String()
}

// newGateScenario builds scenario index of seed; the same pair always gives
// the same scenario.
func newGateScenario(seed, index int, kubeletIP string) (*gateScenario, error) {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(index)))
	sc := &gateScenario{seed: seed, index: index, name: fmt.Sprintf("s%d-%d", seed, index), ns: fmt.Sprintf("s%d", index)}
	chance := func(p float64) bool { return r.Float64() < p }
	pick := func(xs ...int) int { return xs[r.IntN(len(xs))] }

	var zones []string
	if chance(0.6) {
		zones = []string{"zone-a", "zone-b", "zone-c"}[:2+r.IntN(2)]
	}
	names := []string{"general", "highmem", "compute", "small", "edge", "batch"}
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for i := range 2 + r.IntN(3) {
		p := gatePool{name: names[i], count: 1 + r.IntN(6), cpu: pick(2, 4, 8, 16), memGi: pick(4, 8, 16, 32, 64),
			pods: 110, labels: map[string]string{}}
		if chance(0.25) {
			p.pods = pick(4, 6, 8, 12)
		}
		if chance(0.6) {
			p.labels[gateDiskLabel] = []string{"ssd", "hdd"}[r.IntN(2)]
		}
		if chance(0.85) {
			p.labels[gateGenerationLabel] = strconv.Itoa(1 + r.IntN(5))
		}
		// The first pool never gets a NoSchedule taint, so that most
		// workloads have somewhere to go.
		if chance(0.2) {
			p.gpu, p.isGPU = pick(2, 4, 8), true
			if i > 0 && chance(0.6) {
				p.taints = append(p.taints, corev1.Taint{Key: string(gateGPU), Value: "present", Effect: corev1.TaintEffectNoSchedule})
			}
		}
		if i > 0 && chance(0.3) {
			p.taints = append(p.taints, corev1.Taint{Key: gateTaintKey, Value: p.name, Effect: corev1.TaintEffectNoSchedule})
			p.tainted = true
		}
		if chance(0.08) {
			p.taints = append(p.taints, corev1.Taint{Key: "spot", Value: "true", Effect: corev1.TaintEffectPreferNoSchedule})
		}
		p.zoneless = zones != nil && chance(0.1)
		sc.pools = append(sc.pools, p)
	}
	if chance(0.15) {
		for range 1 + r.IntN(2) {
			p := &sc.pools[r.IntN(len(sc.pools))]
			if i := r.IntN(p.count); !slices.Contains(p.cordoned, i) {
				p.cordoned = append(p.cordoned, i)
			}
		}
	}

	zoneNext := r.IntN(3)
	for _, p := range sc.pools {
		extended := map[string]string{}
		if p.gpu > 0 {
			extended[string(gateGPU)] = strconv.Itoa(p.gpu)
		}
		objs, err := localstack.NodeObjects(localstack.NodePool{Name: sc.name + "-" + p.name, Count: p.count,
			CPU: strconv.Itoa(p.cpu), Memory: fmt.Sprintf("%dGi", p.memGi), Pods: p.pods,
			Labels: p.labels, Taints: p.taints, Extended: extended}, kubeletIP)
		if err != nil {
			return nil, err
		}
		for i, n := range objs {
			n.Labels[localstack.PoolLabel] = p.name
			n.Labels["node.kubernetes.io/instance-type"] = "kwok-" + p.name
			n.Labels[gateScenarioLabel] = sc.name
			if zones != nil && !p.zoneless {
				n.Labels[corev1.LabelTopologyZone] = zones[zoneNext%len(zones)]
				zoneNext++
			}
			n.Spec.Unschedulable = slices.Contains(p.cordoned, i)
			sc.nodes = append(sc.nodes, n)
		}
	}

	// The workload's traits come first: existing pods are made to meet some
	// of them (host ports, anti-affinity towards the workload).
	w := gateWorkloadTraits{hostPort: chance(0.15), symmetricAnti: chance(0.1)}
	sc.existing = gateExistingPods(r, sc, w)
	sc.deployment, sc.features = gateDeployment(r, sc, w, zones)
	return sc, nil
}

type gateWorkloadTraits struct{ hostPort, symmetricAnti bool }

// gateExistingPods fills nodes partly: every pod fits its node's
// allocatable, counting the pods already put there.
func gateExistingPods(r *rand.Rand, sc *gateScenario, w gateWorkloadTraits) []*corev1.Pod {
	var pods []*corev1.Pod
	pool := map[string]gatePool{}
	for _, p := range sc.pools {
		pool[p.name] = p
	}
	for _, n := range sc.nodes {
		if r.Float64() >= 0.65 {
			continue
		}
		p := pool[n.Labels[localstack.PoolLabel]]
		freeCPU, freeMem, freePods, freeGPU := p.cpu*1000, p.memGi*1024, p.pods, p.gpu
		portUsed := false
		for k := range 1 + r.IntN(3) {
			if freePods == 0 {
				break
			}
			cpu := (int(float64(p.cpu*1000)*(0.05+0.4*r.Float64())) / 50) * 50
			mem := (int(float64(p.memGi*1024)*(0.05+0.4*r.Float64())) / 64) * 64
			if r.Float64() < 0.1 {
				cpu, mem = 0, 0
			}
			overhead := r.Float64() < 0.1
			needCPU, needMem := cpu, mem
			if overhead {
				needCPU, needMem = cpu+250, mem+128
			}
			if needCPU > freeCPU || needMem > freeMem {
				continue
			}
			gpu := 0
			if freeGPU > 0 && r.Float64() < 0.3 {
				gpu = 1 + r.IntN(freeGPU)
			}
			labels := map[string]string{"app": fmt.Sprintf("filler-%d", k)}
			if r.Float64() < 0.3 {
				labels["tier"] = "cache"
			}
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-filler-%d", n.Name, k), Namespace: sc.ns, Labels: labels},
				Spec: corev1.PodSpec{NodeName: n.Name, Containers: []corev1.Container{{
					Name: "filler", Image: "registry.local/filler:1", Resources: gateResources(cpu, mem, gpu)}}},
			}
			if overhead {
				pod.Spec.RuntimeClassName = ptrTo(gateRuntimeClass)
			}
			if w.hostPort && !portUsed && r.Float64() < 0.35 {
				pod.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: gateHostPort, HostPort: gateHostPort, Protocol: corev1.ProtocolTCP}}
				portUsed = true
			}
			if w.symmetricAnti && r.Float64() < 0.3 {
				pod.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
						LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": gateApp}},
						Namespaces:    []string{sc.ns}, TopologyKey: corev1.LabelHostname}}}}
			}
			freeCPU, freeMem, freePods, freeGPU = freeCPU-needCPU, freeMem-needMem, freePods-1, freeGPU-gpu
			pods = append(pods, pod)
		}
	}
	return pods
}

// gateResources is requests of cpu (milli), memory (Mi) and GPUs, zero ones
// left out; GPUs, an extended resource, need equal limits.
func gateResources(cpuMilli, memMi, gpu int) corev1.ResourceRequirements {
	var rr corev1.ResourceRequirements
	if cpuMilli == 0 && memMi == 0 && gpu == 0 {
		return rr
	}
	rr.Requests = corev1.ResourceList{}
	if cpuMilli > 0 {
		rr.Requests[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(cpuMilli), resource.DecimalSI)
	}
	if memMi > 0 {
		rr.Requests[corev1.ResourceMemory] = *resource.NewQuantity(int64(memMi)<<20, resource.BinarySI)
	}
	if gpu > 0 {
		q := *resource.NewQuantity(int64(gpu), resource.DecimalSI)
		rr.Requests[gateGPU] = q
		rr.Limits = corev1.ResourceList{gateGPU: q}
	}
	return rr
}

// gateDeployment draws the workload: 1–40 replicas and a mix of the
// scheduler's constraints.
func gateDeployment(r *rand.Rand, sc *gateScenario, w gateWorkloadTraits, zones []string) (*appsv1.Deployment, []string) {
	chance := func(p float64) bool { return r.Float64() < p }
	pick := func(xs ...int) int { return xs[r.IntN(len(xs))] }
	var features []string
	feature := func(f string, args ...any) { features = append(features, fmt.Sprintf(f, args...)) }
	poolNames := make([]string, len(sc.pools))
	var tainted, gpuPools []gatePool
	for i, p := range sc.pools {
		poolNames[i] = p.name
		if p.tainted {
			tainted = append(tainted, p)
		}
		if p.isGPU {
			gpuPools = append(gpuPools, p)
		}
	}
	randomPools := func(n int) []string {
		s := slices.Clone(poolNames)
		r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		return s[:min(n, len(s))]
	}

	replicas := int32(1 + r.IntN(40))
	cpu := pick(50, 100, 200, 250, 500, 750, 1000, 1500, 2000, 3000, 4000)
	mem := pick(64, 128, 256, 512, 1024, 2048, 3072, 4096, 8192)
	switch x := r.Float64(); {
	case x < 0.04:
		cpu, mem = 0, 0
		feature("no requests")
	case x < 0.07:
		mem = 0
	case x < 0.10:
		cpu = 0
	}
	gpu := 0
	if len(gpuPools) > 0 && chance(0.3) {
		gpu = 1 + r.IntN(2)
	}
	if gpu > 0 {
		feature("%d×(%dm %dMi %dgpu)", replicas, cpu, mem, gpu)
	} else {
		feature("%d×(%dm %dMi)", replicas, cpu, mem)
	}
	labels := map[string]string{"app": gateApp}
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.local/web:1", Resources: gateResources(cpu, mem, gpu)}}}
	if chance(0.2) {
		c2, m2 := pick(50, 100, 250, 500), pick(32, 64, 128, 256)
		spec.Containers = append(spec.Containers, corev1.Container{Name: "helper", Image: "registry.local/helper:1", Resources: gateResources(c2, m2, 0)})
		feature("second container %dm %dMi", c2, m2)
	}
	if chance(0.15) {
		c, m := pick(50, 100, 250, 500), pick(64, 128, 256)
		spec.InitContainers = append(spec.InitContainers, corev1.Container{Name: "proxy", Image: "registry.local/proxy:1",
			RestartPolicy: ptrTo(corev1.ContainerRestartPolicyAlways), Resources: gateResources(c, m, 0)})
		feature("sidecar %dm %dMi", c, m)
	}
	if chance(0.2) {
		c, m := max(cpu*2, 500), max(mem*2, 256)
		if chance(0.5) {
			m = mem / 2
		}
		spec.InitContainers = append(spec.InitContainers, corev1.Container{Name: "migrate", Image: "registry.local/migrate:1",
			Resources: gateResources(c, m, 0)})
		feature("init %dm %dMi", c, m)
	}
	if chance(0.1) {
		// The template carries the overhead admission would set, so the
		// gate sees it before the pods exist; admission accepts an equal one.
		spec.RuntimeClassName = ptrTo(gateRuntimeClass)
		spec.Overhead = gateOverhead.DeepCopy()
		feature("overhead 250m 128Mi")
	}
	if chance(0.2) {
		if chance(0.5) {
			spec.NodeSelector = map[string]string{gateDiskLabel: "ssd"}
		} else {
			spec.NodeSelector = map[string]string{localstack.PoolLabel: randomPools(1)[0]}
		}
		feature("nodeSelector %v", spec.NodeSelector)
	}
	if chance(0.25) {
		var terms []corev1.NodeSelectorTerm
		nTerms := 1
		if chance(0.2) {
			nTerms = 2
		}
		for range nTerms {
			var exprs []corev1.NodeSelectorRequirement
			for range 1 + r.IntN(2) {
				var e corev1.NodeSelectorRequirement
				switch r.IntN(6) {
				case 0:
					e = corev1.NodeSelectorRequirement{Key: localstack.PoolLabel, Operator: corev1.NodeSelectorOpIn, Values: randomPools(1 + r.IntN(2))}
				case 1:
					e = corev1.NodeSelectorRequirement{Key: localstack.PoolLabel, Operator: corev1.NodeSelectorOpNotIn, Values: randomPools(1)}
				case 2:
					e = corev1.NodeSelectorRequirement{Key: gateDiskLabel, Operator: corev1.NodeSelectorOpExists}
				case 3:
					e = corev1.NodeSelectorRequirement{Key: gateDiskLabel, Operator: corev1.NodeSelectorOpDoesNotExist}
				case 4:
					e = corev1.NodeSelectorRequirement{Key: gateGenerationLabel, Operator: corev1.NodeSelectorOpGt, Values: []string{strconv.Itoa(1 + r.IntN(4))}}
				case 5:
					e = corev1.NodeSelectorRequirement{Key: gateGenerationLabel, Operator: corev1.NodeSelectorOpLt, Values: []string{strconv.Itoa(2 + r.IntN(4))}}
				}
				exprs = append(exprs, e)
			}
			terms = append(terms, corev1.NodeSelectorTerm{MatchExpressions: exprs})
		}
		spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
		feature("node affinity %s", gateDescribeTerms(terms))
	}
	if chance(0.1) {
		if spec.Affinity == nil {
			spec.Affinity = &corev1.Affinity{}
		}
		if spec.Affinity.NodeAffinity == nil {
			spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
		}
		p := randomPools(1)[0]
		spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = []corev1.PreferredSchedulingTerm{{
			Weight: int32(pick(10, 50, 100)), Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: localstack.PoolLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{p}}}}}}
		feature("prefers pool %s", p)
	}
	if len(tainted) > 0 && chance(0.5) {
		switch x := r.Float64(); {
		case x < 0.1:
			spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
			feature("tolerates everything")
		case x < 0.4:
			spec.Tolerations = []corev1.Toleration{{Key: gateTaintKey, Operator: corev1.TolerationOpExists}}
			feature("tolerates %s", gateTaintKey)
		default:
			p := tainted[r.IntN(len(tainted))]
			spec.Tolerations = []corev1.Toleration{{Key: gateTaintKey, Operator: corev1.TolerationOpEqual, Value: p.name, Effect: corev1.TaintEffectNoSchedule}}
			feature("tolerates %s=%s", gateTaintKey, p.name)
		}
	}
	if gpu > 0 && chance(0.8) {
		spec.Tolerations = append(spec.Tolerations, corev1.Toleration{Key: string(gateGPU), Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
		feature("tolerates gpu taint")
	}
	if w.hostPort {
		spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: gateHostPort, HostPort: gateHostPort, Protocol: corev1.ProtocolTCP}}
		feature("hostPort %d", gateHostPort)
	}
	if w.symmetricAnti {
		feature("existing pods repel it")
	}
	self := &metav1.LabelSelector{MatchLabels: map[string]string{"app": gateApp}}
	if chance(0.15) {
		gateAffinity(&spec).PodAntiAffinity = &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: self, TopologyKey: corev1.LabelHostname}}}
		feature("anti-affinity to itself per host")
	}
	if chance(0.08) {
		term := corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "cache"}}, TopologyKey: corev1.LabelHostname}
		a := gateAffinity(&spec)
		if chance(0.5) {
			if a.PodAntiAffinity == nil {
				a.PodAntiAffinity = &corev1.PodAntiAffinity{}
			}
			a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, term)
			feature("anti-affinity to tier=cache per host")
		} else {
			if zones != nil && chance(0.5) {
				term.TopologyKey = corev1.LabelTopologyZone
			}
			a.PodAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term}}
			feature("affinity to tier=cache per %s", term.TopologyKey)
		}
	}
	if chance(0.25) {
		keys := []string{corev1.LabelHostname}
		switch {
		case zones != nil && chance(0.2):
			keys = []string{corev1.LabelTopologyZone, corev1.LabelHostname}
		case zones != nil && chance(0.6):
			keys = []string{corev1.LabelTopologyZone}
		}
		for _, key := range keys {
			tsc := corev1.TopologySpreadConstraint{MaxSkew: int32(1 + r.IntN(2)), TopologyKey: key,
				WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: self}
			desc := fmt.Sprintf("spread %s maxSkew %d", strings.TrimPrefix(key, "topology.kubernetes.io/"), tsc.MaxSkew)
			if chance(0.12) {
				tsc.MinDomains = ptrTo(int32(2 + r.IntN(3)))
				desc += fmt.Sprintf(" minDomains %d", *tsc.MinDomains)
			}
			if chance(0.1) {
				tsc.NodeTaintsPolicy = ptrTo(corev1.NodeInclusionPolicyHonor)
				desc += " taints honored"
			}
			if chance(0.1) {
				tsc.NodeAffinityPolicy = ptrTo(corev1.NodeInclusionPolicyIgnore)
				desc += " affinity ignored"
			}
			spec.TopologySpreadConstraints = append(spec.TopologySpreadConstraints, tsc)
			feature("%s", desc)
		}
	}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: gateApp, Namespace: sc.ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}},
	}
	return d, features
}

func gateAffinity(spec *corev1.PodSpec) *corev1.Affinity {
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	return spec.Affinity
}

func gateDescribeTerms(terms []corev1.NodeSelectorTerm) string {
	var ors []string
	for _, t := range terms {
		var ands []string
		for _, e := range t.MatchExpressions {
			ands = append(ands, fmt.Sprintf("%s %s %v", strings.TrimPrefix(e.Key, "headroom.local/"), e.Operator, e.Values))
		}
		ors = append(ors, strings.Join(ands, " and "))
	}
	return strings.Join(ors, " or ")
}

// gatePhases is where a scenario's time went.
type gatePhases struct{ quiesce, nodes, pods, readBack, predict, schedule, cleanup time.Duration }

func (p gatePhases) total() time.Duration {
	return p.quiesce + p.nodes + p.pods + p.readBack + p.predict + p.schedule + p.cleanup
}

// gateReal is where the scheduler put the replicas.
type gateReal struct {
	bound, unschedulable int
	pools                map[string]int
	// message is the scheduler's reason for the first unschedulable pod.
	message string
}

type gateOutcome struct {
	sc        *gateScenario
	result    *capacity.Result
	unknown   string // why the gate gave no answer
	engineErr string
	observed  gateReal
	inRange   bool
	exact     bool
	leftover  int // pods in the model's input bound to nodes of earlier scenarios
	// nodes and pods are the model's input, less the pods of earlier
	// scenarios, for the dump.
	nodes []*corev1.Node
	pods  []*corev1.Pod
	took  gatePhases
	dump  string
}

func (o gateOutcome) class() string {
	switch {
	case o.unknown != "":
		return "unknown"
	case o.exact:
		return "exact"
	case o.inRange:
		return "inrange"
	default:
		return "MISS"
	}
}

// brief is one line: prediction against reality.
func (o gateOutcome) brief() string {
	realPools := gateFormatPools(o.observed.pools, nil)
	if o.unknown != "" {
		return fmt.Sprintf("gate: %s; real %d/%d %s", o.unknown, o.observed.bound, *o.sc.deployment.Spec.Replicas, realPools)
	}
	if o.engineErr != "" {
		return fmt.Sprintf("gate error: %s; real %d %s", o.engineErr, o.observed.bound, realPools)
	}
	r := o.result
	pred := map[string]int{}
	ranges := map[string][2]int{}
	for _, p := range r.Placement {
		pred[p.Pool] = p.Replicas
		ranges[p.Pool] = [2]int{p.Min, p.Max}
	}
	return fmt.Sprintf("predicted %d [%d..%d] %s %s; real %d %s", r.ReplicasFit, r.ReplicasFitMin, r.ReplicasFitMax,
		gateFormatPools(pred, ranges), r.Verdict, o.observed.bound, realPools)
}

func gateFormatPools(counts map[string]int, ranges map[string][2]int) string {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		s := fmt.Sprintf("%s=%d", n, counts[n])
		if rg, ok := ranges[n]; ok && rg[0] != rg[1] {
			s += fmt.Sprintf("[%d..%d]", rg[0], rg[1])
		}
		parts = append(parts, s)
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// runGateScenario sets the scenario up, predicts, deploys, observes and
// cleans up. Harness failures (the stack misbehaving) fail the test.
func runGateScenario(t *testing.T, ctx context.Context, cs kubernetes.Interface, sc *gateScenario) (o gateOutcome) {
	t.Helper()
	o.sc = sc
	lap := time.Now()
	phase := func(d *time.Duration) { now := time.Now(); *d = now.Sub(lap); lap = now }

	gateQuiesce(t, ctx, cs, sc)
	phase(&o.took.quiesce)
	defer func() {
		start := time.Now()
		if err := gateCleanup(cs, sc); err != nil {
			t.Errorf("%s: cleanup: %v", sc.name, err)
		}
		o.took.cleanup = time.Since(start)
	}()

	// One at a time, in name order. The scheduler walks nodes in the order
	// its informer added them (its node tree); the gate walks them in name
	// order, which is the scheduler's after it lists them at start. Nodes
	// created at once reach the informer in the apiserver's order, and a
	// tie between pools then goes by that race (see docs/gate.md).
	for _, n := range slices.SortedFunc(slices.Values(sc.nodes), func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) }) {
		if err := localstack.CreateNode(ctx, cs, n.DeepCopy()); err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
	}
	eventually(t, 60*time.Second, 50*time.Millisecond, sc.name+": nodes Ready", func(ctx context.Context) error {
		return gateNodesReady(ctx, cs, sc)
	})
	phase(&o.took.nodes)

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(gateWorkers)
	for _, p := range sc.existing {
		g.Go(func() error {
			_, err := cs.CoreV1().Pods(sc.ns).Create(gctx, p, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("create pod %s: %w", p.Name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("%s: %v", sc.name, err)
	}
	phase(&o.took.pods)

	// The model's input is read back from the apiserver: every node and
	// every pod of the cluster, including those earlier scenarios left
	// bound to nodes that no longer exist, which both must ignore.
	nodes, pods := gateReadBack(t, ctx, cs, sc)
	phase(&o.took.readBack)
	o.nodes = nodes
	for _, p := range pods {
		switch {
		case p.Namespace == sc.ns:
			o.pods = append(o.pods, p)
		case p.Spec.NodeName != "" && !strings.HasPrefix(p.Spec.NodeName, sc.name+"-"):
			o.leftover++
		}
	}
	o.result, o.unknown, o.engineErr = gatePredict(nodes, pods, sc.deployment)
	phase(&o.took.predict)

	if _, err := cs.AppsV1().Deployments(sc.ns).Create(ctx, sc.deployment.DeepCopy(), metav1.CreateOptions{}); err != nil {
		t.Fatalf("%s: create deployment: %v", sc.name, err)
	}
	o.observed = gateObserve(t, ctx, cs, sc)
	phase(&o.took.schedule)

	if o.unknown == "" && o.engineErr == "" {
		o.inRange, o.exact = gateCompare(o.result, o.observed)
	}
	return o
}

// gateQuiesce waits until the cluster holds nothing of an earlier scenario
// that the scheduler could still act on: no nodes (they are deleted) and no
// unbound pods, which would otherwise land on this scenario's nodes. (Pods an
// earlier run left bound to node names this run reuses went in gateSetup.)
func gateQuiesce(t *testing.T, ctx context.Context, cs kubernetes.Interface, sc *gateScenario) {
	t.Helper()
	eventually(t, 60*time.Second, 100*time.Millisecond, sc.name+": cluster free of earlier scenarios", func(ctx context.Context) error {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, n := range nodes.Items {
			if n.Labels[gateScenarioLabel] == "" {
				t.Fatalf("node %s in the %s cluster was not made by this test; the gate cluster must be left to it", n.Name, gateClusterName)
			}
			if err := cs.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
		unbound, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: gateUnbound})
		if err != nil {
			return err
		}
		for _, p := range unbound.Items {
			if err := cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptrTo[int64](0)}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
		if len(nodes.Items) > 0 || len(unbound.Items) > 0 {
			return fmt.Errorf("%d nodes and %d unbound pods left; deleted", len(nodes.Items), len(unbound.Items))
		}
		return nil
	})
	// The namespace may still be terminating from an earlier run.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sc.ns, Labels: map[string]string{gateScenarioLabel: sc.name}}}
	eventually(t, 120*time.Second, 200*time.Millisecond, sc.name+": namespace "+sc.ns, func(ctx context.Context) error {
		_, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// Terminating, or left by an interrupted run.
			if derr := gateDeleteNamespace(ctx, cs, sc.ns); derr != nil {
				return derr
			}
		}
		return err
	})
	// Pods are refused until the default ServiceAccount exists; making it
	// here spares waiting for the controller-manager.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: sc.ns}}
	if _, err := cs.CoreV1().ServiceAccounts(sc.ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("%s: service account: %v", sc.name, err)
	}
}

// gateNodesReady wants every scenario node Ready with the node controller's
// taints settled: no not-ready or unreachable taint, and the unschedulable
// taint on cordoned nodes.
func gateNodesReady(ctx context.Context, cs kubernetes.Interface, sc *gateScenario) error {
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: gateScenarioLabel + "=" + sc.name})
	if err != nil {
		return err
	}
	if len(list.Items) != len(sc.nodes) {
		return fmt.Errorf("%d of %d nodes exist", len(list.Items), len(sc.nodes))
	}
	for _, n := range list.Items {
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
		}
		if !ready {
			return fmt.Errorf("node %s not Ready", n.Name)
		}
		cordonTaint := false
		for _, tn := range n.Spec.Taints {
			switch tn.Key {
			case corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable:
				return fmt.Errorf("node %s still tainted %s", n.Name, tn.Key)
			case corev1.TaintNodeUnschedulable:
				cordonTaint = true
			}
		}
		if n.Spec.Unschedulable && !cordonTaint {
			return fmt.Errorf("cordoned node %s lacks the %s taint yet", n.Name, corev1.TaintNodeUnschedulable)
		}
	}
	return nil
}

// gateReadBack lists the whole cluster, as the scheduler's informers see it.
func gateReadBack(t *testing.T, ctx context.Context, cs kubernetes.Interface, sc *gateScenario) ([]*corev1.Node, []*corev1.Pod) {
	t.Helper()
	nodeList, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("%s: %v", sc.name, err)
	}
	podList, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("%s: %v", sc.name, err)
	}
	nodes := make([]*corev1.Node, len(nodeList.Items))
	for i := range nodeList.Items {
		nodes[i] = &nodeList.Items[i]
	}
	pods := make([]*corev1.Pod, len(podList.Items))
	mine := 0
	for i := range podList.Items {
		pods[i] = &podList.Items[i]
		if pods[i].Namespace == sc.ns {
			mine++
			if pods[i].Spec.RuntimeClassName != nil && pods[i].Spec.Overhead == nil {
				t.Fatalf("%s: pod %s has runtime class %s but no overhead", sc.name, pods[i].Name, *pods[i].Spec.RuntimeClassName)
			}
		}
	}
	if len(nodes) != len(sc.nodes) || mine != len(sc.existing) {
		t.Fatalf("%s: read back %d nodes and %d pods, created %d and %d", sc.name, len(nodes), mine, len(sc.nodes), len(sc.existing))
	}
	return nodes, pods
}

// gatePredict asks the gate. A panic or an error in the engine is an answer
// of its own (engineErr), not a harness failure.
func gatePredict(nodes []*corev1.Node, pods []*corev1.Pod, d *appsv1.Deployment) (res *capacity.Result, unknown, engineErr string) {
	defer func() {
		if p := recover(); p != nil {
			res, unknown, engineErr = nil, "", fmt.Sprintf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	w, err := capacity.WorkloadFromObject(d.DeepCopy())
	if err != nil {
		return nil, "", "WorkloadFromObject: " + err.Error()
	}
	if w == nil {
		return nil, "WorkloadFromObject returned no workload", ""
	}
	cl := capacity.NewCluster(nodes, pods, capacity.Options{Name: gateClusterName, PoolLabels: []string{localstack.PoolLabel}})
	res = cl.Check(w, capacity.Policy{})
	if res == nil {
		return nil, "", "Check returned nil"
	}
	if res.Verdict == capacity.Unknown {
		return res, "unknown: " + strings.Join(res.Reasons, "; "), ""
	}
	return res, "", ""
}

// gateObserve waits until the ReplicaSet has made every replica and each
// pod is bound or marked Unschedulable by the scheduler, the same in two
// polls in a row, and counts bound replicas per pool.
func gateObserve(t *testing.T, ctx context.Context, cs kubernetes.Interface, sc *gateScenario) gateReal {
	t.Helper()
	want := int(*sc.deployment.Spec.Replicas)
	poolOf := map[string]string{}
	for _, n := range sc.nodes {
		poolOf[n.Name] = n.Labels[localstack.PoolLabel]
	}
	selector := labels.SelectorFromSet(sc.deployment.Spec.Selector.MatchLabels).String()
	var observed gateReal
	last := ""
	eventually(t, 90*time.Second, 100*time.Millisecond, sc.name+": every replica bound or unschedulable", func(ctx context.Context) error {
		rss, err := cs.AppsV1().ReplicaSets(sc.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		if len(rss.Items) != 1 || int(rss.Items[0].Status.Replicas) != want {
			return fmt.Errorf("%d replica sets, want one with status.replicas %d", len(rss.Items), want)
		}
		pods, err := cs.CoreV1().Pods(sc.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		r := gateReal{pools: map[string]int{}}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			if p.Spec.NodeName != "" {
				pool, ok := poolOf[p.Spec.NodeName]
				if !ok {
					return fmt.Errorf("pod %s bound to %s, not a node of this scenario", p.Name, p.Spec.NodeName)
				}
				r.bound++
				r.pools[pool]++
				continue
			}
			unsched := false
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
					unsched = true
					if r.message == "" {
						r.message = c.Message
					}
				}
			}
			if !unsched {
				return fmt.Errorf("pod %s neither bound nor unschedulable yet", p.Name)
			}
			r.unschedulable++
		}
		if r.bound+r.unschedulable != want {
			return fmt.Errorf("%d pods bound and %d unschedulable, want %d in all", r.bound, r.unschedulable, want)
		}
		key := fmt.Sprint(r.bound, r.pools)
		if key != last {
			last = key
			return errors.New("not yet the same in two polls")
		}
		observed = r
		return nil
	})
	return observed
}

// gateCompare: in range when the real count lies in [ReplicasFitMin,
// ReplicasFitMax] and every pool's in its [Min, Max]; exact when the real
// count is ReplicasFit and every pool's its Replicas.
func gateCompare(res *capacity.Result, observed gateReal) (inRange, exact bool) {
	inRange = res.ReplicasFitMin <= observed.bound && observed.bound <= res.ReplicasFitMax
	exact = observed.bound == res.ReplicasFit
	seen := map[string]bool{}
	for _, p := range res.Placement {
		seen[p.Pool] = true
		got := observed.pools[p.Pool]
		inRange = inRange && p.Min <= got && got <= p.Max
		exact = exact && got == p.Replicas
	}
	for pool, got := range observed.pools {
		if !seen[pool] && got > 0 {
			inRange, exact = false, false
		}
	}
	return inRange, exact
}

// gateCleanup deletes the namespace as a user would (its pods bound to the
// scenario's nodes linger, terminating, until the pod garbage collector
// removes them: the next scenarios run with them present) and the nodes.
// Unbound pods go at once, so the scheduler cannot place them on the next
// scenario's nodes.
func gateCleanup(cs kubernetes.Interface, sc *gateScenario) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := make(chan error, 1)
	go func() {
		nodes <- cs.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{},
			metav1.ListOptions{LabelSelector: gateScenarioLabel + "=" + sc.name})
	}()
	var errs []error
	// The namespace first: once it is terminating, the ReplicaSet can no
	// longer replace the unbound pods deleted next.
	if err := cs.CoreV1().Namespaces().Delete(ctx, sc.ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	if err := cs.CoreV1().Pods(sc.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptrTo[int64](0)},
		metav1.ListOptions{FieldSelector: gateUnbound}); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(append(errs, <-nodes)...)
}

// gateUnbound selects pods no scheduler has bound yet.
var gateUnbound = fields.OneTermEqualSelector("spec.nodeName", "").String()

// gateDeleteNamespace deletes a namespace and force-deletes its pods, so it
// goes without waiting for the pod garbage collector.
func gateDeleteNamespace(ctx context.Context, cs kubernetes.Interface, ns string) error {
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	err := cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptrTo[int64](0)}, metav1.ListOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// dumpGateScenario writes what the gate was given (the nodes and the
// scenario's pods as read back; pods of earlier scenarios, on nodes no longer
// there, left out) and what happened, for replaying a mismatch without the
// stack. It returns the file, or why not.
func dumpGateScenario(dir string, sc *gateScenario, o gateOutcome) string {
	type dump struct {
		Seed       int                `json:"seed"`
		Index      int                `json:"index"`
		Features   []string           `json:"features"`
		Nodes      []*corev1.Node     `json:"nodes"`
		Pods       []*corev1.Pod      `json:"pods"`
		Deployment *appsv1.Deployment `json:"deployment"`
		Result     *capacity.Result   `json:"result"`
		Unknown    string             `json:"unknown,omitempty"`
		EngineErr  string             `json:"engineError,omitempty"`
		RealBound  int                `json:"realBound"`
		RealPools  map[string]int     `json:"realPools"`
		Scheduler  string             `json:"schedulerMessage,omitempty"`
	}
	b, err := json.MarshalIndent(dump{sc.seed, sc.index, sc.features, o.nodes, o.pods, sc.deployment,
		o.result, o.unknown, o.engineErr, o.observed.bound, o.observed.pools, o.observed.message}, "", "  ")
	if err != nil {
		return "(not dumped: " + err.Error() + ")"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "(not dumped: " + err.Error() + ")"
	}
	path := filepath.Join(dir, sc.name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "(not dumped: " + err.Error() + ")"
	}
	return path
}

// gateReport prints the rates, the time per scenario and every mismatch,
// and fails the test below the targets.
func gateReport(t *testing.T, seed int, outcomes []gateOutcome, took time.Duration) {
	t.Helper()
	var known, inRange, exact, leftoverScenarios, maxLeftover, all, some, none int
	var single, singleExact int // scenarios the gate gives one answer
	var unknown, misses []gateOutcome
	var totals []time.Duration
	var sum gatePhases
	for _, o := range outcomes {
		totals = append(totals, o.took.total())
		sum.quiesce += o.took.quiesce
		sum.nodes += o.took.nodes
		sum.pods += o.took.pods
		sum.readBack += o.took.readBack
		sum.predict += o.took.predict
		sum.schedule += o.took.schedule
		sum.cleanup += o.took.cleanup
		switch replicas := int(*o.sc.deployment.Spec.Replicas); {
		case o.observed.bound == replicas:
			all++
		case o.observed.bound > 0:
			some++
		default:
			none++
		}
		if o.leftover > 0 {
			leftoverScenarios++
			maxLeftover = max(maxLeftover, o.leftover)
		}
		if o.unknown != "" {
			unknown = append(unknown, o)
			continue
		}
		known++
		if o.inRange {
			inRange++
		}
		if o.exact {
			exact++
		} else {
			misses = append(misses, o)
		}
		if gateSingleAnswer(o.result) {
			single++
			if o.exact {
				singleExact++
			}
		}
	}
	n := len(outcomes)
	if n == 0 {
		t.Fatal("no scenarios ran")
	}
	slices.Sort(totals)
	avg := func(d time.Duration) string { return (d / time.Duration(n)).Round(time.Millisecond).String() }
	pct := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "gate differential, seed %d: %d scenarios in %s\n", seed, n, took.Round(time.Second))
	fmt.Fprintf(&b, "  per scenario: mean %s, median %s, max %s (quiesce %s, nodes %s, pods %s, read back %s, predict %s, schedule %s, cleanup %s)\n",
		avg(took), totals[n/2].Round(10*time.Millisecond), totals[n-1].Round(10*time.Millisecond),
		avg(sum.quiesce), avg(sum.nodes), avg(sum.pods), avg(sum.readBack), avg(sum.predict), avg(sum.schedule), avg(sum.cleanup))
	fmt.Fprintf(&b, "  the scheduler placed all replicas in %d, some in %d, none in %d\n", all, some, none)
	fmt.Fprintf(&b, "  answered %d, unknown %d\n", known, len(unknown))
	fmt.Fprintf(&b, "  in range %d/%d = %.1f %%, exact %d/%d = %.1f %% (where the gate gives one answer %d/%d; where it gives a range %d/%d)\n",
		inRange, known, pct(inRange, known), exact, known, pct(exact, known), singleExact, single, exact-singleExact, known-single)
	fmt.Fprintf(&b, "  pods of earlier scenarios, bound to deleted nodes, present in %d scenarios (up to %d at once)\n", leftoverScenarios, maxLeftover)
	for _, o := range unknown {
		fmt.Fprintf(&b, "  unknown %s: %s\n      %s\n", o.sc.name, o.brief(), strings.Join(o.sc.features, ", "))
	}
	for _, o := range misses {
		fmt.Fprintf(&b, "  %s %s: %s\n", o.class(), o.sc.name, o.brief())
		for _, p := range o.sc.pools {
			fmt.Fprintf(&b, "      pool %s\n", p)
		}
		fmt.Fprintf(&b, "      workload %s; %d existing pods\n", strings.Join(o.sc.features, ", "), len(o.sc.existing))
		if o.observed.message != "" {
			fmt.Fprintf(&b, "      scheduler: %s\n", o.observed.message)
		}
		if o.result != nil && len(o.result.Reasons) > 0 {
			fmt.Fprintf(&b, "      gate: %s\n", strings.Join(o.result.Reasons, "; "))
		}
		fmt.Fprintf(&b, "      dump: %s\n", o.dump)
	}
	t.Log("\n" + b.String())
	switch {
	case known == 0:
		t.Errorf("the gate answered none of %d scenarios", n)
	case inRange < known:
		t.Errorf("in range %.1f %%, want 100 %%", pct(inRange, known))
	}
	// The targets: in range in every scenario, exact in 99 %.
	// Exactness needs the scheduler's node order to be the gate's (the
	// scenario creates its nodes one by one, in name order) and its filter
	// goroutines not to interleave where nodes of two pools tie (the
	// gate's answer is the order one goroutine finds them in; on the test
	// stack, with at most 24 nodes, the parallel scheduler found them so in
	// 24 reruns of the three scenarios of the default seed that tie).
	if exact*100 < known*99 {
		t.Errorf("exact %.1f %%, want at least 99 %%", pct(exact, known))
	}
}

// gateSingleAnswer reports whether the gate predicted one count and one
// split over the pools, not a range.
func gateSingleAnswer(res *capacity.Result) bool {
	if res == nil || res.ReplicasFitMin != res.ReplicasFitMax {
		return false
	}
	for _, p := range res.Placement {
		if p.Min != p.Max {
			return false
		}
	}
	return true
}

// gateSameResources compares resource lists by quantity.
func gateSameResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for name, q := range b {
		if v, ok := a[name]; !ok || v.Cmp(q) != 0 {
			return false
		}
	}
	return true
}

func ptrTo[T any](v T) *T { return &v }
