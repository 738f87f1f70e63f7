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
// read where no informer runs. An expired continue token falls back to a
// full list, as client-go's pager.List does.
func List(ctx context.Context, cs kubernetes.Interface) (nodes []*corev1.Node, pods []*corev1.Pod, err error) {
	list := func(what string, opts metav1.ListOptions, page func(context.Context, metav1.ListOptions) (runtime.Object, error), each func(runtime.Object)) error {
		p := pager.New(pager.ListPageFunc(page))
		p.PageSize = listPageSize
		// List, not EachListItem: only List starts over with a full list
		// when a continue token has expired (410 Gone).
		l, _, err := p.List(ctx, opts)
		if err != nil {
			return fmt.Errorf("list %s: %w", what, err)
		}
		return meta.EachListItem(l, func(o runtime.Object) error { each(o); return nil })
	}
	err = list("nodes", metav1.ListOptions{}, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return cs.CoreV1().Nodes().List(ctx, opts)
	}, func(o runtime.Object) { nodes = append(nodes, o.(*corev1.Node)) })
	if err != nil {
		return nil, nil, err
	}
	err = list("pods", metav1.ListOptions{FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"},
		func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Pods("").List(ctx, opts)
		}, func(o runtime.Object) { pods = append(pods, o.(*corev1.Pod)) })
	if err != nil {
		return nil, nil, err
	}
	return nodes, pods, nil
}
