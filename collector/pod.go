package collector

import (
	"slices"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Pod is what the collector's informer cache holds of a pod: its metadata
// and node of its own, and the rest of its spec and status shared with
// every pod that has equal ones (a Deployment's replicas have one spec, and
// most of them one status).
//
// A corev1.Pod is 1,240 bytes before any of its fields points anywhere; a
// daemon that caches every pod of a datacenter spent a third of its live
// heap on those structs alone (15,000 pods: 19 of 60 MB). A Pod is 264.
//
// A Pod is built by NewPod, and read-only, like everything an informer
// cache hands out.
type Pod struct {
	// Name, namespace, UID, resourceVersion, labels, owner references,
	// creation and deletion times; nothing else is kept.
	metav1.ObjectMeta
	NodeName string
	spec     *corev1.PodSpec   // shared; its NodeName is empty
	status   *corev1.PodStatus // shared
	// facts is what aggregation derived from this version of the pod
	// (PodCache); set by the cycle, read by nothing else.
	facts atomic.Pointer[podFacts]
}

// NewPod keeps of p what the collector and the capacity model read (see
// slimObjects), sharing what equal pods share. p must not be modified
// afterwards: the Pod may refer to its labels and scheduling terms.
func NewPod(p *corev1.Pod) *Pod {
	spec := corev1.PodSpec{
		Overhead: p.Spec.Overhead, Resources: p.Spec.Resources,
		NodeSelector: p.Spec.NodeSelector, Affinity: p.Spec.Affinity,
		// Clipped, as every shared slice: a reader's append copies.
		Tolerations:               slices.Clip(p.Spec.Tolerations),
		TopologySpreadConstraints: slices.Clip(p.Spec.TopologySpreadConstraints),
		PriorityClassName:         p.Spec.PriorityClassName, Priority: p.Spec.Priority,
		PreemptionPolicy: p.Spec.PreemptionPolicy, SchedulerName: p.Spec.SchedulerName,
		Containers: slimContainers(p.Spec.Containers), InitContainers: slimContainers(p.Spec.InitContainers),
	}
	status := corev1.PodStatus{
		Phase: p.Status.Phase, NominatedNodeName: p.Status.NominatedNodeName,
		Resources: p.Status.Resources, AllocatedResources: p.Status.AllocatedResources,
		ContainerStatuses:     slimStatuses(p.Status.ContainerStatuses),
		InitContainerStatuses: slimStatuses(p.Status.InitContainerStatuses),
	}
	return &Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			Labels: sharedLabels.intern(p.Labels), OwnerReferences: sharedOwners.intern(p.OwnerReferences),
			CreationTimestamp: p.CreationTimestamp, DeletionTimestamp: p.DeletionTimestamp,
		},
		NodeName: p.Spec.NodeName,
		spec:     &sharedSpecs.intern([]corev1.PodSpec{spec})[0],
		status:   &sharedStatuses.intern([]corev1.PodStatus{status})[0],
	}
}

func slimContainers(cs []corev1.Container) []corev1.Container {
	if len(cs) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i, c := range cs {
		out[i] = corev1.Container{Name: c.Name, Image: c.Image, Resources: c.Resources,
			RestartPolicy: c.RestartPolicy, Ports: c.Ports}
	}
	return out
}

func slimStatuses(ss []corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(ss) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(ss))
	for i, s := range ss {
		out[i] = corev1.ContainerStatus{Name: s.Name, RestartCount: s.RestartCount, Ready: s.Ready,
			Resources: s.Resources, AllocatedResources: s.AllocatedResources}
	}
	return out
}

// PodsOf keeps each of pods as NewPod does.
func PodsOf(pods ...*corev1.Pod) []*Pod {
	out := make([]*Pod, len(pods))
	for i, p := range pods {
		out[i] = NewPod(p)
	}
	return out
}

// String names the pod (the embedded ObjectMeta's String would print
// its metadata as if it were the whole pod).
func (p *Pod) String() string { return p.Namespace + "/" + p.Name }

// Phase is the pod's phase.
func (p *Pod) Phase() corev1.PodPhase { return p.status.Phase }

// Object builds the corev1.Pod the capacity model reads. It is a new
// struct each call, but its slices, maps and pointers are shared with the
// cache: callers must not modify them.
func (p *Pod) Object() *corev1.Pod {
	out := new(corev1.Pod)
	p.objectInto(out)
	return out
}

func (p *Pod) objectInto(out *corev1.Pod) {
	*out = corev1.Pod{ObjectMeta: p.ObjectMeta, Spec: *p.spec, Status: *p.status}
	out.Spec.NodeName = p.NodeName
}

// restarts is the restart count of the pod's container or init container
// named container.
func (p *Pod) restarts(container string) int32 {
	for _, st := range p.status.ContainerStatuses {
		if st.Name == container {
			return st.RestartCount
		}
	}
	for _, st := range p.status.InitContainerStatuses {
		if st.Name == container {
			return st.RestartCount
		}
	}
	return 0
}

// GetObjectKind and DeepCopyObject make a Pod a runtime.Object, which is
// what an informer's store holds.
func (p *Pod) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies the pod's own metadata; the shared spec and status
// are never modified, so the copy shares them.
// The copy starts without facts.
func (p *Pod) DeepCopyObject() runtime.Object {
	out := &Pod{NodeName: p.NodeName, spec: p.spec, status: p.status}
	p.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	return out
}

// The parts of pods that equal pods share (see intern.go); one table for
// every cluster of the process, as equal templates run in several
// datacenters.
var (
	sharedSpecs    sliceInterner[corev1.PodSpec, *corev1.PodSpec]
	sharedStatuses sliceInterner[corev1.PodStatus, *corev1.PodStatus]
	sharedOwners   sliceInterner[metav1.OwnerReference, *metav1.OwnerReference]
	// The pods of a Deployment, DaemonSet or Job share their labels;
	// a StatefulSet's or an indexed Job's are not entered (perPodLabels),
	// and bare pods with labels of their own are what the bound is for.
	sharedLabels = labelInterner{max: 4096}
)
