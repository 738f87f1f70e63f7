package deployer

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func int32p(v int32) *int32 { return &v }

func TestDeploymentStatusFollowsKubectl(t *testing.T) {
	d := func(gen, observed int64, replicas int32, st appsv1.DeploymentStatus) *appsv1.Deployment {
		st.ObservedGeneration = observed
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: gen},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas}, Status: st}
	}
	for _, tt := range []struct {
		name   string
		d      *appsv1.Deployment
		done   bool
		failed bool
		msg    string
	}{
		{"spec not observed", d(3, 2, 3, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}), false, false, "new spec to be observed"},
		{"updating", d(3, 3, 3, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, AvailableReplicas: 3}), false, false, "1 of 3 new replicas have been updated"},
		{"old pending termination", d(3, 3, 3, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 3, AvailableReplicas: 3}), false, false, "1 old replicas are pending termination"},
		{"not yet available", d(3, 3, 3, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 2}), false, false, "2 of 3 updated replicas are available"},
		{"done", d(3, 3, 3, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}), true, false, "3 of 3 replicas updated and available"},
		{"deadline exceeded", d(3, 3, 3, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, AvailableReplicas: 3,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded",
				Message: `ReplicaSet "web-1" has timed out progressing.`}}}), false, true,
			`deployment "web" exceeded its progress deadline (600s): ReplicaSet "web-1" has timed out progressing`},
	} {
		got := DeploymentStatus(tt.d)
		if got.Done != tt.done || got.Failed != tt.failed || !strings.Contains(got.Message, tt.msg) {
			t.Errorf("%s: %+v, want done %v failed %v %q", tt.name, got, tt.done, tt.failed, tt.msg)
		}
	}
}

func TestStatefulSetStatusFollowsKubectl(t *testing.T) {
	s := func(gen, observed int64, st appsv1.StatefulSetStatus, partition *int32) *appsv1.StatefulSet {
		st.ObservedGeneration = observed
		ss := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Generation: gen},
			Spec: appsv1.StatefulSetSpec{Replicas: int32p(3),
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType}}, Status: st}
		if partition != nil {
			ss.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: partition}
		}
		return ss
	}
	for _, tt := range []struct {
		name string
		s    *appsv1.StatefulSet
		done bool
		msg  string
	}{
		{"not observed", s(2, 1, appsv1.StatefulSetStatus{}, nil), false, "new spec to be observed"},
		{"pods not ready", s(2, 2, appsv1.StatefulSetStatus{ReadyReplicas: 2}, nil), false, "2 of 3 pods are ready"},
		{"revision rolling", s(2, 2, appsv1.StatefulSetStatus{ReadyReplicas: 3, UpdatedReplicas: 1, CurrentRevision: "a", UpdateRevision: "b"}, nil), false, "1 of 3 pods at the new revision b"},
		{"done", s(2, 2, appsv1.StatefulSetStatus{ReadyReplicas: 3, UpdatedReplicas: 3, CurrentRevision: "b", UpdateRevision: "b"}, nil), true, "3 of 3 pods ready at revision b"},
		{"partition waiting", s(2, 2, appsv1.StatefulSetStatus{ReadyReplicas: 3, UpdatedReplicas: 0, CurrentRevision: "a", UpdateRevision: "b"}, int32p(2)), false, "0 of 1 pods updated (partition 2)"},
		{"partition done", s(2, 2, appsv1.StatefulSetStatus{ReadyReplicas: 3, UpdatedReplicas: 1, CurrentRevision: "a", UpdateRevision: "b"}, int32p(2)), true, "partitioned roll out complete"},
	} {
		got := StatefulSetStatus(tt.s)
		if got.Done != tt.done || !strings.Contains(got.Message, tt.msg) {
			t.Errorf("%s: %+v, want done %v %q", tt.name, got, tt.done, tt.msg)
		}
	}
}
