package capacity

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/headroomhq/headroom/config"
)

// OptionsOf is the model of the named cluster whose kube-scheduler runs
// with s (headroomd's clusters[].scheduler, the deploy config's
// gate.scheduler), its pools named by poolLabels.
func OptionsOf(name string, poolLabels []string, s config.Scheduler) Options {
	return Options{Name: name, PoolLabels: poolLabels,
		PercentageOfNodesToScore: s.PercentageOfNodesToScore, Parallelism: s.Parallelism}
}

// PolicyOf is a configured gate policy (headroomd's gate.policy, the
// deploy config's gate.policy) as Check takes it.
func PolicyOf(p config.GatePolicy) Policy {
	out := Policy{NPlusOne: p.NPlusOne}
	if len(p.MaxShare) > 0 {
		out.MaxShare = make(map[corev1.ResourceName]float64, len(p.MaxShare))
		for name, share := range p.MaxShare {
			out.MaxShare[corev1.ResourceName(name)] = share
		}
	}
	return out
}

// policy evaluates the configured headroom policy on a simulated deploy.
func (c *Cluster) policy(o outcome, p Policy) []PolicyCheck {
	var out []PolicyCheck
	switch p.NPlusOne {
	case "":
	case "node":
		out = append(out, c.nPlusOneNode(o))
	case "zone":
		out = append(out, c.nPlusOneZone(o))
	default:
		out = append(out, PolicyCheck{Name: "n+1", Detail: fmt.Sprintf("cannot evaluate: unknown nPlusOne %q (want node or zone)", p.NPlusOne)})
	}
	for _, name := range slices.Sorted(maps.Keys(p.MaxShare)) {
		out = append(out, c.maxShare(o.s, name, p.MaxShare[name]))
	}
	return out
}

func (c *Cluster) maxShare(s *sim, name corev1.ResourceName, share float64) PolicyCheck {
	pc := PolicyCheck{Name: "max-share " + string(name)}
	r, ok := c.resIndex[name]
	if !ok || r < 0 {
		pc.Detail = fmt.Sprintf("cannot evaluate: no node offers %s", name)
		return pc
	}
	var alloc, req int64
	for i := range c.nodes {
		if c.schedulable(i) {
			alloc += c.nodes[i].alloc[r]
			req += s.req[i*s.R+r]
		}
	}
	got := 0.0
	if alloc > 0 {
		got = float64(req) / float64(alloc)
	}
	pc.Pass = got <= share
	pc.Detail = fmt.Sprintf("%s requested is %.1f%% of allocatable (%s of %s), limit %.1f%%",
		name, 100*got, format(name, req), format(name, alloc), 100*share)
	return pc
}

// nPlusOneNode loses, one at a time, the schedulable nodes that hold the
// most requests after the deploy (the losses hardest to absorb; an empty
// node, however large, costs nothing) and reschedules what ran there. It
// passes when every such loss is absorbed.
func (c *Cluster) nPlusOneNode(o outcome) PolicyCheck {
	pc := PolicyCheck{Name: "n+1 node"}
	s := o.s
	var total [2]int64
	var candidates []int
	for i := range c.nodes {
		if c.schedulable(i) {
			total[0] += c.nodes[i].alloc[rCPU]
			total[1] += c.nodes[i].alloc[rMemory]
			candidates = append(candidates, i)
		}
	}
	if len(candidates) == 0 {
		pc.Detail = "cannot evaluate: no schedulable node"
		return pc
	}
	load := func(i int) float64 {
		return share(s.req[i*s.R+rCPU], total[0]) + share(s.req[i*s.R+rMemory], total[1])
	}
	slices.SortStableFunc(candidates, func(a, b int) int {
		la, lb := load(a), load(b)
		switch {
		case la > lb:
			return -1
		case la < lb:
			return 1
		}
		return 0
	})
	candidates = candidates[:min(nPlusOneCandidates, len(candidates))]
	pc.Pass = true
	var worst string
	for _, i := range candidates {
		n := c.nodes[i]
		lost, failed, f := c.lose(o, []int{i})
		d := fmt.Sprintf("after losing node %s (pool %s), %d of %d pods it ran find another node", n.node.Name, poolName(n.pool), lost-failed, lost)
		if f != nil {
			d += "; first that does not: " + f.Message()
		}
		if failed > 0 && pc.Pass {
			pc.Pass, worst = false, d
		}
		if worst == "" {
			worst = d
		}
	}
	pc.Detail = worst
	return pc
}

// nPlusOneCandidates is how many of the most loaded nodes N+1 takes out.
const nPlusOneCandidates = 3

// nPlusOneZone loses each zone in turn.
func (c *Cluster) nPlusOneZone(o outcome) PolicyCheck {
	pc := PolicyCheck{Name: "n+1 zone"}
	zones := map[string][]int{}
	for i := range c.nodes {
		if z, ok := c.nodes[i].node.Labels[corev1.LabelTopologyZone]; ok && c.schedulable(i) {
			zones[z] = append(zones[z], i)
		}
	}
	if len(zones) < 2 {
		pc.Detail = fmt.Sprintf("cannot evaluate: schedulable nodes span %d zone(s) by label %s", len(zones), corev1.LabelTopologyZone)
		return pc
	}
	pc.Pass = true
	var details []string
	for _, z := range slices.Sorted(maps.Keys(zones)) {
		lost, failed, f := c.lose(o, zones[z])
		d := fmt.Sprintf("zone %s: %d of %d pods find another node", z, lost-failed, lost)
		if f != nil {
			d += " (" + f.Message() + ")"
			pc.Pass = false
		}
		details = append(details, d)
	}
	pc.Detail = strings.Join(details, "; ")
	return pc
}

func share(v, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(v) / float64(total)
}

// lose takes nodes out of a copy of the outcome's final state and
// reschedules the controller-owned pods that ran on them (DaemonSet and
// bare pods are not recreated elsewhere). It returns how many pods needed a
// new node, how many found none, and the first failure.
func (c *Cluster) lose(o outcome, nodes []int) (lost, failed int, first *failure) {
	s := o.s.clone()
	for _, i := range nodes {
		s.down[i] = true
	}
	s.downCount = -1
	var moves []*tmpl
	cache := map[string]*tmpl{}
	for _, i := range nodes {
		for _, pi := range c.podsOn[i] {
			if s.removed.has(pi) {
				continue
			}
			p := c.pods[pi].pod
			ref := metav1Controller(p)
			if ref == "" {
				continue
			}
			s.remove(pi)
			t, ok := cache[ref]
			if !ok {
				var sel labels.Selector
				if strings.HasPrefix(ref, "ReplicaSet/") || strings.HasPrefix(ref, "StatefulSet/") {
					sel = labels.SelectorFromSet(p.Labels)
				}
				// Its replacement is a new pod from the same controller:
				// not bound yet.
				q := p.DeepCopy()
				q.Spec.NodeName, q.Status = "", corev1.PodStatus{}
				t = c.compile(q, sel)
				cache[ref] = t
			}
			moves = append(moves, t)
		}
		for k, pl := range s.placed {
			if !pl.gone && int(pl.node) == i {
				s.unplace(k)
				moves = append(moves, o.t)
			}
		}
	}
	s.tracked = nil
	for _, t := range cache {
		s.track(t)
	}
	s.track(o.t)
	for _, t := range moves {
		lost++
		n, f := s.schedule(t)
		if f != nil {
			failed++
			if first == nil {
				first = f
			}
			continue
		}
		s.place(t, n)
	}
	return lost, failed, first
}

// metav1Controller names a pod's controller ("ReplicaSet/web-5d8f"), or ""
// for a bare pod, a DaemonSet's or a static pod, which do not move.
func metav1Controller(p *corev1.Pod) string {
	for _, ref := range p.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			if ref.Kind == "DaemonSet" || ref.Kind == "Node" {
				return ""
			}
			return ref.Kind + "/" + p.Namespace + "/" + ref.Name
		}
	}
	return ""
}

// clone copies a simulation's state; templates are shared and must be
// tracked again.
func (s *sim) clone() *sim {
	n := *s
	n.req = slices.Clone(s.req)
	n.nz = slices.Clone(s.nz)
	n.removed = slices.Clone(s.removed)
	n.down = slices.Clone(s.down)
	n.placed = slices.Clone(s.placed)
	n.tracked = nil
	n.feasible, n.walk, n.ties, n.scores, n.fbuf, n.resBufs = nil, nil, scoreHeap{}, nil, nil, nil
	// n.rng is s's: the clone goes on drawing from the same stream.
	n.downCount = -1
	n.raw = make([][]int64, len(s.raw))
	return &n
}
