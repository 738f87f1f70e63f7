package decode

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// MetricsAPI decodes a metrics.k8s.io v1beta1 response read from r to EOF: a
// PodMetricsList, NodeMetricsList, or a single PodMetrics or NodeMetrics. The
// kind says which; without one, items with containers are pods and items with
// usage are nodes.
//
// metrics.k8s.io gives rates, so every CPU has HasCores (when the usage has a
// cpu) and Window, never a cumulative counter. For pods it returns each
// container and, per pod, the sum of its containers, with HasCores and
// HasMemory set only when every container had that resource.
//
// It returns an error wrapping ErrMalformed for JSON that does not decode, a
// quantity that does not parse, is negative or out of range, an item without
// a name (or a pod without a namespace), and an unreadable window; one
// wrapping ErrUnknownFormat for another kind (such as the API server's
// Status) or an empty list without a kind.
func MetricsAPI(r io.Reader) (*Result, error) {
	b, err := readAll(r)
	if err != nil {
		return nil, fmt.Errorf("read metrics API: %w", err)
	}
	return decodeMetricsAPI(b)
}

// metricsItem is the union of PodMetrics and NodeMetrics; a list's items and
// a single object decode into it alike.
type metricsItem struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Timestamp  time.Time                    `json:"timestamp"`
	Window     string                       `json:"window"`
	Usage      map[string]resource.Quantity `json:"usage"`
	Containers []struct {
		Name  string                       `json:"name"`
		Usage map[string]resource.Quantity `json:"usage"`
	} `json:"containers"`
}

func decodeMetricsAPI(b []byte) (*Result, error) {
	var doc struct {
		Kind  string        `json:"kind"`
		Items []metricsItem `json:"items"`
		metricsItem
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: metrics API: %w", ErrMalformed, err)
	}
	items := doc.Items
	if doc.Items == nil && !strings.HasSuffix(doc.Kind, "List") {
		items = []metricsItem{doc.metricsItem}
	}
	var pods bool
	switch doc.Kind {
	case "PodMetricsList", "PodMetrics":
		pods = true
	case "NodeMetricsList", "NodeMetrics":
	case "":
		var containers, usage bool
		for i := range items {
			containers = containers || items[i].Containers != nil
			usage = usage || items[i].Usage != nil
		}
		if !containers && !usage {
			return nil, fmt.Errorf("%w: metrics API: no kind, and no item with containers or usage", ErrUnknownFormat)
		}
		pods = containers
	default:
		return nil, fmt.Errorf("%w: metrics API: kind %q", ErrUnknownFormat, doc.Kind)
	}
	if !pods {
		res := &Result{Format: FormatMetricsAPINodes, Nodes: make([]Node, 0, len(items))}
		for i := range items {
			it := &items[i]
			if it.Metadata.Name == "" {
				return nil, fmt.Errorf("%w: metrics API: node item %d has no name", ErrMalformed, i)
			}
			n := Node{Name: it.Metadata.Name}
			if err := usage(it.Usage, it, &n.CPU, &n.MemoryWorkingSetBytes, &n.HasMemory); err != nil {
				return nil, fmt.Errorf("%w: metrics API: node %s: %w", ErrMalformed, n.Name, err)
			}
			res.Nodes = append(res.Nodes, n)
		}
		return res, nil
	}
	res := &Result{Format: FormatMetricsAPIPods, Pods: make([]Pod, 0, len(items))}
	for i := range items {
		it := &items[i]
		ns, name := it.Metadata.Namespace, it.Metadata.Name
		if ns == "" || name == "" {
			return nil, fmt.Errorf("%w: metrics API: pod item %d has no name or namespace", ErrMalformed, i)
		}
		window, err := parseWindow(it.Window)
		if err != nil {
			return nil, fmt.Errorf("%w: metrics API: pod %s/%s: %w", ErrMalformed, ns, name, err)
		}
		p := Pod{Namespace: ns, Name: name, CPU: CPU{Window: window, Time: it.Timestamp}}
		allCPU, allMemory := len(it.Containers) > 0, len(it.Containers) > 0
		for _, ic := range it.Containers {
			if ic.Name == "" {
				return nil, fmt.Errorf("%w: metrics API: pod %s/%s: a container has no name", ErrMalformed, ns, name)
			}
			c := Container{Namespace: ns, Pod: name, Container: ic.Name, ID: ContainerID(ns, name, ic.Name)}
			if err := usage(ic.Usage, it, &c.CPU, &c.MemoryWorkingSetBytes, &c.HasMemory); err != nil {
				return nil, fmt.Errorf("%w: metrics API: pod %s/%s container %s: %w", ErrMalformed, ns, name, ic.Name, err)
			}
			p.CPU.Cores += c.CPU.Cores
			p.MemoryWorkingSetBytes += c.MemoryWorkingSetBytes
			allCPU = allCPU && c.CPU.HasCores
			allMemory = allMemory && c.HasMemory
			res.Containers = append(res.Containers, c)
		}
		if !allCPU {
			p.CPU.Cores = 0
		}
		if !allMemory {
			p.MemoryWorkingSetBytes = 0
		}
		p.CPU.HasCores, p.HasMemory = allCPU, allMemory
		res.Pods = append(res.Pods, p)
	}
	return res, nil
}

// usage fills a CPU and a working set from a usage map, taking the time and
// window from the item that holds it.
func usage(u map[string]resource.Quantity, it *metricsItem, cpu *CPU, mem *uint64, hasMem *bool) error {
	window, err := parseWindow(it.Window)
	if err != nil {
		return err
	}
	*cpu = CPU{Window: window, Time: it.Timestamp}
	if q, ok := u["cpu"]; ok {
		if q.Sign() < 0 {
			return fmt.Errorf("negative cpu %s", q.String())
		}
		cores := q.AsApproximateFloat64()
		if math.IsInf(cores, 0) {
			return fmt.Errorf("cpu %s out of range", q.String())
		}
		cpu.Cores, cpu.HasCores = cores, true
	}
	if q, ok := u["memory"]; ok {
		if q.Sign() < 0 {
			return fmt.Errorf("negative memory %s", q.String())
		}
		// Value rounds up to whole bytes but wraps past MaxInt64.
		if q.AsApproximateFloat64() >= math.MaxInt64 {
			return fmt.Errorf("memory %s out of range", q.String())
		}
		*mem, *hasMem = uint64(q.Value()), true
	}
	return nil
}

func parseWindow(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("window %q is not a non-negative duration", s)
	}
	return d, nil
}
