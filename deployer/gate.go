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

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/collector"
	"github.com/headroomhq/headroom/config"
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
	// Scheduler is how the clusters' kube-scheduler is configured.
	Scheduler config.Scheduler
}

// Check implements Gate.
func (g LocalGate) Check(ctx context.Context, c *Cluster, workload runtime.Object) (*capacity.Result, error) {
	w, err := capacity.WorkloadFromObject(workload)
	if err != nil {
		return nil, err
	}
	nodes, pods, err := collector.List(ctx, c.Client)
	if err != nil {
		return nil, err
	}
	return capacity.NewCluster(nodes, pods, capacity.OptionsOf(c.Name, g.PoolLabels, g.Scheduler)).Check(w, g.Policy), nil
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
