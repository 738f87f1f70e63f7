package capacity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func cpu(m int64) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(m, resource.DecimalSI)}}
}

func TestPodRequestsCountsSidecarsLikeTheScheduler(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	tests := []struct {
		name string
		pod  corev1.Pod
		want int64 // millicores
	}{
		{"containers sum", corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: cpu(100)}, {Resources: cpu(200)}}}}, 300},
		{"sidecar adds to the containers", corev1.Pod{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: cpu(50), RestartPolicy: &always}},
			Containers:     []corev1.Container{{Resources: cpu(100)}}}}, 150},
		{"an init container after a sidecar runs beside it", corev1.Pod{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: cpu(50), RestartPolicy: &always}, {Resources: cpu(500)}},
			Containers:     []corev1.Container{{Resources: cpu(100)}}}}, 550},
		{"an init container before the sidecar runs alone", corev1.Pod{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: cpu(500)}, {Resources: cpu(50), RestartPolicy: &always}},
			Containers:     []corev1.Container{{Resources: cpu(100)}}}}, 500},
		{"overhead on top", corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: cpu(100)}},
			Overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}}}, 350},
		{"a terminated pod holds nothing", corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: cpu(100)}}},
			Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PodRequests(&tc.pod)
			if q := got[corev1.ResourceCPU]; q.MilliValue() != tc.want {
				t.Fatalf("cpu = %dm, want %dm", q.MilliValue(), tc.want)
			}
		})
	}
}
