package collector

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"
)

// listPageSize is how many objects one list request asks for, as kubectl's
// chunking does, so that a large cluster's pods come in pieces the API
// server serves from its cache.
const listPageSize = 500

// List reads a cluster's nodes and its pods that have not terminated
// (terminated pods hold nothing; leaving them out spares the transfer), in
// pages, once: what `headroom check`, `headroom top` and the deploy gate
// read where no informer runs.
func List(ctx context.Context, cs kubernetes.Interface) (nodes []*corev1.Node, pods []*corev1.Pod, err error) {
	if nodes, err = ListNodes(ctx, cs); err != nil {
		return nil, nil, err
	}
	if pods, err = ListPods(ctx, cs, "status.phase!=Succeeded,status.phase!=Failed"); err != nil {
		return nil, nil, err
	}
	return nodes, pods, nil
}

// ListNodes reads a cluster's nodes in pages.
func ListNodes(ctx context.Context, cs kubernetes.Interface) ([]*corev1.Node, error) {
	var nodes []*corev1.Node
	err := listPaged(ctx, "nodes", metav1.ListOptions{}, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return cs.CoreV1().Nodes().List(ctx, opts)
	}, func(o runtime.Object) { nodes = append(nodes, o.(*corev1.Node)) })
	return nodes, err
}

// ListPods reads the pods of every namespace that match fieldSelector
// ("" for all), in pages.
func ListPods(ctx context.Context, cs kubernetes.Interface, fieldSelector string) ([]*corev1.Pod, error) {
	var pods []*corev1.Pod
	err := listPaged(ctx, "pods", metav1.ListOptions{FieldSelector: fieldSelector}, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return cs.CoreV1().Pods("").List(ctx, opts)
	}, func(o runtime.Object) { pods = append(pods, o.(*corev1.Pod)) })
	return pods, err
}

// listPaged lists in pages of listPageSize. An expired continue token falls
// back to a full list, as client-go's pager.List does.
func listPaged(ctx context.Context, what string, opts metav1.ListOptions, page func(context.Context, metav1.ListOptions) (runtime.Object, error), each func(runtime.Object)) error {
	p := pager.New(pager.ListPageFunc(page))
	p.PageSize = listPageSize
	// List, not EachListItem: only List starts over with a full list when
	// a continue token has expired (410 Gone).
	l, _, err := p.List(ctx, opts)
	if err != nil {
		return fmt.Errorf("list %s: %w", what, err)
	}
	return meta.EachListItem(l, func(o runtime.Object) error { each(o); return nil })
}
