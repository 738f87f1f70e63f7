package capacity

import (
	"fmt"
	"maps"
	"math"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// newRevisionLabel marks the simulated pods of the new revision, as the
// Deployment controller's pod-template-hash marks a ReplicaSet's pods, so
// that default spreading counts only them.
const newRevisionLabel = appsv1.DefaultDeploymentUniqueLabelKey

// tieRuns is how many more simulations, with other tie-breaking seeds, give
// the range when the scheduler's choice among equally scored nodes can
// change the answer.
const tieRuns = 8

// WorkloadFromObject builds a Workload from an apps/v1 Deployment or
// StatefulSet, resolving defaults as the API server and controllers do.
func WorkloadFromObject(obj runtime.Object) (*Workload, error) {
	var (
		w      Workload
		meta   metav1.ObjectMeta
		tmpl   corev1.PodTemplateSpec
		sel    *metav1.LabelSelector
		copies *int32
	)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		w.Kind, meta, tmpl, sel, copies = "Deployment", o.ObjectMeta, o.Spec.Template, o.Spec.Selector, o.Spec.Replicas
		w.Replicas = replicasOf(copies)
		if o.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			w.Recreate = true
			break
		}
		surge, unavailable := intstr.FromString("25%"), intstr.FromString("25%")
		if ru := o.Spec.Strategy.RollingUpdate; ru != nil {
			if ru.MaxSurge != nil {
				surge = *ru.MaxSurge
			}
			if ru.MaxUnavailable != nil {
				unavailable = *ru.MaxUnavailable
			}
		}
		var err error
		if w.MaxSurge, err = intstr.GetScaledValueFromIntOrPercent(&surge, w.Replicas, true); err != nil {
			return nil, fmt.Errorf("spec.strategy.rollingUpdate.maxSurge: %w", err)
		}
		if w.MaxUnavailable, err = intstr.GetScaledValueFromIntOrPercent(&unavailable, w.Replicas, false); err != nil {
			return nil, fmt.Errorf("spec.strategy.rollingUpdate.maxUnavailable: %w", err)
		}
		if w.MaxSurge == 0 && w.MaxUnavailable == 0 {
			w.MaxUnavailable = 1 // as the Deployment controller resolves it
		}
	case *appsv1.StatefulSet:
		w.Kind, meta, tmpl, sel, copies = "StatefulSet", o.ObjectMeta, o.Spec.Template, o.Spec.Selector, o.Spec.Replicas
		w.Replicas = replicasOf(copies)
		w.OrderedReady = o.Spec.PodManagementPolicy != appsv1.ParallelPodManagement
		w.MaxUnavailable = 1
		if ru := o.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
			v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, w.Replicas, false)
			if err != nil {
				return nil, fmt.Errorf("spec.updateStrategy.rollingUpdate.maxUnavailable: %w", err)
			}
			w.MaxUnavailable = max(v, 1)
		}
	default:
		return nil, fmt.Errorf("a %T is not a workload the gate checks: want an apps/v1 Deployment or StatefulSet", obj)
	}
	if w.Replicas < 0 {
		return nil, fmt.Errorf("spec.replicas: %d is negative", w.Replicas)
	}
	w.Name, w.Namespace = meta.Name, meta.Namespace
	if w.Namespace == "" {
		w.Namespace = metav1.NamespaceDefault
	}
	if sel == nil {
		return nil, fmt.Errorf("spec.selector: required")
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("spec.selector: %w", err)
	}
	if s.Empty() {
		return nil, fmt.Errorf("spec.selector: empty, it would select every pod")
	}
	if !s.Matches(labels.Set(tmpl.Labels)) {
		return nil, fmt.Errorf("spec.selector does not match spec.template.metadata.labels")
	}
	w.Selector = s
	w.Template = &corev1.Pod{ObjectMeta: *tmpl.ObjectMeta.DeepCopy(), Spec: *tmpl.Spec.DeepCopy()}
	w.Template.Namespace = w.Namespace
	return &w, nil
}

func replicasOf(r *int32) int {
	if r == nil {
		return 1
	}
	return int(*r)
}

// SimpleWorkload is Replicas pods requesting cpu and memory, in namespace
// ns, as `headroom check --replicas N --cpu Q --memory Q` asks. They are
// placed as a new Deployment's would be.
func SimpleWorkload(ns string, replicas int, cpu, memory resource.Quantity) *Workload {
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	lbl := map[string]string{"app.kubernetes.io/name": "headroom-check"}
	req := corev1.ResourceList{}
	if !cpu.IsZero() {
		req[corev1.ResourceCPU] = cpu
	}
	if !memory.IsZero() {
		req[corev1.ResourceMemory] = memory
	}
	return &Workload{
		Kind: "", Namespace: ns, Name: "headroom-check", Replicas: replicas,
		Template: &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Labels: lbl},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "main", Resources: corev1.ResourceRequirements{Requests: req},
			}}},
		},
	}
}

// outcome is one simulated deploy.
type outcome struct {
	s       *sim
	t       *tmpl
	fit     int
	pools   map[string]int
	fail    *failure
	rollout *Rollout
}

// Check answers whether w fits under policy p.
func (c *Cluster) Check(w *Workload, p Policy) *Result {
	res := &Result{Cluster: c.opts.Name, Workload: workloadName(w), Reasons: []string{}, Placement: []PoolPlacement{}, Margin: []Margin{}}
	if w == nil || w.Template == nil {
		res.Verdict = Unknown
		res.Reasons = append(res.Reasons, "no workload to check")
		return res
	}
	res.ReplicasRequested = w.Replicas
	res.Nodes, res.Pods = len(c.nodes), len(c.pods)
	for i := range c.nodes {
		if c.schedulable(i) {
			res.SchedulableNodes++
		}
	}
	old := c.oldPods(w)

	// Where the scheduler's tie-breaking can change the answer, the
	// deploy is played with other seeds too: the answer is seed 0's, the
	// scheduler's filter walk in order (heapPick), with the range of all.
	// The new pods' template, counted once on the cluster as it is: each
	// simulation starts from a fork of it.
	base := c.newTemplate(w)
	scratch := c.newSim(0)
	scratch.track(base)
	scratch.release()
	base.resScore, base.resValid = nil, nil
	runs := []outcome{c.simulate(base, w, old, 0)}
	poolTies := runs[0].s.tiesAcrossPools
	if (poolTies || len(old) > 0) && c.opts.Parallelism != 1 {
		// With parallelism 1 every seed walks alike (heapPick).
		runs = append(runs, c.simulateSeeds(base, w, old, tieRuns)...)
	}
	defer func() {
		for _, o := range runs {
			o.s.release() // nothing in res points into a simulation
		}
	}()
	main := runs[0]
	res.ReplicasFit, res.ReplicasFitMin, res.ReplicasFitMax = main.fit, main.fit, main.fit
	res.Rollout = main.rollout
	ranges := map[string][2]int{}
	for _, o := range runs {
		for pool := range o.pools {
			ranges[pool] = [2]int{math.MaxInt, 0}
		}
	}
	for _, o := range runs {
		res.ReplicasFitMin = min(res.ReplicasFitMin, o.fit)
		res.ReplicasFitMax = max(res.ReplicasFitMax, o.fit)
		for pool, r := range ranges {
			n := o.pools[pool]
			ranges[pool] = [2]int{min(r[0], n), max(r[1], n)}
		}
	}
	for _, pool := range slices.Sorted(maps.Keys(ranges)) {
		r := ranges[pool]
		res.Placement = append(res.Placement, PoolPlacement{Pool: poolName(pool), Replicas: main.pools[pool], Min: r[0], Max: r[1]})
	}

	res.Verdict = Pass
	if main.fit < w.Replicas || (main.rollout != nil && !main.rollout.Completed) {
		res.Verdict = Fail
		if main.fail != nil {
			res.Reasons = append(res.Reasons, main.fail.Message())
		}
		res.Reasons = append(res.Reasons, fmt.Sprintf("%d of %d replicas fit", main.fit, w.Replicas))
		if r := main.rollout; r != nil && !r.Completed {
			res.Reasons = append(res.Reasons, fmt.Sprintf(
				"the rolling update stalls: old pods still hold their requests and maxSurge %d, maxUnavailable %d free no room for the rest", r.MaxSurge, r.MaxUnavailable))
		}
		res.Suggestions = c.suggest(main.t, w.Replicas-main.fit)
	}
	if res.ReplicasFitMin != res.ReplicasFitMax {
		res.Notes = append(res.Notes, fmt.Sprintf("which of equally scored nodes the scheduler takes depends on the order its parallel filtering found them: the answer is for the nodes found in the order it walks them, as one goroutine finds them; between %d and %d replicas fit in the %d orders simulated (a sample of the orders its goroutines may take; with parallelism 1 there is one)", res.ReplicasFitMin, res.ReplicasFitMax, len(runs)))
	}
	if poolTies {
		res.Notes = append(res.Notes, "nodes of different pools scored alike: the split over pools assumes the scheduler walks each zone's nodes by name, as it does after it starts; nodes added since it started come last in their zone")
	}
	res.Notes = append(res.Notes, main.t.approximate...)
	res.Margin = c.margin(main.s, main.t)
	res.Policy = c.policy(main, p)
	for _, pc := range res.Policy {
		if !pc.Pass && res.Verdict == Pass {
			res.Verdict = Fail
		}
		if !pc.Pass {
			res.Reasons = append(res.Reasons, pc.Name+": "+pc.Detail)
		}
	}
	if len(main.t.unmodelled) > 0 {
		res.Verdict = Unknown
		for _, u := range main.t.unmodelled {
			res.Reasons = append(res.Reasons, "not modelled: "+u)
		}
	}
	for _, pc := range res.Policy {
		if strings.HasPrefix(pc.Detail, "cannot evaluate") {
			res.Verdict = Unknown
		}
	}
	return res
}

// simulateSeeds plays the deploy with seeds 1 to n, at most one simulation
// per CPU at once: they share the Cluster, which they only read, and each
// has its own state. The outcomes are in seed order.
func (c *Cluster) simulateSeeds(base *tmpl, w *Workload, old []int32, n int) []outcome {
	out := make([]outcome, n)
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(1, min(n, goruntime.GOMAXPROCS(0))))
	for k := range out {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			out[k] = c.simulate(base, w, old, uint64(k+1))
		})
	}
	wg.Wait()
	return out
}

func workloadName(w *Workload) string {
	if w == nil {
		return ""
	}
	name := w.Namespace + "/" + w.Name
	if w.Kind != "" {
		name = w.Kind + " " + name
	}
	return name
}

func poolName(p string) string {
	if p == "" {
		return "(none)"
	}
	return p
}

// oldPods are the running pods of the workload, the old revision of an
// update.
func (c *Cluster) oldPods(w *Workload) []int32 {
	if w.Selector == nil || w.Selector.Empty() {
		return nil
	}
	var out []int32
	for _, i := range c.byNamespace[w.Namespace] {
		if w.Selector.Matches(labels.Set(c.pods[i].pod.Labels)) && !c.pods[i].terminating {
			out = append(out, i)
		}
	}
	return out
}

// newTemplate is the pod each new replica becomes, marked as the new
// revision, with the selector default spreading counts it by.
func (c *Cluster) newTemplate(w *Workload) *tmpl {
	p := w.Template.DeepCopy()
	p.Namespace = w.Namespace
	lbl := maps.Clone(p.Labels)
	if lbl == nil {
		lbl = map[string]string{}
	}
	var spreadSel labels.Selector
	switch w.Kind {
	case "StatefulSet":
		spreadSel = w.Selector
	default:
		lbl[newRevisionLabel] = "headroom-new"
		req, _ := labels.NewRequirement(newRevisionLabel, "=", []string{"headroom-new"})
		base := w.Selector
		if base == nil {
			base = labels.SelectorFromSet(w.Template.Labels)
		}
		spreadSel = base.Add(*req)
	}
	p.Labels = lbl
	return c.compile(p, spreadSel)
}

// simulate plays the deploy once: a first deploy places the replicas; an
// update rolls them as the workload's controller would.
func (c *Cluster) simulate(base *tmpl, w *Workload, old []int32, seed uint64) outcome {
	s := c.newSim(seed)
	t := base.fork()
	s.adopt(t)
	o := outcome{s: s, t: t, pools: map[string]int{}}
	var mine []int
	schedule := func() bool {
		n, f := s.schedule(t)
		if f != nil {
			if o.fail == nil {
				o.fail = f
			}
			return false
		}
		mine = append(mine, s.place(t, n))
		return true
	}
	switch {
	case len(old) == 0:
		for range w.Replicas {
			if !schedule() {
				break // identical pods on an unchanged cluster fail alike
			}
		}
	case w.Recreate:
		for _, i := range old {
			s.remove(i)
		}
		for range w.Replicas {
			if !schedule() {
				break
			}
		}
		o.rollout = &Rollout{Strategy: "Recreate", OldReplicas: len(old), PeakPods: max(len(old), len(mine)), Completed: len(mine) == w.Replicas}
	case w.Kind == "StatefulSet":
		o.rollout = c.rollStatefulSet(s, w, old, schedule, &mine)
	default:
		o.rollout = c.rollDeployment(s, w, old, schedule, &mine)
	}
	for _, k := range mine {
		if !s.placed[k].gone {
			o.fit++
			o.pools[c.nodes[s.placed[k].node].pool]++
		}
	}
	return o
}

// rollDeployment replays the Deployment controller's rolling update: scale
// the new ReplicaSet up to replicas+maxSurge pods in all, scale the old one
// down while replicas-maxUnavailable stay available, until no step is left.
func (c *Cluster) rollDeployment(s *sim, w *Workload, old []int32, schedule func() bool, mine *[]int) *Rollout {
	r := &Rollout{Strategy: "RollingUpdate", OldReplicas: len(old), MaxSurge: w.MaxSurge, MaxUnavailable: w.MaxUnavailable}
	alive := slices.Clone(old)
	created, pending := 0, 0
	r.PeakPods = len(alive)
	for step := 0; step < 4*(w.Replicas+len(old))+8; step++ {
		progress := false
		for pending > 0 && schedule() {
			pending--
			progress = true
		}
		up := min(w.Replicas-created, w.Replicas+w.MaxSurge-len(alive)-created)
		for ; up > 0; up-- {
			created++
			progress = true
			if pending > 0 || !schedule() {
				pending++
			}
		}
		r.PeakPods = max(r.PeakPods, len(alive)+created)
		available := len(alive) + created - pending
		down := min(len(alive), available-(w.Replicas-w.MaxUnavailable))
		if down > 0 {
			alive = c.scaleDown(s, alive, down)
			progress = true
		}
		if len(alive) == 0 && created == w.Replicas && pending == 0 {
			r.Completed = true
			break
		}
		if !progress {
			break
		}
	}
	return r
}

// scaleDown removes n old pods the way the ReplicaSet controller ranks them:
// pods sharing a node with more of their kind first, newer first.
func (c *Cluster) scaleDown(s *sim, alive []int32, n int) []int32 {
	perNode := map[int32]int{}
	for _, i := range alive {
		perNode[c.pods[i].node]++
	}
	ranked := slices.Clone(alive)
	slices.SortStableFunc(ranked, func(a, b int32) int {
		if d := perNode[c.pods[b].node] - perNode[c.pods[a].node]; d != 0 {
			return d
		}
		return c.pods[b].pod.CreationTimestamp.Compare(c.pods[a].pod.CreationTimestamp.Time)
	})
	gone := map[int32]bool{}
	for _, i := range ranked[:n] {
		s.remove(i)
		gone[i] = true
	}
	return slices.DeleteFunc(alive, func(i int32) bool { return gone[i] })
}

// rollStatefulSet replays the StatefulSet controller: missing ordinals are
// created, then pods are replaced from the highest ordinal down, one at a
// time; a replacement that does not fit stops the update.
func (c *Cluster) rollStatefulSet(s *sim, w *Workload, old []int32, schedule func() bool, mine *[]int) *Rollout {
	r := &Rollout{Strategy: "RollingUpdate", OldReplicas: len(old), MaxUnavailable: w.MaxUnavailable, PeakPods: len(old)}
	sorted := slices.Clone(old)
	slices.SortFunc(sorted, func(a, b int32) int { return ordinal(c.pods[b].pod.Name) - ordinal(c.pods[a].pod.Name) })
	// Ordinals beyond replicas are deleted; missing ones are created.
	for len(sorted) > w.Replicas {
		s.remove(sorted[0])
		sorted = sorted[1:]
	}
	for range w.Replicas - len(sorted) {
		if !schedule() && w.OrderedReady {
			return r
		}
	}
	for _, i := range sorted {
		s.remove(i)
		if !schedule() {
			return r
		}
	}
	r.Completed = len(*mine) == w.Replicas
	return r
}

func ordinal(name string) int {
	i := strings.LastIndexByte(name, '-')
	n, err := strconv.Atoi(name[i+1:])
	if err != nil {
		return -1
	}
	return n
}

// schedulable says whether a node takes new pods at all: not cordoned, not
// tainted not-ready or unreachable.
func (c *Cluster) schedulable(i int) bool {
	n := c.nodes[i]
	if n.node.Spec.Unschedulable {
		return false
	}
	for _, t := range n.hard {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return false
		}
	}
	return true
}

// margin sums allocatable and requested over the schedulable nodes the
// workload may run on: a tainted node it does not tolerate, or one its
// selectors exclude, is no room for it.
func (c *Cluster) margin(s *sim, t *tmpl) []Margin {
	alloc := make([]int64, s.R)
	req := make([]int64, s.R)
	for i := range c.nodes {
		if s.down[i] || !c.schedulable(i) || t.static[i] != 0 {
			continue
		}
		for r := range s.R {
			alloc[r] += c.nodes[i].alloc[r]
			req[r] += s.req[i*s.R+r]
		}
	}
	var out []Margin
	for r, name := range c.resources {
		if alloc[r] == 0 && req[r] == 0 {
			continue
		}
		m := Margin{Resource: name, Allocatable: format(name, alloc[r]), Requested: format(name, req[r]), Free: format(name, alloc[r]-req[r])}
		if alloc[r] > 0 {
			m.RequestedShare = float64(req[r]) / float64(alloc[r])
		}
		out = append(out, m)
	}
	return out
}

func format(name corev1.ResourceName, v int64) string {
	switch name {
	case corev1.ResourceCPU:
		return resource.NewMilliQuantity(v, resource.DecimalSI).String()
	case corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return resource.NewQuantity(v, resource.BinarySI).String()
	}
	return strconv.FormatInt(v, 10)
}

// suggest estimates, per pool, how many more nodes like the pool's would
// hold the replicas that do not fit (identical replicas: first-fit
// decreasing is a division).
func (c *Cluster) suggest(t *tmpl, missing int) []string {
	if missing <= 0 || len(t.missing) > 0 {
		return nil
	}
	type option struct {
		pool  string
		nodes int
		alloc []int64
	}
	var opts []option
	seen := map[string]bool{}
	for i, n := range c.nodes {
		if seen[n.pool] || !c.schedulable(i) || t.static[i] != 0 {
			continue
		}
		seen[n.pool] = true
		per := int64(-1)
		for r, want := range t.req {
			if want <= 0 {
				continue
			}
			k := n.alloc[r] / want
			if per < 0 || k < per {
				per = k
			}
		}
		if len(t.ports) > 0 || selfRepelsOnHost(t) {
			per = min(per, 1)
		}
		if per < 1 {
			continue
		}
		opts = append(opts, option{pool: n.pool, nodes: int((int64(missing) + per - 1) / per), alloc: n.alloc})
	}
	slices.SortStableFunc(opts, func(a, b option) int { return a.nodes - b.nodes })
	var out []string
	for _, o := range opts[:min(3, len(opts))] {
		out = append(out, fmt.Sprintf("%d more node(s) like pool=%s (cpu %s, memory %s) would hold the %d replicas that do not fit",
			o.nodes, poolName(o.pool), format(corev1.ResourceCPU, o.alloc[rCPU]), format(corev1.ResourceMemory, o.alloc[rMemory]), missing))
	}
	return out
}

func selfRepelsOnHost(t *tmpl) bool {
	for _, pt := range t.anti {
		if pt.key == corev1.LabelHostname && pt.self {
			return true
		}
	}
	return false
}

// Replay schedules pods one after another, in the order given, as the
// scheduler takes them from its queue, each with its own spec; a pod that
// fits nowhere stays pending and the next is tried. It returns, per pod, the
// node it was bound to or "" for pending; seed drives the
// tie-breaking (heapPick: 0 is the scheduler's walk in order, as one
// filter goroutine finds the nodes). Pods are bare: default spreading,
// which needs an owning controller, does not apply.
func (c *Cluster) Replay(pods []*corev1.Pod, seed uint64) []string {
	s := c.newSim(seed)
	defer s.release()
	out := make([]string, len(pods))
	for k, p := range pods {
		t := c.compile(p, nil)
		s.track(t)
		if n, f := s.schedule(t); f == nil {
			s.place(t, n)
			out[k] = c.nodes[n].node.Name
		}
		s.tracked = s.tracked[:0]
	}
	return out
}
