package deployer

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Status is a rollout's state, judged as `kubectl rollout status` judges
// it.
type Status struct {
	// Done: every replica runs the new template and is available.
	Done bool
	// Message says what is being waited for ("2 of 3 updated replicas are
	// available"), or why it failed.
	Message string
	// Failed: the rollout cannot complete without a change
	// (ProgressDeadlineExceeded).
	Failed bool
}

// DeploymentStatus is d's rollout status, by the rules of kubectl's
// DeploymentStatusViewer.
func DeploymentStatus(d *appsv1.Deployment) Status {
	if d.Generation > d.Status.ObservedGeneration {
		return Status{Message: "waiting for the deployment's new spec to be observed"}
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return Status{Failed: true, Message: fmt.Sprintf("deployment %q exceeded its progress deadline (%ds): %s",
				d.Name, deadline(d), strings.TrimSuffix(c.Message, "."))}
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	switch {
	case s.UpdatedReplicas < want:
		return Status{Message: fmt.Sprintf("%d of %d new replicas have been updated", s.UpdatedReplicas, want)}
	case s.Replicas > s.UpdatedReplicas:
		return Status{Message: fmt.Sprintf("%d old replicas are pending termination", s.Replicas-s.UpdatedReplicas)}
	case s.AvailableReplicas < s.UpdatedReplicas:
		return Status{Message: fmt.Sprintf("%d of %d updated replicas are available", s.AvailableReplicas, s.UpdatedReplicas)}
	}
	return Status{Done: true, Message: fmt.Sprintf("%d of %d replicas updated and available", s.AvailableReplicas, want)}
}

func deadline(d *appsv1.Deployment) int32 {
	if d.Spec.ProgressDeadlineSeconds != nil {
		return *d.Spec.ProgressDeadlineSeconds
	}
	return 600
}

// StatefulSetStatus is s's rollout status, by the rules of kubectl's
// StatefulSetStatusViewer (RollingUpdate strategy).
func StatefulSetStatus(s *appsv1.StatefulSet) Status {
	if s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return Status{Done: true, Message: "OnDelete update strategy: pods update only when deleted"}
	}
	if s.Status.ObservedGeneration == 0 || s.Generation > s.Status.ObservedGeneration {
		return Status{Message: "waiting for the statefulset's new spec to be observed"}
	}
	want := int32(1)
	if s.Spec.Replicas != nil {
		want = *s.Spec.Replicas
	}
	st := s.Status
	if st.ReadyReplicas < want {
		return Status{Message: fmt.Sprintf("%d of %d pods are ready", st.ReadyReplicas, want)}
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		if st.UpdatedReplicas < want-*ru.Partition {
			return Status{Message: fmt.Sprintf("%d of %d pods updated (partition %d)", st.UpdatedReplicas, want-*ru.Partition, *ru.Partition)}
		}
		return Status{Done: true, Message: fmt.Sprintf("partitioned roll out complete: %d new pods", st.UpdatedReplicas)}
	}
	if st.UpdateRevision != st.CurrentRevision {
		return Status{Message: fmt.Sprintf("%d of %d pods at the new revision %s", st.UpdatedReplicas, want, st.UpdateRevision)}
	}
	return Status{Done: true, Message: fmt.Sprintf("%d of %d pods ready at revision %s", st.ReadyReplicas, want, st.CurrentRevision)}
}

// podReady says whether a pod's Ready condition is true.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
