package collector

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/headroomhq/headroom"
	"github.com/headroomhq/headroom/capacity"
)

// Measurements written by the collector; docs/schema.md documents them.
const (
	MeasurementApp     = "app"
	MeasurementNode    = "node"
	MeasurementCluster = "cluster"
	MeasurementPod     = "pod"
)

// Usage is what a container, pod or node used over the last interval.
type Usage struct {
	CPUCores    float64
	HasCPU      bool
	MemoryBytes uint64
	HasMemory   bool
}

// Cycle is one collection cycle of one cluster: the objects the informers
// held and the usage scraped, ready to be aggregated into points.
type Cycle struct {
	Cluster string
	Time    time.Time // every point of the cycle carries it
	Nodes   []*corev1.Node
	Pods    []*Pod
	// NodeUsage (by node name) and ContainerUsage (by decode.ContainerID)
	// hold what was scraped; a node missing from Scraped failed this cycle.
	NodeUsage      map[string]Usage
	ContainerUsage map[string]Usage
	Scraped        map[string]bool
}

// Aggregation says how pods become app series.
type Aggregation struct {
	AppLabels      []string
	PoolLabels     []string
	PodMeasurement bool
	Owners         OwnerLookup
	// Cache, when set, keeps per-pod facts across cycles; without it every
	// pod is worked out afresh.
	Cache *PodCache
}

type appKey struct {
	namespace, app, kind, workload, container string
}

type appSums struct {
	replicas       int64
	cpuSum, cpuMax float64
	cpuN           int
	memSum, memMax uint64
	memN           int
	cpuReq, cpuLim int64 // millicores
	memReq, memLim int64
	restarts       int64
}

// Points aggregates a cycle into app, node and cluster points (and pod
// points when asked). App series carry no host or pod tag, so a pod that
// moves to another node stays in its series; replicas are summed, never
// written side by side (InfluxDB would keep only the last of equal series).
func (a Aggregation) Points(c Cycle) []headroom.Point {
	cache := a.Cache
	if cache == nil {
		cache = NewPodCache()
	}
	apps := map[appKey]*appSums{}
	var points []headroom.Point
	facts := make([]*podFacts, len(c.Pods))
	for i, pod := range c.Pods {
		facts[i] = cache.facts(pod, &a)
		if pod.Phase() != corev1.PodRunning || pod.NodeName == "" {
			continue
		}
		f := facts[i]
		for _, ctr := range f.containers {
			k := appKey{pod.Namespace, f.app, f.workload.Kind, f.workload.Name, ctr.name}
			s := apps[k]
			if s == nil {
				s = &appSums{}
				apps[k] = s
			}
			restarts := pod.restarts(ctr.name)
			s.replicas++
			s.restarts += int64(restarts)
			s.cpuReq += ctr.cpuReq
			s.cpuLim += ctr.cpuLim
			s.memReq += ctr.memReq
			s.memLim += ctr.memLim
			u, ok := c.ContainerUsage[ctr.id]
			if ok && u.HasCPU {
				s.cpuSum += u.CPUCores
				s.cpuMax = max(s.cpuMax, u.CPUCores)
				s.cpuN++
			}
			if ok && u.HasMemory {
				s.memSum += u.MemoryBytes
				s.memMax = max(s.memMax, u.MemoryBytes)
				s.memN++
			}
			if a.PodMeasurement {
				points = append(points, podPoint(c, pod, f.app, f.workload, ctr.name, u, restarts))
			}
		}
	}
	keys := make([]appKey, 0, len(apps))
	for k := range apps {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return lessAppKey(keys[i], keys[j]) })
	for _, k := range keys {
		s := apps[k]
		fields := []headroom.Field{
			{Key: "replicas", Value: s.replicas},
			{Key: "restarts", Value: s.restarts},
			{Key: "cpu_request_cores_sum", Value: float64(s.cpuReq) / 1000},
			{Key: "cpu_limit_cores_sum", Value: float64(s.cpuLim) / 1000},
			{Key: "memory_request_bytes_sum", Value: s.memReq},
			{Key: "memory_limit_bytes_sum", Value: s.memLim},
		}
		if s.cpuN > 0 {
			fields = append(fields,
				headroom.Field{Key: "cpu_usage_cores_sum", Value: s.cpuSum},
				headroom.Field{Key: "cpu_usage_cores_max", Value: s.cpuMax},
				headroom.Field{Key: "cpu_usage_replicas", Value: int64(s.cpuN)})
		}
		if s.memN > 0 {
			fields = append(fields,
				headroom.Field{Key: "memory_working_set_bytes_sum", Value: int64(s.memSum)},
				headroom.Field{Key: "memory_working_set_bytes_max", Value: int64(s.memMax)},
				headroom.Field{Key: "memory_usage_replicas", Value: int64(s.memN)})
		}
		points = append(points, headroom.Point{
			Measurement: MeasurementApp,
			Tags: []headroom.Tag{{Key: "app", Value: k.app}, {Key: "cluster", Value: c.Cluster},
				{Key: "container", Value: k.container}, {Key: "namespace", Value: k.namespace},
				{Key: "workload", Value: k.workload}, {Key: "workload_kind", Value: k.kind}},
			Fields: fields,
			Time:   c.Time,
		})
	}
	return append(points, a.nodeAndClusterPoints(c, facts)...)
}

// nodeAndClusterPoints sums, per node, what its pods request (facts holds
// each pod's effective request, in the order of c.Pods), as
// capacity.NewSnapshot does, without recomputing unchanged pods.
func (a Aggregation) nodeAndClusterPoints(c Cycle, facts []*podFacts) []headroom.Point {
	type sums struct{ cpuMilli, memBytes, pods int64 }
	index := make(map[string]int, len(c.Nodes))
	for i, n := range c.Nodes {
		index[n.Name] = i
	}
	perNode := make([]sums, len(c.Nodes))
	var tot struct {
		ready, scraped, failed, running, pending int64
		cpuAlloc, cpuReq, cpuUsed                float64
		memAlloc, memReq, memUsed                int64
		podsAlloc, pods                          int64
	}
	for i, p := range c.Pods {
		switch p.Phase() {
		case corev1.PodRunning:
			tot.running++
		case corev1.PodPending:
			tot.pending++
		case corev1.PodSucceeded, corev1.PodFailed:
			continue // terminated pods hold nothing
		}
		j, ok := index[p.NodeName]
		if !ok {
			continue
		}
		perNode[j].cpuMilli += facts[i].cpuMilli
		perNode[j].memBytes += facts[i].memBytes
		perNode[j].pods++
	}
	var points []headroom.Point
	for i, n := range c.Nodes {
		cpuA := n.Status.Allocatable[corev1.ResourceCPU]
		memA := n.Status.Allocatable[corev1.ResourceMemory]
		podsA := n.Status.Allocatable[corev1.ResourcePods]
		r := perNode[i]
		ready := hasCondition(n, corev1.NodeReady)
		fields := []headroom.Field{
			{Key: "cpu_allocatable_cores", Value: float64(cpuA.MilliValue()) / 1000},
			{Key: "cpu_requested_cores", Value: float64(r.cpuMilli) / 1000},
			{Key: "memory_allocatable_bytes", Value: memA.Value()},
			{Key: "memory_requested_bytes", Value: r.memBytes},
			{Key: "pods_allocatable", Value: podsA.Value()},
			{Key: "pods", Value: r.pods},
			{Key: "ready", Value: ready},
			{Key: "unschedulable", Value: n.Spec.Unschedulable},
			{Key: "scraped", Value: c.Scraped[n.Name]},
			{Key: "memory_pressure", Value: hasCondition(n, corev1.NodeMemoryPressure)},
			{Key: "disk_pressure", Value: hasCondition(n, corev1.NodeDiskPressure)},
			{Key: "pid_pressure", Value: hasCondition(n, corev1.NodePIDPressure)},
		}
		if u, ok := c.NodeUsage[n.Name]; ok {
			if u.HasCPU {
				fields = append(fields, headroom.Field{Key: "cpu_usage_cores", Value: u.CPUCores})
				tot.cpuUsed += u.CPUCores
			}
			if u.HasMemory {
				fields = append(fields, headroom.Field{Key: "memory_working_set_bytes", Value: int64(u.MemoryBytes)})
				tot.memUsed += int64(u.MemoryBytes)
			}
		}
		points = append(points, headroom.Point{
			Measurement: MeasurementNode,
			Tags: []headroom.Tag{{Key: "cluster", Value: c.Cluster}, {Key: "node", Value: n.Name},
				{Key: "pool", Value: capacity.PoolOf(n, a.PoolLabels)}},
			Fields: fields,
			Time:   c.Time,
		})
		if ready {
			tot.ready++
		}
		if c.Scraped[n.Name] {
			tot.scraped++
		} else {
			tot.failed++
		}
		tot.cpuAlloc += float64(cpuA.MilliValue()) / 1000
		tot.cpuReq += float64(r.cpuMilli) / 1000
		tot.memAlloc += memA.Value()
		tot.memReq += r.memBytes
		tot.podsAlloc += podsA.Value()
		tot.pods += r.pods
	}
	points = append(points, headroom.Point{
		Measurement: MeasurementCluster,
		Tags:        []headroom.Tag{{Key: "cluster", Value: c.Cluster}},
		Fields: []headroom.Field{
			{Key: "nodes", Value: int64(len(c.Nodes))},
			{Key: "nodes_ready", Value: tot.ready},
			{Key: "nodes_scraped", Value: tot.scraped},
			{Key: "nodes_failed", Value: tot.failed},
			{Key: "cpu_allocatable_cores", Value: tot.cpuAlloc},
			{Key: "cpu_requested_cores", Value: tot.cpuReq},
			{Key: "cpu_usage_cores", Value: tot.cpuUsed},
			{Key: "memory_allocatable_bytes", Value: tot.memAlloc},
			{Key: "memory_requested_bytes", Value: tot.memReq},
			{Key: "memory_working_set_bytes", Value: tot.memUsed},
			{Key: "pods_allocatable", Value: tot.podsAlloc},
			{Key: "pods", Value: tot.pods},
			{Key: "pods_running", Value: tot.running},
			{Key: "pods_pending", Value: tot.pending},
		},
		Time: c.Time,
	})
	return points
}

func podPoint(c Cycle, pod *Pod, app string, w Workload, container string, u Usage, restarts int32) headroom.Point {
	fields := []headroom.Field{{Key: "restarts", Value: int64(restarts)}, {Key: "node", Value: pod.NodeName}}
	if u.HasCPU {
		fields = append(fields, headroom.Field{Key: "cpu_usage_cores", Value: u.CPUCores})
	}
	if u.HasMemory {
		fields = append(fields, headroom.Field{Key: "memory_working_set_bytes", Value: int64(u.MemoryBytes)})
	}
	return headroom.Point{
		Measurement: MeasurementPod,
		Tags: []headroom.Tag{{Key: "app", Value: app}, {Key: "cluster", Value: c.Cluster},
			{Key: "container", Value: container}, {Key: "namespace", Value: pod.Namespace},
			{Key: "pod", Value: pod.Name}, {Key: "workload", Value: w.Name}, {Key: "workload_kind", Value: w.Kind}},
		Fields: fields,
		Time:   c.Time,
	}
}

// runningContainers are the containers that run for the pod's life: its
// containers and its restartable init containers (sidecars).
func runningContainers(pod *corev1.Pod) []corev1.Container {
	out := pod.Spec.Containers
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = append(out[:len(out):len(out)], c)
		}
	}
	return out
}

func hasCondition(n *corev1.Node, t corev1.NodeConditionType) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func lessAppKey(a, b appKey) bool {
	if a.namespace != b.namespace {
		return a.namespace < b.namespace
	}
	if a.app != b.app {
		return a.app < b.app
	}
	if a.workload != b.workload {
		return a.workload < b.workload
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.container < b.container
}
