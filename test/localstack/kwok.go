package localstack

import (
	"context"
	_ "embed"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// kwokConfig holds kwok's stages, the resource Metric and the usage rules.
//
//go:embed kwok/kwok.yaml
var kwokConfig []byte

// NodeObjects returns the Node objects for a pool. They carry the annotation
// kwok manages, the kubelet resource-metrics path kwok serves, and their
// addresses: metrics-server cannot scrape a node without an InternalIP, and
// kwok's own initialize stage leaves it out. kwok fills the kubelet port.
func NodeObjects(p NodePool, kubeletIP string) ([]*corev1.Node, error) {
	rl, err := p.ResourceList()
	if err != nil {
		return nil, fmt.Errorf("pool %s: %w", p.Name, err)
	}
	nodes := make([]*corev1.Node, 0, p.Count)
	for i := 0; i < p.Count; i++ {
		name := fmt.Sprintf("%s-%d", p.Name, i)
		labels := map[string]string{
			"kubernetes.io/hostname":           name,
			"kubernetes.io/os":                 "linux",
			"kubernetes.io/arch":               "amd64",
			"node.kubernetes.io/instance-type": "kwok-" + p.Name,
			"type":                             "kwok",
			PoolLabel:                          p.Name,
		}
		for k, v := range p.Labels {
			labels[k] = v
		}
		nodes = append(nodes, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:   name,
				Labels: labels,
				Annotations: map[string]string{
					annotationKwokNode:            "fake",
					annotationResourceMetricsPath: "/metrics/nodes/" + name + "/metrics/resource",
				},
			},
			Spec: corev1.NodeSpec{Taints: append([]corev1.Taint(nil), p.Taints...)},
			Status: corev1.NodeStatus{
				Capacity:    rl.DeepCopy(),
				Allocatable: rl.DeepCopy(),
				// Both types: kwok's initialize stage writes an empty address
				// list over a node that lacks either. The apiserver and
				// metrics-server are told to use InternalIP only, so that no
				// host name is ever sent to the machine's resolver.
				Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: kubeletIP},
					{Type: corev1.NodeHostName, Address: name}},
			},
		})
	}
	return nodes, nil
}

// CreateNodePool creates the pool's nodes in a running cluster; kwok, already
// watching, makes them Ready. Nodes that already exist are left alone.
func CreateNodePool(ctx context.Context, cs kubernetes.Interface, c ClusterState, p NodePool) error {
	nodes, err := NodeObjects(p, c.KubeletIP)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := CreateNode(ctx, cs, n); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// CreateNode creates one node built like NodeObjects' (it may be changed
// first: labels, taints, cordon), with its capacity, allocatable and
// addresses. An error wraps the apiserver's, so apierrors.IsAlreadyExists
// tells an existing node.
func CreateNode(ctx context.Context, cs kubernetes.Interface, n *corev1.Node) error {
	status := n.Status
	created, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{FieldManager: "localstack"})
	if err != nil {
		return fmt.Errorf("create node %s: %w", n.Name, err)
	}
	if len(created.Status.Allocatable) != 0 {
		return nil
	}
	// Should create ever drop status, capacity and allocatable go in
	// through the status subresource.
	created.Status.Capacity, created.Status.Allocatable, created.Status.Addresses = status.Capacity, status.Allocatable, status.Addresses
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{FieldManager: "localstack"}); err != nil {
		return fmt.Errorf("set status of node %s: %w", n.Name, err)
	}
	return nil
}
