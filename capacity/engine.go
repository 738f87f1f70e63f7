package capacity

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
)

// Options shape how a Cluster is modelled.
type Options struct {
	// Name is the cluster's name, copied into results.
	Name string
	// PoolLabels are the node labels that name a node's pool, first found
	// wins (config's collection.poolLabels).
	PoolLabels []string
}

// Cluster is the scheduler's view of one cluster at one moment: nodes with
// what their pods already hold. It is read-only once built; Check simulates
// on a copy, so one Cluster serves concurrent checks.
type Cluster struct{ opts Options }

// NewCluster compiles nodes and pods into a Cluster. Pods bound to nodes not
// listed, and terminated pods, hold nothing.
func NewCluster(nodes []*corev1.Node, pods []*corev1.Pod, opts Options) *Cluster {
	return &Cluster{opts: opts} // STUB: being written
}

// Check answers whether w fits under policy p.
func (c *Cluster) Check(w *Workload, p Policy) *Result {
	return &Result{Verdict: Unknown, Reasons: []string{"not implemented"}} // STUB
}

// WorkloadFromObject builds a Workload from an apps/v1 Deployment or
// StatefulSet.
func WorkloadFromObject(obj runtime.Object) (*Workload, error) { return nil, nil } // STUB

var _ = appsv1.Deployment{}

// SimpleWorkload is Replicas bare pods requesting cpu and memory, in
// namespace ns, as `headroom check --replicas N --cpu Q --memory Q` asks.
func SimpleWorkload(ns string, replicas int, cpu, memory resource.Quantity) *Workload {
	return nil // STUB
}
