package capacity

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// TopBy is what `headroom top` groups by.
type TopBy string

// Groupings.
const (
	TopNode      TopBy = "node"
	TopPool      TopBy = "pool"
	TopNamespace TopBy = "namespace"
	TopApp       TopBy = "app"
)

// TopBys lists the groupings.
var TopBys = []TopBy{TopNode, TopPool, TopNamespace, TopApp}

// TopRow is one node, pool, namespace or app: what it requests, is
// limited to and uses, against what it may use.
type TopRow struct {
	Cluster string `json:"cluster"`
	// Name is the node's, pool's or namespace's; an app's is
	// "namespace/app".
	Name   string  `json:"name"`
	Nodes  int     `json:"nodes,omitempty"`
	Pods   int     `json:"pods"`
	CPU    TopUsed `json:"cpu"`
	Memory TopUsed `json:"memory"`
}

// TopUsed is one resource of a row, in cores or bytes. Allocatable is the
// row's nodes' for a node or pool, the cluster's for a namespace or app:
// the percentages are of it. Usage is nil when the metrics API gave none.
type TopUsed struct {
	Requests    float64  `json:"requests"`
	Limits      float64  `json:"limits"`
	Usage       *float64 `json:"usage"`
	Allocatable float64  `json:"allocatable"`
}

// TopInput is one cluster's objects and usage, as the metrics API reports
// it (nil maps when it is not served).
type TopInput struct {
	Cluster string
	Nodes   []*corev1.Node
	Pods    []*corev1.Pod
	// NodeUsage and PodUsage are cpu and memory by node name and by
	// "namespace/pod".
	NodeUsage map[string]corev1.ResourceList
	PodUsage  map[string]corev1.ResourceList
	// PoolLabels name a node's pool (first present); AppOf a pod's app.
	PoolLabels []string
	AppOf      func(*corev1.Pod) string
}

// Top groups a cluster's pods and nodes by by. Pods that have terminated
// hold nothing and are left out; requests are counted as kube-scheduler
// counts them (PodRequests), limits as kubectl describe node does.
func Top(in TopInput, by TopBy) []TopRow {
	var clusterCPU, clusterMem float64
	for _, n := range in.Nodes {
		clusterCPU += cores(*n.Status.Allocatable.Cpu())
		clusterMem += n.Status.Allocatable.Memory().AsApproximateFloat64()
	}
	rows := map[string]*TopRow{}
	row := func(name string) *TopRow {
		r := rows[name]
		if r == nil {
			r = &TopRow{Cluster: in.Cluster, Name: name}
			rows[name] = r
		}
		return r
	}
	nodePool := map[string]string{}
	for _, n := range in.Nodes {
		nodePool[n.Name] = PoolOf(n, in.PoolLabels)
		if by != TopNode && by != TopPool {
			continue
		}
		key := n.Name
		if by == TopPool {
			key = nodePool[n.Name]
		}
		r := row(key)
		r.Nodes++
		r.CPU.Allocatable += cores(*n.Status.Allocatable.Cpu())
		r.Memory.Allocatable += n.Status.Allocatable.Memory().AsApproximateFloat64()
		if u, ok := in.NodeUsage[n.Name]; ok {
			r.addUsage(u)
		}
	}
	for _, p := range in.Pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		var key string
		switch by {
		case TopNode:
			if key = p.Spec.NodeName; key == "" {
				continue // pending: on no node yet
			}
		case TopPool:
			pool, ok := nodePool[p.Spec.NodeName]
			if !ok {
				continue
			}
			key = pool
		case TopNamespace:
			key = p.Namespace
		default:
			app := p.Name
			if in.AppOf != nil {
				app = in.AppOf(p)
			}
			key = p.Namespace + "/" + app
		}
		r := row(key)
		r.Pods++
		req := PodRequests(p)
		lim := resourcehelper.PodLimits(p, resourcehelper.PodResourcesOptions{})
		r.CPU.Requests += cores(*req.Cpu())
		r.Memory.Requests += req.Memory().AsApproximateFloat64()
		r.CPU.Limits += cores(*lim.Cpu())
		r.Memory.Limits += lim.Memory().AsApproximateFloat64()
		if by == TopNamespace || by == TopApp {
			r.CPU.Allocatable, r.Memory.Allocatable = clusterCPU, clusterMem
			if u, ok := in.PodUsage[p.Namespace+"/"+p.Name]; ok {
				r.addUsage(u)
			}
		}
	}
	out := make([]TopRow, 0, len(rows))
	for _, r := range rows {
		r.CPU = r.CPU.rounded()
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b TopRow) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// addUsage adds the cpu and memory u holds; a resource u lacks leaves the
// row's as it was.
func (r *TopRow) addUsage(u corev1.ResourceList) {
	if q, ok := u[corev1.ResourceCPU]; ok {
		r.CPU.Usage = plus(r.CPU.Usage, cores(q))
	}
	if q, ok := u[corev1.ResourceMemory]; ok {
		r.Memory.Usage = plus(r.Memory.Usage, q.AsApproximateFloat64())
	}
}

// cores is a cpu quantity in cores, to the millicore, so that sums of
// requests print as written (0.3, not 0.30000000000000004).
func cores(q resource.Quantity) float64 { return float64(q.MilliValue()) / 1000 }

// rounded rounds sums of cores to the millicore.
func (u TopUsed) rounded() TopUsed {
	r := func(v float64) float64 { return math.Round(v*1000) / 1000 }
	u.Requests, u.Limits, u.Allocatable = r(u.Requests), r(u.Limits), r(u.Allocatable)
	if u.Usage != nil {
		v := r(*u.Usage)
		u.Usage = &v
	}
	return u
}

func plus(p *float64, v float64) *float64 {
	if p == nil {
		return &v
	}
	s := *p + v
	return &s
}

// TopSorts are the keys rows may be sorted by; numbers sort largest first.
var TopSorts = []string{"name", "cpu.requests", "cpu.limits", "cpu.usage", "memory.requests", "memory.limits", "memory.usage", "pods"}

// SortTop sorts rows by key (one of TopSorts), ties by cluster and name.
func SortTop(rows []TopRow, key string) error {
	var value func(TopRow) float64
	switch key {
	case "name":
	case "pods":
		value = func(r TopRow) float64 { return float64(r.Pods) }
	default:
		res, what, ok := strings.Cut(key, ".")
		if !ok || (res != "cpu" && res != "memory") {
			return fmt.Errorf("sort key %q: want one of %s", key, strings.Join(TopSorts, ", "))
		}
		pick := func(r TopRow) TopUsed {
			if res == "cpu" {
				return r.CPU
			}
			return r.Memory
		}
		switch what {
		case "requests":
			value = func(r TopRow) float64 { return pick(r).Requests }
		case "limits":
			value = func(r TopRow) float64 { return pick(r).Limits }
		case "usage":
			value = func(r TopRow) float64 {
				if u := pick(r).Usage; u != nil {
					return *u
				}
				return -1
			}
		default:
			return fmt.Errorf("sort key %q: want one of %s", key, strings.Join(TopSorts, ", "))
		}
	}
	slices.SortStableFunc(rows, func(a, b TopRow) int {
		if value != nil {
			if c := cmp.Compare(value(b), value(a)); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(a.Name, b.Name))
	})
	return nil
}
