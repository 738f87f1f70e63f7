package decode

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Summary decodes the kubelet's /stats/summary response (Summary API,
// stats/v1alpha1) read from r to EOF: the node, each pod's own cgroup, and
// each container.
//
// Every section but the node's name is optional, as kubelets of different
// versions and runtimes leave out different ones: a missing cpu or memory
// section, or value, leaves the Has flags false; a missing network leaves
// Network nil; missing filesystems leave zeros. Nothing is dropped, unlike
// ResourceMetrics: the Summary API has no completeness rule to follow.
//
// It returns an error wrapping ErrMalformed for JSON that does not decode into
// the Summary API's shape, for a summary without a node name, and for a pod
// without a name or namespace or a container without a name.
func Summary(r io.Reader) (*Result, error) {
	b, err := readAll(r)
	if err != nil {
		return nil, fmt.Errorf("read stats summary: %w", err)
	}
	return decodeSummary(b)
}

// SummaryBytes is Summary over a response already in memory; the result
// does not refer to b, which the caller may reuse.
func SummaryBytes(b []byte) (*Result, error) { return decodeSummary(b) }

// The parts of stats/v1alpha1 this package reads. Pointers tell an absent
// section or value from a zero one.
type (
	summaryJSON struct {
		Node *struct {
			NodeName string          `json:"nodeName"`
			CPU      *summaryCPU     `json:"cpu"`
			Memory   *summaryMemory  `json:"memory"`
			Network  *summaryNetwork `json:"network"`
			Fs       *summaryFs      `json:"fs"`
		} `json:"node"`
		Pods []struct {
			PodRef struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"podRef"`
			Containers []struct {
				Name      string         `json:"name"`
				StartTime time.Time      `json:"startTime"`
				CPU       *summaryCPU    `json:"cpu"`
				Memory    *summaryMemory `json:"memory"`
				Rootfs    *summaryFs     `json:"rootfs"`
				Logs      *summaryFs     `json:"logs"`
			} `json:"containers"`
			CPU     *summaryCPU     `json:"cpu"`
			Memory  *summaryMemory  `json:"memory"`
			Network *summaryNetwork `json:"network"`
		} `json:"pods"`
	}
	summaryCPU struct {
		Time                 time.Time `json:"time"`
		UsageNanoCores       *uint64   `json:"usageNanoCores"`
		UsageCoreNanoSeconds *uint64   `json:"usageCoreNanoSeconds"`
	}
	summaryMemory struct {
		WorkingSetBytes *uint64 `json:"workingSetBytes"`
	}
	summaryInterface struct {
		RxBytes *uint64 `json:"rxBytes"`
		TxBytes *uint64 `json:"txBytes"`
	}
	summaryNetwork struct {
		Time time.Time `json:"time"`
		// The default interface, inlined by the kubelet.
		summaryInterface
		Interfaces []summaryInterface `json:"interfaces"`
	}
	summaryFs struct {
		AvailableBytes *uint64 `json:"availableBytes"`
		CapacityBytes  *uint64 `json:"capacityBytes"`
		UsedBytes      *uint64 `json:"usedBytes"`
	}
)

func decodeSummary(b []byte) (*Result, error) {
	var s summaryJSON
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: stats summary: %w", ErrMalformed, err)
	}
	if s.Node == nil || s.Node.NodeName == "" {
		return nil, fmt.Errorf("%w: stats summary: no node name", ErrMalformed)
	}
	n := s.Node
	node := Node{
		Name:    n.NodeName,
		CPU:     n.CPU.cpu(),
		Network: n.Network.network(),
	}
	node.MemoryWorkingSetBytes, node.HasMemory = n.Memory.workingSet()
	if n.Fs != nil {
		node.FsCapacityBytes = value(n.Fs.CapacityBytes)
		node.FsUsedBytes = value(n.Fs.UsedBytes)
		node.FsAvailableBytes = value(n.Fs.AvailableBytes)
	}
	res := &Result{Format: FormatSummary, Nodes: []Node{node}, Pods: make([]Pod, 0, len(s.Pods))}
	containers := 0
	for _, p := range s.Pods {
		containers += len(p.Containers)
	}
	res.Containers = make([]Container, 0, containers)
	for i, p := range s.Pods {
		ns, name := p.PodRef.Namespace, p.PodRef.Name
		if ns == "" || name == "" {
			return nil, fmt.Errorf("%w: stats summary: pod %d has no name or namespace", ErrMalformed, i)
		}
		pod := Pod{Namespace: ns, Name: name, CPU: p.CPU.cpu(), Network: p.Network.network()}
		pod.MemoryWorkingSetBytes, pod.HasMemory = p.Memory.workingSet()
		res.Pods = append(res.Pods, pod)
		for j, c := range p.Containers {
			if c.Name == "" {
				return nil, fmt.Errorf("%w: stats summary: pod %s/%s: container %d has no name", ErrMalformed, ns, name, j)
			}
			ctr := Container{Namespace: ns, Pod: name, Container: c.Name, ID: ContainerID(ns, name, c.Name), StartTime: c.StartTime, CPU: c.CPU.cpu()}
			ctr.MemoryWorkingSetBytes, ctr.HasMemory = c.Memory.workingSet()
			if c.Rootfs != nil {
				ctr.RootfsUsedBytes = value(c.Rootfs.UsedBytes)
			}
			if c.Logs != nil {
				ctr.LogsUsedBytes = value(c.Logs.UsedBytes)
			}
			res.Containers = append(res.Containers, ctr)
		}
	}
	return res, nil
}

func (c *summaryCPU) cpu() CPU {
	if c == nil {
		return CPU{}
	}
	out := CPU{Time: c.Time}
	if c.UsageCoreNanoSeconds != nil {
		out.CumulativeSeconds, out.HasCumulative = float64(*c.UsageCoreNanoSeconds)/1e9, true
	}
	if c.UsageNanoCores != nil {
		out.Cores, out.HasCores = float64(*c.UsageNanoCores)/1e9, true
	}
	return out
}

func (m *summaryMemory) workingSet() (uint64, bool) {
	if m == nil || m.WorkingSetBytes == nil {
		return 0, false
	}
	return *m.WorkingSetBytes, true
}

// network returns the default interface's counters, or, where the kubelet
// left them out, the sum over all interfaces.
func (n *summaryNetwork) network() *Network {
	if n == nil {
		return nil
	}
	out := &Network{Time: n.Time}
	if n.RxBytes != nil || n.TxBytes != nil {
		out.RxBytes, out.TxBytes = value(n.RxBytes), value(n.TxBytes)
		return out
	}
	for _, i := range n.Interfaces {
		out.RxBytes += value(i.RxBytes)
		out.TxBytes += value(i.TxBytes)
	}
	return out
}

func value(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}
