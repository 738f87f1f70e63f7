package capacity

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// PoolOf returns the value of the first label in labels that node carries,
// or "" when it carries none.
func PoolOf(node *corev1.Node, labels []string) string {
	for _, l := range labels {
		if v, ok := node.Labels[l]; ok && v != "" {
			return v
		}
	}
	return ""
}

// Node is one node as the capacity model sees it.
type Node struct {
	Name          string
	Pool          string
	Ready         bool
	Unschedulable bool
	Allocatable   corev1.ResourceList
	// Requested is the sum of PodRequests of the pods bound to the node.
	Requested corev1.ResourceList
	Pods      int
}

// Snapshot is a cluster's nodes with what their pods request, at one moment.
type Snapshot struct {
	Nodes []Node
	// Pending counts pods not yet bound to any node.
	Pending int
}

// NewSnapshot pairs nodes with the pods bound to them. Pods on nodes that
// are not listed are ignored; terminated pods hold nothing.
func NewSnapshot(nodes []*corev1.Node, pods []*corev1.Pod, poolLabels []string) *Snapshot {
	s := &Snapshot{Nodes: make([]Node, len(nodes))}
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		s.Nodes[i] = Node{
			Name: n.Name, Pool: PoolOf(n, poolLabels), Ready: nodeReady(n),
			Unschedulable: n.Spec.Unschedulable,
			Allocatable:   n.Status.Allocatable.DeepCopy(),
			Requested:     corev1.ResourceList{},
		}
		index[n.Name] = i
	}
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			if p.Status.Phase == corev1.PodPending {
				s.Pending++
			}
			continue
		}
		j, ok := index[p.Spec.NodeName]
		if !ok || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		addTo(s.Nodes[j].Requested, PodRequests(p))
		s.Nodes[j].Pods++
	}
	return s
}

// Totals sums allocatable and requested over all nodes.
func (s *Snapshot) Totals() (allocatable, requested corev1.ResourceList) {
	allocatable, requested = corev1.ResourceList{}, corev1.ResourceList{}
	for _, n := range s.Nodes {
		addTo(allocatable, n.Allocatable)
		addTo(requested, n.Requested)
	}
	return allocatable, requested
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Get reads a resource from a list, zero when absent.
func Get(rl corev1.ResourceList, name corev1.ResourceName) resource.Quantity {
	return rl[name]
}
