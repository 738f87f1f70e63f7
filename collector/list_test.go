package collector

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestList reads every node and pod across pages, each a distinct object.
func TestList(t *testing.T) {
	cs := fake.NewClientset()
	ctx := context.Background()
	for i := range 3 {
		if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("n", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1200 {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprint("p", i)}}
		if _, err := cs.CoreV1().Pods("ns").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	nodes, pods, err := List(ctx, cs)
	if err != nil || len(nodes) != 3 || len(pods) != 1200 {
		t.Fatalf("%d nodes, %d pods, %v", len(nodes), len(pods), err)
	}
	seen := map[string]bool{}
	for _, p := range pods {
		seen[p.Name] = true
	}
	if len(seen) != 1200 {
		t.Errorf("%d distinct pods of 1200: items are not distinct objects", len(seen))
	}
}

// TestListStartsOverWhenTheTokenExpires: a continue token that expired
// between pages (410 Gone) is answered with one full list, each pod once.
func TestListStartsOverWhenTheTokenExpires(t *testing.T) {
	var pods []corev1.Pod
	for i := range 700 {
		pods = append(pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprint("p", i)}})
	}
	cs := fake.NewClientset()
	cs.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		opts := a.(k8stesting.ListActionImpl).ListOptions
		switch {
		case opts.Continue != "":
			return true, nil, apierrors.NewResourceExpired("the continue token has expired")
		case opts.Limit > 0:
			return true, &corev1.PodList{Items: pods[:opts.Limit], ListMeta: metav1.ListMeta{Continue: "next"}}, nil
		}
		return true, &corev1.PodList{Items: pods}, nil
	})
	_, got, err := List(context.Background(), cs)
	if err != nil || len(got) != len(pods) {
		t.Fatalf("%d pods, %v; want %d", len(got), err, len(pods))
	}
}
