package capacity

import (
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Resources are held as int64 vectors indexed by position: cpu in
// millicores, then memory, ephemeral-storage and the pod count, then every
// extended resource some node offers, by name. Checks run over thousands of
// nodes per replica, so the hot loop compares integers, not Quantities.
const (
	rCPU = iota
	rMemory
	rEphemeral
	rPods
	nFixed
)

// Options shape how a Cluster is modelled.
type Options struct {
	// Name is the cluster's name, copied into results.
	Name string
	// PoolLabels are the node labels that name a node's pool, first found
	// wins (config's collection.poolLabels).
	PoolLabels []string
	// PercentageOfNodesToScore is the scheduler's setting of that name: 0
	// (its default) adapts to the cluster's size, 100 filters and scores
	// every node.
	PercentageOfNodesToScore int
	// Parallelism is the scheduler's setting of that name: 0 is its
	// default, 16. It sets how the Filter goroutines split the nodes, and
	// so which of several equally scored nodes is bound (heapPick); with 1
	// that choice is no longer random and every seed gives one answer.
	Parallelism int
}

// cnode is a node as the model keeps it.
type cnode struct {
	node  *corev1.Node
	pool  string
	alloc []int64
	// taints the scheduler filters on (NoSchedule, NoExecute) and scores
	// on (PreferNoSchedule).
	hard, prefer []corev1.Taint
}

// cpod is a pod bound to a node.
type cpod struct {
	pod   *corev1.Pod
	node  int32
	req   []int64
	nz    [2]int64 // cpu and memory with the scheduler's defaults for unset requests
	ports []hostPort
	// terminating pods still hold resources but no longer count for
	// topology spreading.
	terminating bool
}

// Cluster is the scheduler's view of one cluster at one moment: nodes with
// what their pods already hold. It is read-only once built; Check simulates
// on a copy, so one Cluster serves concurrent checks.
type Cluster struct {
	opts      Options
	resources []corev1.ResourceName
	resIndex  map[corev1.ResourceName]int
	nodes     []cnode
	nodeIndex map[string]int32
	// order is the sequence in which the scheduler walks nodes: zones
	// round-robin, as its node tree lists them.
	order []int32
	pods  []cpod
	// podsOn lists the pods bound to each node.
	podsOn [][]int32
	// byNamespace lists the pods of each namespace, for selector counts.
	byNamespace map[string][]int32
	// antiAffinity lists pods with required pod anti-affinity: they repel
	// incoming pods that match their terms.
	antiAffinity []int32
	// baseReq and baseNZ are the per-node sums of the pods' requests, laid
	// out node-major (node i at [i*len(resources)]).
	baseReq []int64
	baseNZ  [][2]int64
	// allocFlat holds every node's allocatable in the same layout; each
	// cnode.alloc is a window on it, so the hot loops read memory in order.
	allocFlat []int64
	// poolID numbers each node's pool, for the hot loops to compare.
	poolID  []int32
	pending int

	mu         sync.Mutex
	topologies map[string]*topology
}

// NewCluster compiles nodes and pods into a Cluster. Pods bound to nodes not
// listed, and terminated pods, hold nothing.
func NewCluster(nodes []*corev1.Node, pods []*corev1.Pod, opts Options) *Cluster {
	c := &Cluster{
		opts:        opts,
		resources:   []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourcePods},
		resIndex:    map[corev1.ResourceName]int{},
		nodeIndex:   make(map[string]int32, len(nodes)),
		byNamespace: map[string][]int32{},
	}
	for i, r := range c.resources {
		c.resIndex[r] = i
	}
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b *corev1.Node) int { return compareStrings(a.Name, b.Name) })
	var extended []string
	for _, n := range sorted {
		for r := range n.Status.Allocatable {
			if _, ok := c.resIndex[r]; !ok {
				c.resIndex[r] = -1
				extended = append(extended, string(r))
			}
		}
	}
	slices.Sort(extended)
	for _, r := range extended {
		c.resIndex[corev1.ResourceName(r)] = len(c.resources)
		c.resources = append(c.resources, corev1.ResourceName(r))
	}
	c.nodes = make([]cnode, 0, len(sorted))
	for _, n := range sorted {
		if _, dup := c.nodeIndex[n.Name]; dup {
			continue
		}
		cn := cnode{node: n, pool: PoolOf(n, opts.PoolLabels), alloc: c.vector(n.Status.Allocatable)}
		for _, t := range n.Spec.Taints {
			switch t.Effect {
			case corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute:
				cn.hard = append(cn.hard, t)
			case corev1.TaintEffectPreferNoSchedule:
				cn.prefer = append(cn.prefer, t)
			}
		}
		c.nodeIndex[n.Name] = int32(len(c.nodes))
		c.nodes = append(c.nodes, cn)
	}
	c.order = zoneOrder(c.nodes)
	c.poolID = make([]int32, len(c.nodes))
	ids := map[string]int32{}
	for i, n := range c.nodes {
		id, ok := ids[n.pool]
		if !ok {
			id = int32(len(ids))
			ids[n.pool] = id
		}
		c.poolID[i] = id
	}

	R := len(c.resources)
	c.allocFlat = make([]int64, len(c.nodes)*R)
	for i := range c.nodes {
		w := c.allocFlat[i*R : (i+1)*R : (i+1)*R]
		copy(w, c.nodes[i].alloc)
		c.nodes[i].alloc = w
	}
	c.baseReq = make([]int64, len(c.nodes)*R)
	c.baseNZ = make([][2]int64, len(c.nodes))
	c.podsOn = make([][]int32, len(c.nodes))
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if p.Spec.NodeName == "" {
			c.pending++
			continue
		}
		ni, ok := c.nodeIndex[p.Spec.NodeName]
		if !ok {
			continue
		}
		req, _ := c.podVector(p)
		cp := cpod{pod: p, node: ni, req: req, nz: nonZero(p), ports: hostPorts(p), terminating: p.DeletionTimestamp != nil}
		idx := int32(len(c.pods))
		c.pods = append(c.pods, cp)
		c.byNamespace[p.Namespace] = append(c.byNamespace[p.Namespace], idx)
		c.podsOn[ni] = append(c.podsOn[ni], idx)
		if a := p.Spec.Affinity; a != nil && a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
			c.antiAffinity = append(c.antiAffinity, idx)
		}
		row := c.baseReq[int(ni)*R : int(ni+1)*R]
		for i, v := range req {
			row[i] += v
		}
		c.baseNZ[ni][0] += cp.nz[0]
		c.baseNZ[ni][1] += cp.nz[1]
	}
	return c
}

// vector converts a resource list to the cluster's layout. Resources no
// node offers are dropped; podVector reports them.
func (c *Cluster) vector(rl corev1.ResourceList) []int64 {
	v := make([]int64, len(c.resources))
	for name, q := range rl {
		if i, ok := c.resIndex[name]; ok && i >= 0 {
			v[i] = quantityValue(name, q)
		}
	}
	return v
}

// podVector is a pod's effective request in the cluster's layout, counting
// the pod itself, plus the requested resources no node offers.
func (c *Cluster) podVector(p *corev1.Pod) (v []int64, missing []corev1.ResourceName) {
	if v, ok := c.plainVector(p); ok {
		return v, nil
	}
	return c.helperVector(p)
}

// plainPod says whether a pod's effective request is the sum of its
// containers' requests: a pod still running with no init containers,
// overhead or pod-level resources, as most pods are. Their sums are taken
// by plainVector and plainNonZero without the maps component-helpers'
// PodRequests builds, which were most of a large cluster's model build
// (BenchmarkNewCluster5000Nodes); every other pod goes through PodRequests.
// TestPlainRequestsMatchPodRequests holds the two equal.
func plainPod(p *corev1.Pod) bool {
	return len(p.Spec.InitContainers) == 0 && p.Spec.Overhead == nil && p.Spec.Resources == nil &&
		p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// plainVector is podVector for a plain pod; false for any other, or one
// that requests a resource no node offers (podVector names it).
func (c *Cluster) plainVector(p *corev1.Pod) ([]int64, bool) {
	if !plainPod(p) {
		return nil, false
	}
	sums := make([]resource.Quantity, len(c.resources))
	for i := range p.Spec.Containers {
		for name, q := range p.Spec.Containers[i].Resources.Requests {
			j, ok := c.resIndex[name]
			switch {
			case !ok && q.Sign() > 0:
				return nil, false
			case ok && j >= 0:
				sums[j].Add(q)
			}
		}
	}
	v := make([]int64, len(c.resources))
	for j := range sums {
		v[j] = quantityValue(c.resources[j], sums[j])
	}
	v[rPods] = 1
	return v, true
}

// helperVector is podVector through component-helpers' PodRequests.
func (c *Cluster) helperVector(p *corev1.Pod) (v []int64, missing []corev1.ResourceName) {
	rl := PodRequests(p)
	v = c.vector(rl)
	v[rPods] = 1
	for _, name := range sortedNames(rl) {
		if _, ok := c.resIndex[name]; !ok && quantityValue(name, rl[name]) > 0 {
			missing = append(missing, name)
		}
	}
	return v, missing
}

func quantityValue(name corev1.ResourceName, q resource.Quantity) int64 {
	if name == corev1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// The scheduler scores pods without requests as if they asked for 100m cpu
// and 200MB of memory (LeastAllocated), so that they still spread.
const (
	defaultMilliCPURequest = 100
	defaultMemoryRequest   = 200 * 1024 * 1024
)

func nonZero(p *corev1.Pod) [2]int64 {
	if !plainPod(p) {
		return helperNonZero(p)
	}
	var cpu, mem resource.Quantity
	for i := range p.Spec.Containers {
		req := p.Spec.Containers[i].Resources.Requests
		if q, ok := req[corev1.ResourceCPU]; ok {
			cpu.Add(q)
		} else {
			cpu.Add(*resource.NewMilliQuantity(defaultMilliCPURequest, resource.DecimalSI))
		}
		if q, ok := req[corev1.ResourceMemory]; ok {
			mem.Add(q)
		} else {
			mem.Add(*resource.NewQuantity(defaultMemoryRequest, resource.DecimalSI))
		}
	}
	return [2]int64{cpu.MilliValue(), mem.Value()}
}

// helperNonZero is nonZero through component-helpers' PodRequests.
func helperNonZero(p *corev1.Pod) [2]int64 {
	rl := PodRequestsNonZero(p)
	cpu, mem := rl[corev1.ResourceCPU], rl[corev1.ResourceMemory]
	return [2]int64{cpu.MilliValue(), mem.Value()}
}

// hostPort is one host port a pod binds.
type hostPort struct {
	protocol corev1.Protocol
	ip       string
	port     int32
}

func (a hostPort) conflicts(b hostPort) bool {
	if a.port != b.port || a.protocol != b.protocol {
		return false
	}
	return a.ip == b.ip || a.ip == "0.0.0.0" || b.ip == "0.0.0.0"
}

// hostPorts lists the host ports of a pod's containers and sidecars, as the
// scheduler's NodePorts plugin collects them.
func hostPorts(p *corev1.Pod) []hostPort {
	var out []hostPort
	add := func(c corev1.Container) {
		for _, cp := range c.Ports {
			if cp.HostPort <= 0 {
				continue
			}
			hp := hostPort{protocol: cp.Protocol, ip: cp.HostIP, port: cp.HostPort}
			if hp.protocol == "" {
				hp.protocol = corev1.ProtocolTCP
			}
			if hp.ip == "" {
				hp.ip = "0.0.0.0"
			}
			out = append(out, hp)
		}
	}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(c)
		}
	}
	for _, c := range p.Spec.Containers {
		add(c)
	}
	return out
}

// zoneOrder lists node indexes as kube-scheduler's node tree does: one node
// from each zone in turn, zones in order of first appearance.
func zoneOrder(nodes []cnode) []int32 {
	var zones []string
	byZone := map[string][]int32{}
	for i, n := range nodes {
		z := n.node.Labels[corev1.LabelTopologyRegion] + ":\x00:" + n.node.Labels[corev1.LabelTopologyZone]
		if _, ok := byZone[z]; !ok {
			zones = append(zones, z)
		}
		byZone[z] = append(byZone[z], int32(i))
	}
	out := make([]int32, 0, len(nodes))
	for len(out) < len(nodes) {
		for _, z := range zones {
			if l := byZone[z]; len(l) > 0 {
				out = append(out, l[0])
				byZone[z] = l[1:]
			}
		}
	}
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
