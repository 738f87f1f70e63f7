package localstack

import (
	"fmt"
	"os"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// PoolLabel is the node label that names a node's pool on every simulated node.
const PoolLabel = "headroom.local/pool"

// NeverReadyImageMarker makes a pod never become ready: kwok starts any pod
// whose container image contains it but never reports its containers ready.
// Use it as a tag (registry.local/app:never-ready) in failed-rollout tests.
const NeverReadyImageMarker = "never-ready"

// Usage annotations read by kwok on every pod (see kwok.go). Usage is the
// constant part; the growth annotations add rate × seconds since the pod was
// created, which simulates a leak.
const (
	AnnotationUsageCPU            = "kwok.x-k8s.io/usage-cpu"
	AnnotationUsageMemory         = "kwok.x-k8s.io/usage-memory"
	AnnotationCPUGrowthPerSec     = "headroom.local/usage-cpu-growth-per-second"
	AnnotationMemGrowthPerSec     = "headroom.local/usage-memory-growth-per-second"
	annotationKwokNode            = "kwok.x-k8s.io/node"
	annotationResourceMetricsPath = "metrics.k8s.io/resource-metrics-path"
)

// Spec declares the stack: which clusters and, in each, which node pools.
type Spec struct {
	// Clusters to run; names must be unique DNS labels.
	Clusters []ClusterSpec `json:"clusters"`
}

// ClusterSpec declares one simulated cluster.
type ClusterSpec struct {
	Name  string     `json:"name"`
	Pools []NodePool `json:"pools"`
	// KubeletNetns, when set, puts this cluster's kubelet endpoints at the
	// address of a test host in a network namespace the stack creates, so that
	// the apiserver's node proxy (which refuses loopback) can reach them.
	KubeletNetns bool `json:"kubeletNetns,omitempty"`
	// MetricsResolution is metrics-server's --metric-resolution; default 10s.
	MetricsResolution string `json:"metricsResolution,omitempty"`
	// PercentageOfNodesToScore is the scheduler's setting of that name; 0
	// keeps its adaptive default. 100 makes every node filtered and scored,
	// so that a replay of many nodes does not depend on which ones the
	// scheduler happened to sample.
	PercentageOfNodesToScore int `json:"percentageOfNodesToScore,omitempty"`
	// Parallelism is the scheduler's setting of that name (how many
	// goroutines filter and score nodes); 0 keeps its default, 16. With 1
	// the scheduler walks the nodes in one goroutine, and which of several
	// equally scored nodes it binds to no longer depends on goroutine timing.
	Parallelism int `json:"parallelism,omitempty"`
}

// NodePool declares Count identical kwok nodes named <pool>-<i>.
type NodePool struct {
	Name   string            `json:"name"`
	Count  int               `json:"count"`
	CPU    string            `json:"cpu"`
	Memory string            `json:"memory"`
	Pods   int               `json:"pods,omitempty"` // default 110
	Labels map[string]string `json:"labels,omitempty"`
	Taints []corev1.Taint    `json:"taints,omitempty"`
	// Extended resources, e.g. {"nvidia.com/gpu": "4"}.
	Extended map[string]string `json:"extended,omitempty"`
}

// DefaultClusters are the production datacenters.
var DefaultClusters = []string{"osl2", "osl3", "ksd1"}

// DefaultPools is the node layout every cluster gets unless a spec says otherwise:
// a general pool, a high-memory pool, and one tainted GPU node.
func DefaultPools() []NodePool {
	return []NodePool{
		{Name: "general", Count: 3, CPU: "4", Memory: "16Gi"},
		{Name: "highmem", Count: 2, CPU: "8", Memory: "64Gi"},
		{Name: "gpu", Count: 1, CPU: "16", Memory: "64Gi",
			Extended: map[string]string{"nvidia.com/gpu": "4"},
			Taints:   []corev1.Taint{{Key: "nvidia.com/gpu", Value: "present", Effect: corev1.TaintEffectNoSchedule}}},
	}
}

// DefaultSpec returns clusters with DefaultPools each.
func DefaultSpec(names ...string) Spec {
	if len(names) == 0 {
		names = DefaultClusters
	}
	var s Spec
	for _, n := range names {
		s.Clusters = append(s.Clusters, ClusterSpec{Name: n, Pools: DefaultPools()})
	}
	return s
}

// LoadSpec reads a Spec from a YAML or JSON file. Unknown fields are errors.
func LoadSpec(path string) (Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("read stack spec: %w", err)
	}
	var s Spec
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

var dnsLabel = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$`)

// Validate checks names, counts and quantities; errors name the field.
func (s Spec) Validate() error {
	if len(s.Clusters) == 0 {
		return fmt.Errorf("clusters: at least one cluster is required")
	}
	seen := map[string]bool{}
	for i, c := range s.Clusters {
		f := fmt.Sprintf("clusters[%d]", i)
		if !dnsLabel.MatchString(c.Name) {
			return fmt.Errorf("%s.name: %q is not a DNS label", f, c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("%s.name: duplicate cluster %q", f, c.Name)
		}
		seen[c.Name] = true
		if c.MetricsResolution != "" {
			d, err := time.ParseDuration(c.MetricsResolution)
			if err != nil || d <= 5*time.Second {
				return fmt.Errorf("%s.metricsResolution: %q: want a duration above the 5s kubelet request timeout", f, c.MetricsResolution)
			}
		}
		if c.PercentageOfNodesToScore < 0 || c.PercentageOfNodesToScore > 100 {
			return fmt.Errorf("%s.percentageOfNodesToScore: %d: want 0 (adaptive) to 100", f, c.PercentageOfNodesToScore)
		}
		if c.Parallelism < 0 {
			return fmt.Errorf("%s.parallelism: %d: want 0 (the scheduler's default) or more", f, c.Parallelism)
		}
		pools := map[string]bool{}
		for j, p := range c.Pools {
			pf := fmt.Sprintf("%s.pools[%d]", f, j)
			if !dnsLabel.MatchString(p.Name) {
				return fmt.Errorf("%s.name: %q is not a DNS label", pf, p.Name)
			}
			if pools[p.Name] {
				return fmt.Errorf("%s.name: duplicate pool %q", pf, p.Name)
			}
			pools[p.Name] = true
			if p.Count < 0 {
				return fmt.Errorf("%s.count: must not be negative", pf)
			}
			if _, err := p.ResourceList(); err != nil {
				return fmt.Errorf("%s: %w", pf, err)
			}
		}
	}
	return nil
}

// ResourceList is the pool's per-node capacity (and allocatable).
func (p NodePool) ResourceList() (corev1.ResourceList, error) {
	rl := corev1.ResourceList{}
	parse := func(field, name, v string) error {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return fmt.Errorf("%s: %q: %w", field, v, err)
		}
		rl[corev1.ResourceName(name)] = q
		return nil
	}
	if err := parse("cpu", "cpu", p.CPU); err != nil {
		return nil, err
	}
	if err := parse("memory", "memory", p.Memory); err != nil {
		return nil, err
	}
	pods := p.Pods
	if pods == 0 {
		pods = 110
	}
	rl[corev1.ResourcePods] = *resource.NewQuantity(int64(pods), resource.DecimalSI)
	for name, v := range p.Extended {
		if err := parse("extended."+name, name, v); err != nil {
			return nil, err
		}
	}
	return rl, nil
}
