package capacity

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// PodRequests returns what a pod holds on its node as kube-scheduler counts
// it: the sum of its containers and restartable init containers (sidecars),
// or, where larger per resource, what any regular init container needs on top
// of the sidecars started before it; plus the pod overhead. Pod-level
// requests, where set, replace the containers'. It is component-helpers'
// PodRequests, the function kube-scheduler calls. Pods that have terminated
// (Succeeded or Failed) hold nothing.
func PodRequests(pod *corev1.Pod) corev1.ResourceList {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return corev1.ResourceList{}
	}
	return resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
}

func addTo(dst, src corev1.ResourceList) {
	for name, q := range src {
		sum := dst[name]
		sum.Add(q)
		dst[name] = sum
	}
}

// PodRequestsNonZero is PodRequests as the scheduler's LeastAllocated score
// sees it: a container without a cpu or memory request counts as 100m cpu
// and 200Mi memory.
func PodRequestsNonZero(pod *corev1.Pod) corev1.ResourceList {
	return resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{
		NonMissingContainerRequests: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(defaultMilliCPURequest, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(defaultMemoryRequest, resource.DecimalSI),
		},
	})
}
