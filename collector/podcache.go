package collector

import (
	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/collector/decode"
)

// PodCache remembers what aggregation derives from a pod (owner, app,
// requests) so that a cycle over a datacenter's pods works out only the
// pods that changed. The facts are kept on the informer's Pod itself,
// which the informer replaces whenever the pod changes, so they are never
// stale and go when the pod goes; the PodCache marks whose they are, so
// that two aggregations of different app labels never read each other's.
//
// (A cache of its own, a map by UID swept every cycle, cost a 1,000-node
// cycle a random lookup per pod and a sweep over 30,000 entries:
// BenchmarkClusterJoin1000Nodes.)
type PodCache struct{ _ byte } // not zero-sized: two caches are two addresses

type containerFacts struct {
	name           string
	id             string // decode.ContainerID, the key of Cycle.ContainerUsage
	cpuReq, cpuLim int64  // millicores
	memReq, memLim int64  // bytes
}

type podFacts struct {
	cache      *PodCache // whose facts these are
	workload   Workload
	app        string
	cpuMilli   int64 // effective request, as kube-scheduler counts it
	memBytes   int64
	containers []containerFacts // containers and sidecars
}

// NewPodCache returns a cache.
func NewPodCache() *PodCache { return new(PodCache) }

func (pc *PodCache) facts(cached *Pod, a *Aggregation) *podFacts {
	if f := cached.facts.Load(); f != nil && f.cache == pc {
		return f
	}
	// A new or changed pod: worked out on the corev1.Pod, with the
	// functions the gate and `headroom top` use.
	p := cached.Object()
	f := &podFacts{cache: pc}
	f.workload = WorkloadOf(p, a.Owners)
	f.app = AppOf(p, a.AppLabels, f.workload)
	req := capacity.PodRequests(p)
	f.cpuMilli, f.memBytes = req.Cpu().MilliValue(), req.Memory().Value()
	for _, c := range runningContainers(p) {
		f.containers = append(f.containers, containerFacts{name: c.Name, id: decode.ContainerID(p.Namespace, p.Name, c.Name),
			cpuReq: c.Resources.Requests.Cpu().MilliValue(), cpuLim: c.Resources.Limits.Cpu().MilliValue(),
			memReq: c.Resources.Requests.Memory().Value(), memLim: c.Resources.Limits.Memory().Value()})
	}
	cached.facts.Store(f)
	return f
}
