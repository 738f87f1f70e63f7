package collector

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/headroomhq/headroom/capacity"
)

// PodCache remembers what aggregation derives from a pod (owner, app,
// requests), keyed by UID and resourceVersion, so that a cycle over a
// datacenter's pods recomputes only the pods that changed. One cache serves
// one cluster; it is not safe for concurrent use.
type PodCache struct {
	m   map[types.UID]*podFacts
	gen uint64
}

type containerFacts struct {
	name           string
	cpuReq, cpuLim int64 // millicores
	memReq, memLim int64 // bytes
}

type podFacts struct {
	rv         string
	gen        uint64
	workload   Workload
	app        string
	cpuMilli   int64 // effective request, as kube-scheduler counts it
	memBytes   int64
	containers []containerFacts // containers and sidecars
}

// NewPodCache returns an empty cache.
func NewPodCache() *PodCache { return &PodCache{m: map[types.UID]*podFacts{}} }

// begin starts a cycle; end drops the pods the cycle did not see.
func (pc *PodCache) begin() { pc.gen++ }

func (pc *PodCache) end() {
	for uid, f := range pc.m {
		if f.gen != pc.gen {
			delete(pc.m, uid)
		}
	}
}

func (pc *PodCache) facts(cached *Pod, a *Aggregation) *podFacts {
	f := pc.m[cached.UID]
	if f != nil && f.rv == cached.ResourceVersion && cached.UID != "" {
		f.gen = pc.gen
		return f
	}
	// A new or changed pod: worked out on the corev1.Pod, with the
	// functions the gate and `headroom top` use.
	p := cached.Object()
	f = &podFacts{rv: p.ResourceVersion, gen: pc.gen}
	f.workload = WorkloadOf(p, a.Owners)
	f.app = AppOf(p, a.AppLabels, f.workload)
	req := capacity.PodRequests(p)
	f.cpuMilli, f.memBytes = req.Cpu().MilliValue(), req.Memory().Value()
	for _, c := range runningContainers(p) {
		f.containers = append(f.containers, containerFacts{name: c.Name,
			cpuReq: c.Resources.Requests.Cpu().MilliValue(), cpuLim: c.Resources.Limits.Cpu().MilliValue(),
			memReq: c.Resources.Requests.Memory().Value(), memLim: c.Resources.Limits.Memory().Value()})
	}
	if p.UID != "" {
		pc.m[p.UID] = f
	}
	return f
}
