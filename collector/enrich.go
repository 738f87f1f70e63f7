package collector

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Workload is the controller that owns a pod, followed up the owner chain:
// a ReplicaSet's Deployment, a Job's CronJob.
type Workload struct {
	Kind string // Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, ..., or Pod when unowned
	Name string
}

// OwnerLookup answers who owns a ReplicaSet or a Job (nil when unknown or
// unowned). The collector backs it with informers' listers.
type OwnerLookup interface {
	ReplicaSetOwner(namespace, name string) *metav1.OwnerReference
	JobOwner(namespace, name string) *metav1.OwnerReference
}

// WorkloadOf resolves the pod's top-level workload. Without a lookup entry a
// ReplicaSet whose name ends in a pod-template-hash is attributed to the
// Deployment named by the rest, as kubectl does.
func WorkloadOf(pod *corev1.Pod, owners OwnerLookup) Workload {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return Workload{Kind: "Pod", Name: pod.Name}
	}
	switch ref.Kind {
	case "ReplicaSet":
		if owners != nil {
			if up := owners.ReplicaSetOwner(pod.Namespace, ref.Name); up != nil {
				return Workload{Kind: up.Kind, Name: up.Name}
			}
		}
		if hash := pod.Labels["pod-template-hash"]; hash != "" && len(ref.Name) > len(hash)+1 &&
			ref.Name[len(ref.Name)-len(hash)-1:] == "-"+hash {
			return Workload{Kind: "Deployment", Name: ref.Name[:len(ref.Name)-len(hash)-1]}
		}
	case "Job":
		if owners != nil {
			if up := owners.JobOwner(pod.Namespace, ref.Name); up != nil {
				return Workload{Kind: up.Kind, Name: up.Name}
			}
		}
	}
	return Workload{Kind: ref.Kind, Name: ref.Name}
}

// AppOf names the pod's app: the first of labels the pod carries, else the
// workload's name. Pods of one app keep one name wherever they run.
func AppOf(pod *corev1.Pod, labels []string, w Workload) string {
	for _, l := range labels {
		if v := pod.Labels[l]; v != "" {
			return v
		}
	}
	return w.Name
}
