package capacity

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Verdict is the gate's answer.
type Verdict string

const (
	// Pass: every replica fits, through the rollout, and the policy holds.
	Pass Verdict = "pass"
	// Fail: some replica does not fit, or the policy is violated.
	Fail Verdict = "fail"
	// Unknown: the workload uses a constraint the model does not evaluate,
	// so any answer would be a guess.
	Unknown Verdict = "unknown"
)

// ExitCode is the process exit status `headroom check` uses for a verdict:
// 0 pass, 1 fail, 3 unknown (2 is left for usage errors).
func (v Verdict) ExitCode() int {
	switch v {
	case Pass:
		return 0
	case Fail:
		return 1
	default:
		return 3
	}
}

// Workload is what the gate is asked to place: Replicas copies of Template.
type Workload struct {
	// Kind is "Deployment", "StatefulSet", or "" for plain replicas
	// (--replicas N --cpu Q --memory Q).
	Kind      string
	Namespace string
	Name      string
	Replicas  int
	// Template is the pod each replica becomes: its labels, namespace and
	// spec are what the scheduler sees.
	Template *corev1.Pod
	// Selector finds the workload's pods already running in the cluster
	// (the old revision during an update). Nil means none are looked for.
	Selector labels.Selector
	// MaxSurge and MaxUnavailable are the rolling update's bounds resolved
	// against Replicas, as the Deployment controller rounds them (surge up,
	// unavailable down). A StatefulSet rolls with MaxSurge 0.
	MaxSurge, MaxUnavailable int
	// Recreate is set for a Deployment with strategy Recreate: old pods
	// are gone before new ones are created.
	Recreate bool
	// OrderedReady is set for a StatefulSet that creates its pods one at a
	// time (the default podManagementPolicy): a pod that does not fit stops
	// the ones after it.
	OrderedReady bool
}

// Policy is the headroom an operator wants left after the deploy. The zero
// Policy asks for plain fit.
type Policy struct {
	// NPlusOne is "" (off), "node" (the workload and everything else still
	// fit after losing the largest node) or "zone" (after losing any one
	// zone, by the topology.kubernetes.io/zone label).
	NPlusOne string `json:"nPlusOne,omitempty" yaml:"nPlusOne,omitempty"`
	// MaxShare caps what may be requested, per resource, as a fraction of
	// the schedulable nodes' allocatable (cpu: 0.8).
	MaxShare map[corev1.ResourceName]float64 `json:"maxShare,omitempty" yaml:"maxShare,omitempty"`
}

// Result is the gate's full answer. Its JSON names are part of the CLI and
// HTTP contract (docs/gate.md).
type Result struct {
	Verdict           Verdict `json:"verdict"`
	Cluster           string  `json:"cluster,omitempty"`
	Workload          string  `json:"workload,omitempty"`
	ReplicasRequested int     `json:"replicas_requested"`
	// Nodes, SchedulableNodes and Pods say what the answer was computed
	// from, so that a truncated or stale snapshot shows.
	Nodes            int `json:"nodes"`
	SchedulableNodes int `json:"schedulable_nodes"`
	Pods             int `json:"pods"`
	// ReplicasFit is the count of replicas placed in the simulation;
	// ReplicasFitMin and ReplicasFitMax bound it when the answer depends on
	// the scheduler's tie-breaking (equal otherwise).
	ReplicasFit    int `json:"replicas_fit"`
	ReplicasFitMin int `json:"replicas_fit_min"`
	ReplicasFitMax int `json:"replicas_fit_max"`
	// Reasons explain a fail or unknown verdict; the first unschedulable
	// replica's is worded as kube-scheduler words it ("0/12 nodes are
	// available: 4 Insufficient cpu, ...").
	Reasons []string `json:"reasons"`
	// Placement is where the replicas went, per node pool.
	Placement []PoolPlacement `json:"placement"`
	// Rollout describes the update of a running workload; nil for a first
	// deploy.
	Rollout *Rollout `json:"rollout,omitempty"`
	// Margin is what is left per resource after the deploy on the
	// schedulable nodes the workload may run on.
	Margin []Margin `json:"margin"`
	// Policy lists each configured policy check.
	Policy []PolicyCheck `json:"policy,omitempty"`
	// Suggestions say what would make it fit ("2 more nodes like
	// pool=general").
	Suggestions []string `json:"suggestions,omitempty"`
	// Notes say where the answer is approximate (scoring the model does not
	// replicate); they never change the verdict.
	Notes []string `json:"notes,omitempty"`
}

// PoolPlacement is how many replicas landed in one node pool, with the
// range over the scheduler's tie-breaking.
type PoolPlacement struct {
	Pool     string `json:"pool"`
	Replicas int    `json:"replicas"`
	Min      int    `json:"min"`
	Max      int    `json:"max"`
}

// Rollout is the simulated rolling update of a running workload.
type Rollout struct {
	Strategy       string `json:"strategy"`
	OldReplicas    int    `json:"old_replicas"`
	MaxSurge       int    `json:"max_surge"`
	MaxUnavailable int    `json:"max_unavailable"`
	// PeakPods is the most pods of the workload that existed at once.
	PeakPods int `json:"peak_pods"`
	// Completed says whether every old pod was replaced.
	Completed bool `json:"completed"`
}

// Margin is one resource's room left on schedulable nodes after the deploy.
type Margin struct {
	Resource    corev1.ResourceName `json:"resource"`
	Allocatable string              `json:"allocatable"`
	Requested   string              `json:"requested"`
	Free        string              `json:"free"`
	// RequestedShare is Requested / Allocatable.
	RequestedShare float64 `json:"requested_share"`
}

// PolicyCheck is the outcome of one headroom policy.
type PolicyCheck struct {
	Name   string `json:"name"`
	Pass   bool   `json:"pass"`
	Detail string `json:"detail"`
}
