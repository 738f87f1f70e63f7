package deployer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/headroomhq/headroom/capacity"
)

// Gate checks that a workload fits a cluster, through its rollout, before
// it is applied there.
type Gate interface {
	Check(ctx context.Context, c *Cluster, workload runtime.Object) (*capacity.Result, error)
}

// LocalGate reads the cluster's nodes and pods and asks capacity.
type LocalGate struct {
	Policy     capacity.Policy
	PoolLabels []string
}

// Check implements Gate.
func (g LocalGate) Check(ctx context.Context, c *Cluster, workload runtime.Object) (*capacity.Result, error) {
	w, err := capacity.WorkloadFromObject(workload)
	if err != nil {
		return nil, err
	}
	var nodes []*corev1.Node
	opts := metav1.ListOptions{Limit: 500}
	for {
		l, err := c.Client.CoreV1().Nodes().List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list nodes: %w", err)
		}
		for i := range l.Items {
			nodes = append(nodes, &l.Items[i])
		}
		if opts.Continue = l.Continue; opts.Continue == "" {
			break
		}
	}
	var pods []*corev1.Pod
	opts = metav1.ListOptions{Limit: 500, FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"}
	for {
		l, err := c.Client.CoreV1().Pods("").List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list pods: %w", err)
		}
		for i := range l.Items {
			pods = append(pods, &l.Items[i])
		}
		if opts.Continue = l.Continue; opts.Continue == "" {
			break
		}
	}
	return capacity.NewCluster(nodes, pods, capacity.Options{Name: c.Name, PoolLabels: g.PoolLabels}).Check(w, g.Policy), nil
}

// RemoteGate asks headroomd (POST /api/v1/check), which answers from its
// informer caches. headroomd must know the cluster by the same name.
type RemoteGate struct {
	URL    string
	Policy *capacity.Policy // nil: headroomd's configured policy
	Client *http.Client
}

// Check implements Gate.
func (g RemoteGate) Check(ctx context.Context, c *Cluster, workload runtime.Object) (*capacity.Result, error) {
	manifest, err := json.Marshal(workload)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{"cluster": c.Name, "manifest": string(manifest), "policy": g.Policy})
	if err != nil {
		return nil, err
	}
	u, err := url.JoinPath(g.URL, "/api/v1/check")
	if err != nil {
		return nil, fmt.Errorf("gate.headroomd: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := g.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("headroomd gate: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("headroomd gate: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("headroomd gate: %s", e.Error)
		}
		return nil, fmt.Errorf("headroomd gate answered %s", resp.Status)
	}
	var res capacity.Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("headroomd gate: %w", err)
	}
	return &res, nil
}
