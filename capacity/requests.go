package capacity

import corev1 "k8s.io/api/core/v1"

// PodRequests returns what a pod holds on its node as kube-scheduler counts
// it: the sum of its containers and restartable init containers (sidecars),
// or, where larger per resource, what any regular init container needs on top
// of the sidecars started before it; plus the pod overhead. Pods that have
// terminated (Succeeded or Failed) hold nothing.
func PodRequests(pod *corev1.Pod) corev1.ResourceList {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return corev1.ResourceList{}
	}
	reqs := corev1.ResourceList{}
	for _, c := range pod.Spec.Containers {
		addTo(reqs, c.Resources.Requests)
	}
	// Sidecars run alongside the containers; a regular init container runs
	// alone, next to the sidecars started before it.
	sidecars := corev1.ResourceList{}
	initPeak := corev1.ResourceList{}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			addTo(reqs, c.Resources.Requests)
			addTo(sidecars, c.Resources.Requests)
			continue
		}
		step := sidecars.DeepCopy()
		addTo(step, c.Resources.Requests)
		maxInto(initPeak, step)
	}
	maxInto(reqs, initPeak)
	addTo(reqs, pod.Spec.Overhead)
	return reqs
}

func addTo(dst, src corev1.ResourceList) {
	for name, q := range src {
		sum := dst[name]
		sum.Add(q)
		dst[name] = sum
	}
}

func maxInto(dst, src corev1.ResourceList) {
	for name, q := range src {
		if cur, ok := dst[name]; !ok || q.Cmp(cur) > 0 {
			dst[name] = q.DeepCopy()
		}
	}
}
