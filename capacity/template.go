package capacity

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/go-logr/logr"
)

// defaultScheduler is the scheduler the model stands for.
const defaultScheduler = corev1.DefaultSchedulerName

// tmpl is a pod compiled for placement: everything the filters and scores
// need, resolved once per check instead of once per node.
type tmpl struct {
	pod    *corev1.Pod
	ns     string
	labels labels.Set
	req    []int64
	// requested lists the resources (but pods) the pod asks for.
	requested []int
	nz        [2]int64
	missing   []corev1.ResourceName
	// bestEffort pods (no cpu or memory request) skip BalancedAllocation.
	bestEffort bool
	ports      []hostPort
	required   nodeaffinity.RequiredNodeAffinity
	preferred  *nodeaffinity.PreferredSchedulingTerms
	// hard are DoNotSchedule spread constraints (filter); soft are
	// ScheduleAnyway ones, or the scheduler's defaults (score).
	hard, soft  []*spread
	softDefault bool
	// anti and affinity are required inter-pod terms of the pod itself.
	anti, affinity []*podTerm
	// static is the outcome of the filters that do not change while pods
	// are placed (node name, unschedulable, taints, node affinity): 0 when
	// the node passes, else the reason's index + 1.
	static []uint8
	// unmodelled lists constraints the model cannot evaluate: a verdict on
	// this pod is unknown.
	unmodelled []string
	// approximate lists scoring the model does not replicate: placement per
	// pool may differ, the count does not.
	approximate []string
	// exAnti counts, per topology key and value, the pods whose required
	// anti-affinity repels this pod; affTotal counts pods matching all of
	// its affinity terms. Both are kept by the sim tracking the template.
	exAnti   map[string]map[string]int32
	affTotal int32
	// taintRaw and affinityRaw are the per-node raw scores of
	// TaintToleration and NodeAffinity, nil where every node scores alike.
	taintRaw, affinityRaw []int64
	// resScore caches, per node, the resource scores of the sim tracking
	// the template, valid until something lands on or leaves the node.
	resScore []int64
	resValid []bool
}

// fork copies t with counts of its own (topology domains, exAnti,
// affTotal), equal to t's now; what compile resolved is shared, read only.
func (t *tmpl) fork() *tmpl {
	n := *t
	n.hard, n.soft = forkAll(t.hard, func(s *spread) **domains { return &s.dom }),
		forkAll(t.soft, func(s *spread) **domains { return &s.dom })
	n.anti, n.affinity = forkAll(t.anti, func(p *podTerm) **domains { return &p.dom }),
		forkAll(t.affinity, func(p *podTerm) **domains { return &p.dom })
	n.exAnti = make(map[string]map[string]int32, len(t.exAnti))
	for k, m := range t.exAnti {
		n.exAnti[k] = maps.Clone(m)
	}
	n.resScore, n.resValid = nil, nil
	return &n
}

// forkAll copies each constraint of in, each with counts of its own.
func forkAll[T any](in []*T, dom func(*T) **domains) []*T {
	out := make([]*T, len(in))
	for i, x := range in {
		c := *x
		d := dom(&c)
		*d = &domains{topology: (*d).topology, count: slices.Clone((*d).count)}
		out[i] = &c
	}
	return out
}

func (t *tmpl) allSpreads() []*spread {
	if len(t.soft) == 0 {
		return t.hard
	}
	return append(append([]*spread(nil), t.hard...), t.soft...)
}

func (t *tmpl) terms() []*podTerm {
	if len(t.affinity) == 0 {
		return t.anti
	}
	return append(append([]*podTerm(nil), t.anti...), t.affinity...)
}

// spread is one topology spread constraint.
type spread struct {
	key        string
	maxSkew    int32
	minDomains int32
	sel        labels.Selector
	self       bool // the pod matches its own selector
	dom        *domains
	// eligible marks nodes counted for this constraint (node inclusion
	// policies; for filtering, also carrying every hard constraint's key).
	eligible []bool
}

// podTerm is one required inter-pod (anti-)affinity term.
type podTerm struct {
	key    string
	sel    labels.Selector
	ns     map[string]bool // nil: every namespace
	self   bool
	dom    *domains
	source *corev1.Pod
}

func (t *podTerm) matches(p *corev1.Pod) bool {
	if t.ns != nil && !t.ns[p.Namespace] {
		return false
	}
	return t.sel.Matches(labels.Set(p.Labels))
}

// domains counts matching pods per topology domain of one key.
type domains struct {
	*topology
	count []int32
}

// topology maps nodes to the domains of one key; a Cluster builds it once
// per key and shares it between checks.
type topology struct {
	of     []int32 // node → domain, -1 without the key's label
	values []string
}

func newDomains(c *Cluster, key string) *domains {
	c.mu.Lock()
	defer c.mu.Unlock()
	tp, ok := c.topologies[key]
	if !ok {
		tp = &topology{of: make([]int32, len(c.nodes))}
		idx := map[string]int32{}
		for i, n := range c.nodes {
			v, ok := n.node.Labels[key]
			if !ok {
				tp.of[i] = -1
				continue
			}
			j, seen := idx[v]
			if !seen {
				j = int32(len(tp.values))
				idx[v] = j
				tp.values = append(tp.values, v)
			}
			tp.of[i] = j
		}
		if c.topologies == nil {
			c.topologies = map[string]*topology{}
		}
		c.topologies[key] = tp
	}
	return &domains{topology: tp, count: make([]int32, len(tp.values))}
}

// Reasons the static filters report, worded as kube-scheduler's plugins.
const (
	reasonNodeName      = "node(s) didn't match the requested node name"
	reasonUnschedulable = "node(s) were unschedulable"
	reasonTaints        = "node(s) had untolerated taint(s)"
	reasonAffinity      = "node(s) didn't match Pod's node affinity/selector"
	reasonPorts         = "node(s) didn't have free ports for the requested pod ports"
	reasonSpread        = "node(s) didn't match pod topology spread constraints"
	reasonSpreadLabel   = reasonSpread + " (missing required label)"
	reasonExistingAnti  = "node(s) didn't satisfy existing pods anti-affinity rules"
	reasonAffinityRules = "node(s) didn't match pod affinity rules"
	reasonAntiAffinity  = "node(s) didn't match pod anti-affinity rules"
)

var staticReasons = []string{reasonNodeName, reasonUnschedulable, reasonTaints, reasonAffinity}

var unschedulableTaint = corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}

// compile resolves a pod against the cluster. defaultSpread is the label
// selector of the pod's ReplicaSet or StatefulSet, for the scheduler's
// default spreading; nil when the pod has no such owner.
func (c *Cluster) compile(p *corev1.Pod, defaultSpread labels.Selector) *tmpl {
	t := &tmpl{pod: p, ns: p.Namespace, labels: labels.Set(p.Labels), nz: nonZero(p), ports: hostPorts(p)}
	t.req, t.missing = c.podVector(p)
	for r, v := range t.req {
		if r != rPods && v > 0 {
			t.requested = append(t.requested, r)
		}
	}
	t.bestEffort = t.req[rCPU] == 0 && t.req[rMemory] == 0
	t.required = nodeaffinity.GetRequiredNodeAffinity(p)
	t.unmodelled = unmodelled(p)

	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
		pref, err := nodeaffinity.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
		if err != nil {
			t.unmodelled = append(t.unmodelled, fmt.Sprintf("preferred node affinity: %v", err))
		} else {
			t.preferred = pref
		}
	}
	if a := p.Spec.Affinity; a != nil {
		if a.PodAffinity != nil {
			for _, term := range a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				if pt, err := c.podTerm(p, term); err != nil {
					t.unmodelled = append(t.unmodelled, "required pod affinity: "+err.Error())
				} else {
					t.affinity = append(t.affinity, pt)
				}
			}
			if len(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
				t.approximate = append(t.approximate, "preferred pod affinity is not scored")
			}
		}
		if a.PodAntiAffinity != nil {
			for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				if pt, err := c.podTerm(p, term); err != nil {
					t.unmodelled = append(t.unmodelled, "required pod anti-affinity: "+err.Error())
				} else {
					t.anti = append(t.anti, pt)
				}
			}
			if len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
				t.approximate = append(t.approximate, "preferred pod anti-affinity is not scored")
			}
		}
	}

	for _, tsc := range p.Spec.TopologySpreadConstraints {
		s, err := c.spreadConstraint(p, t, tsc)
		if err != nil {
			t.unmodelled = append(t.unmodelled, "topology spread constraint: "+err.Error())
			continue
		}
		if tsc.WhenUnsatisfiable == corev1.ScheduleAnyway {
			t.soft = append(t.soft, s)
		} else {
			t.hard = append(t.hard, s)
		}
	}
	// The scheduler's default spreading applies only to pods without
	// constraints of their own.
	if len(p.Spec.TopologySpreadConstraints) == 0 && defaultSpread != nil && !defaultSpread.Empty() {
		t.softDefault = true
		eligible := c.inclusion(t, false, nil)
		for _, d := range []struct {
			key  string
			skew int32
		}{{corev1.LabelHostname, 3}, {corev1.LabelTopologyZone, 5}} {
			s := &spread{key: d.key, maxSkew: d.skew, sel: defaultSpread, self: defaultSpread.Matches(t.labels), dom: newDomains(c, d.key)}
			s.eligible = eligible
			t.soft = append(t.soft, s)
		}
	}
	// Filtering counts a domain only on nodes carrying every hard key.
	for _, s := range t.hard {
		for i, n := range c.nodes {
			if !s.eligible[i] {
				continue
			}
			for _, o := range t.hard {
				if _, ok := n.node.Labels[o.key]; !ok {
					s.eligible[i] = false
					break
				}
			}
		}
	}
	if len(c.nodes) >= minFeasibleNodesToFind && c.opts.PercentageOfNodesToScore < 100 {
		t.approximate = append(t.approximate, fmt.Sprintf("with %d nodes the scheduler scores a sample of them; placement per pool is approximate", len(c.nodes)))
	}

	t.scoreStatic(c)
	t.static = make([]uint8, len(c.nodes))
	for i := range c.nodes {
		t.static[i] = c.staticFilter(t, i)
	}
	return t
}

// staticFilter runs the filters whose outcome does not change while pods
// are placed, in kube-scheduler's plugin order.
func (c *Cluster) staticFilter(t *tmpl, i int) uint8 {
	n := c.nodes[i].node
	if t.pod.Spec.NodeName != "" && t.pod.Spec.NodeName != n.Name {
		return 1
	}
	if n.Spec.Unschedulable && !tolerates(t.pod.Spec.Tolerations, &unschedulableTaint) {
		return 2
	}
	for j := range c.nodes[i].hard {
		if !tolerates(t.pod.Spec.Tolerations, &c.nodes[i].hard[j]) {
			return 3
		}
	}
	if ok, _ := t.required.Match(n); !ok {
		return 4
	}
	return 0
}

func tolerates(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tolerations {
		if tolerations[i].ToleratesTaint(logr.Discard(), taint, false) {
			return true
		}
	}
	return false
}

// inclusion marks the nodes a spread constraint counts: those matching the
// pod's required node affinity (nodeAffinityPolicy Honor, the default) and,
// with nodeTaintsPolicy Honor, those whose taints it tolerates.
func (c *Cluster) inclusion(t *tmpl, honorTaints bool, tsc *corev1.TopologySpreadConstraint) []bool {
	honorAffinity := true
	if tsc != nil && tsc.NodeAffinityPolicy != nil && *tsc.NodeAffinityPolicy == corev1.NodeInclusionPolicyIgnore {
		honorAffinity = false
	}
	out := make([]bool, len(c.nodes))
	for i, n := range c.nodes {
		if honorAffinity {
			if ok, _ := t.required.Match(n.node); !ok {
				continue
			}
		}
		if honorTaints {
			ok := true
			for j := range n.hard {
				if !tolerates(t.pod.Spec.Tolerations, &n.hard[j]) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
		}
		out[i] = true
	}
	return out
}

func (c *Cluster) spreadConstraint(p *corev1.Pod, t *tmpl, tsc corev1.TopologySpreadConstraint) (*spread, error) {
	if tsc.MaxSkew < 1 {
		return nil, fmt.Errorf("maxSkew %d", tsc.MaxSkew)
	}
	sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
	if err != nil {
		return nil, err
	}
	if tsc.LabelSelector == nil {
		sel = labels.Nothing()
	}
	// matchLabelKeys narrows the selector to pods sharing the pod's values.
	if sel, err = withLabelKeys(sel, p.Labels, tsc.MatchLabelKeys, selection.Equals); err != nil {
		return nil, err
	}
	s := &spread{key: tsc.TopologyKey, maxSkew: tsc.MaxSkew, sel: sel, self: sel.Matches(labels.Set(p.Labels)), dom: newDomains(c, tsc.TopologyKey)}
	if tsc.MinDomains != nil {
		s.minDomains = *tsc.MinDomains
	}
	honorTaints := tsc.NodeTaintsPolicy != nil && *tsc.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor
	s.eligible = c.inclusion(t, honorTaints, &tsc)
	return s, nil
}

func (c *Cluster) podTerm(p *corev1.Pod, term corev1.PodAffinityTerm) (*podTerm, error) {
	sel, ns, err := termSelector(p, term)
	if err != nil {
		return nil, err
	}
	pt := &podTerm{key: term.TopologyKey, sel: sel, ns: ns, source: p, dom: newDomains(c, term.TopologyKey)}
	pt.self = pt.matches(p)
	return pt, nil
}

// termSelector resolves an inter-pod term of pod p: the pods it selects and
// the namespaces it looks in (nil: all).
func termSelector(p *corev1.Pod, term corev1.PodAffinityTerm) (labels.Selector, map[string]bool, error) {
	if term.NamespaceSelector != nil && (len(term.NamespaceSelector.MatchLabels) > 0 || len(term.NamespaceSelector.MatchExpressions) > 0) {
		return nil, nil, fmt.Errorf("namespaceSelector needs namespace labels the model does not have")
	}
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return nil, nil, err
	}
	if term.LabelSelector == nil {
		sel = labels.Nothing()
	}
	if sel, err = withLabelKeys(sel, p.Labels, term.MatchLabelKeys, selection.In); err != nil {
		return nil, nil, err
	}
	if sel, err = withLabelKeys(sel, p.Labels, term.MismatchLabelKeys, selection.NotIn); err != nil {
		return nil, nil, err
	}
	var ns map[string]bool
	switch {
	case term.NamespaceSelector != nil: // {} selects every namespace
	case len(term.Namespaces) > 0:
		ns = map[string]bool{}
		for _, n := range term.Namespaces {
			ns[n] = true
		}
	default:
		ns = map[string]bool{p.Namespace: true}
	}
	return sel, ns, nil
}

// withLabelKeys adds to sel, for each key the pod carries, a requirement
// that the key's value relate to the pod's by op (matchLabelKeys,
// mismatchLabelKeys).
func withLabelKeys(sel labels.Selector, podLabels map[string]string, keys []string, op selection.Operator) (labels.Selector, error) {
	for _, k := range keys {
		if v, ok := podLabels[k]; ok {
			r, err := labels.NewRequirement(k, op, []string{v})
			if err != nil {
				return nil, err
			}
			sel = sel.Add(*r)
		}
	}
	return sel, nil
}

// unmodelled lists what in a pod's spec the model cannot evaluate.
func unmodelled(p *corev1.Pod) []string {
	var out []string
	if s := p.Spec.SchedulerName; s != "" && s != defaultScheduler {
		out = append(out, fmt.Sprintf("schedulerName %q: another scheduler places this pod", s))
	}
	if len(p.Spec.SchedulingGates) > 0 {
		out = append(out, "schedulingGates: the pod waits until its gates are removed")
	}
	if p.Spec.PriorityClassName != "" {
		out = append(out, fmt.Sprintf("priorityClassName %q: preemption is not modelled", p.Spec.PriorityClassName))
	}
	if len(p.Spec.ResourceClaims) > 0 {
		out = append(out, "resourceClaims: dynamic resource allocation is not modelled")
	}
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			out = append(out, fmt.Sprintf("volume %q: persistent volume binding and zones are not modelled", v.Name))
		}
	}
	return out
}

// scoreStatic computes the raw scores that do not change while pods are
// placed: untolerated PreferNoSchedule taints and preferred node affinity.
func (t *tmpl) scoreStatic(c *Cluster) {
	var prefTol []corev1.Toleration
	for _, tol := range t.pod.Spec.Tolerations {
		if tol.Effect == "" || tol.Effect == corev1.TaintEffectPreferNoSchedule {
			prefTol = append(prefTol, tol)
		}
	}
	for i, n := range c.nodes {
		for j := range n.prefer {
			if !tolerates(prefTol, &n.prefer[j]) {
				if t.taintRaw == nil {
					t.taintRaw = make([]int64, len(c.nodes))
				}
				t.taintRaw[i]++
			}
		}
	}
	if t.preferred != nil {
		t.affinityRaw = make([]int64, len(c.nodes))
		for i, n := range c.nodes {
			t.affinityRaw[i] = t.preferred.Score(n.node)
		}
	}
}
