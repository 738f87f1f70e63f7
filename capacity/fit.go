package capacity

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Insufficient says that a node lacks room for a pod's request of one
// resource, in the numbers kube-scheduler's NodeResourcesFit reports.
type Insufficient struct {
	Resource  corev1.ResourceName
	Requested resource.Quantity // what the pod asks
	Used      resource.Quantity // what the node's pods already request
	Capacity  resource.Quantity // the node's allocatable
}

// Reason renders it as the scheduler words it ("Insufficient cpu").
func (i Insufficient) Reason() string { return "Insufficient " + string(i.Resource) }

// ReasonTooManyPods is the scheduler's reason when a node's pod count is full.
const ReasonTooManyPods = "Too many pods"

// Fits checks a pod's effective request (PodRequests) against a node as
// kube-scheduler's NodeResourcesFit filter does: one more pod must fit the
// node's pod count, and for every resource the pod requests (a resource it
// requests none of is not checked) the node's allocatable minus what its
// pods already request must cover the request. It returns the scheduler's
// reasons, none when the pod fits, and the per-resource details.
func Fits(n *Node, req corev1.ResourceList) (reasons []string, insufficient []Insufficient) {
	if podsA, ok := n.Allocatable[corev1.ResourcePods]; ok && int64(n.Pods)+1 > podsA.Value() {
		reasons = append(reasons, ReasonTooManyPods)
	}
	for _, name := range sortedNames(req) {
		if name == corev1.ResourcePods {
			continue
		}
		want := req[name]
		if want.Sign() <= 0 {
			continue
		}
		alloc := n.Allocatable[name]
		used := n.Requested[name]
		free := alloc.DeepCopy()
		free.Sub(used)
		if want.Cmp(free) > 0 {
			insufficient = append(insufficient, Insufficient{Resource: name, Requested: want, Used: used, Capacity: alloc})
			reasons = append(reasons, "Insufficient "+string(name))
		}
	}
	return reasons, insufficient
}

// sortedNames orders resources as the scheduler reports them: cpu, memory,
// ephemeral-storage, then the rest by name.
func sortedNames(rl corev1.ResourceList) []corev1.ResourceName {
	first := []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}
	var out []corev1.ResourceName
	for _, n := range first {
		if _, ok := rl[n]; ok {
			out = append(out, n)
		}
	}
	var rest []string
	for n := range rl {
		if n != corev1.ResourceCPU && n != corev1.ResourceMemory && n != corev1.ResourceEphemeralStorage {
			rest = append(rest, string(n))
		}
	}
	slices.Sort(rest)
	for _, n := range rest {
		out = append(out, corev1.ResourceName(n))
	}
	return out
}

// String renders an Insufficient for logs and reports.
func (i Insufficient) String() string {
	return fmt.Sprintf("%s: requested %s, %s of %s already requested", i.Resource, i.Requested.String(), i.Used.String(), i.Capacity.String())
}
