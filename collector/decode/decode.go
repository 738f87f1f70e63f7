package decode

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Errors returned by the decoders. Every decoding error wraps exactly one of
// them, so a caller can count "not a response we know" apart from "a response
// we know, but broken"; an error from reading the reader is returned wrapped,
// as it is.
var (
	// ErrUnknownFormat means the input is not one of the formats in Format.
	ErrUnknownFormat = errors.New("unknown format")
	// ErrMalformed means the input claims a known format but cannot be
	// decoded: a syntax error, a negative timestamp, a value out of range.
	ErrMalformed = errors.New("malformed input")
)

// Format names the kind of response a Result was decoded from.
type Format string

// The formats this package decodes.
const (
	// FormatResourceMetrics is the kubelet's /metrics/resource endpoint:
	// Prometheus text with cumulative CPU counters.
	FormatResourceMetrics Format = "metrics-resource"
	// FormatSummary is the kubelet's /stats/summary JSON (Summary API).
	FormatSummary Format = "stats-summary"
	// FormatMetricsAPIPods is a metrics.k8s.io v1beta1 PodMetricsList or
	// PodMetrics: rates only.
	FormatMetricsAPIPods Format = "metrics-api-pods"
	// FormatMetricsAPINodes is a metrics.k8s.io v1beta1 NodeMetricsList or
	// NodeMetrics: rates only.
	FormatMetricsAPINodes Format = "metrics-api-nodes"
)

// CPU is a CPU reading. A source gives a cumulative counter (kubelet), an
// instantaneous rate (the Summary API's usageNanoCores, metrics.k8s.io), or
// both; the Has flags say which fields hold a reading.
type CPU struct {
	// CumulativeSeconds is the core-seconds used since the container, pod or
	// node started; valid when HasCumulative. Turn two of them into a rate
	// with Rate or Rates.
	CumulativeSeconds float64
	HasCumulative     bool
	// Cores is the rate in cores; valid when HasCores. For metrics.k8s.io it
	// is the average over Window; the Summary API gives no window.
	Cores    float64
	HasCores bool
	// Window is the period Cores was averaged over (metrics.k8s.io only).
	Window time.Duration
	// Time is when the reading was taken (the end of Window).
	Time time.Time
}

// Container is one container's reading.
type Container struct {
	Namespace, Pod, Container string
	// ID is ContainerID(Namespace, Pod, Container).
	ID string
	// StartTime is when the container (last) started; zero when the source
	// does not say. A start after the previous reading means the cumulative
	// counter restarted from zero.
	StartTime time.Time
	CPU       CPU
	// MemoryWorkingSetBytes is the working set, taken at about CPU.Time;
	// valid when HasMemory.
	MemoryWorkingSetBytes uint64
	HasMemory             bool
	// RootfsUsedBytes and LogsUsedBytes come from the Summary API only; zero
	// when absent.
	RootfsUsedBytes, LogsUsedBytes uint64
}

// ContainerID names a container by namespace, pod and container name in one
// string, each name but the last length-prefixed so that no two triples
// share an ID. A map keyed by it hashes and compares one string per lookup,
// not three: joining a datacenter's containers to its pods that way took
// half the time (BenchmarkClusterJoin1000Nodes).
func ContainerID(namespace, pod, container string) string {
	b := make([]byte, 0, 2*binary.MaxVarintLen16+len(namespace)+len(pod)+len(container))
	return string(appendContainerID(b, namespace, pod, container))
}

// appendContainerID appends the ID of the triple to b.
func appendContainerID[S string | []byte](b []byte, namespace, pod, container S) []byte {
	b = binary.AppendUvarint(b, uint64(len(namespace)))
	b = append(b, namespace...)
	b = binary.AppendUvarint(b, uint64(len(pod)))
	b = append(b, pod...)
	return append(b, container...)
}

// SplitContainerID returns the names an ID was made of; ok is false for a
// string that is not an ID.
func SplitContainerID(id string) (namespace, pod, container string, ok bool) {
	rest := id
	var parts [2]string
	for i := range parts {
		n, w := binary.Uvarint([]byte(rest[:min(len(rest), binary.MaxVarintLen64)]))
		if w <= 0 || n > uint64(len(rest)-w) {
			return "", "", "", false
		}
		parts[i], rest = rest[w:w+int(n)], rest[w+int(n):]
	}
	return parts[0], parts[1], rest, true
}

// Pod is one pod's own reading (the pod cgroup, or for metrics.k8s.io the sum
// of its containers).
type Pod struct {
	Namespace, Name       string
	CPU                   CPU
	MemoryWorkingSetBytes uint64
	HasMemory             bool
	// Network is the pod's default interface; Summary API only, else nil.
	Network *Network
}

// Network is a pair of cumulative interface counters.
type Network struct {
	Time             time.Time
	RxBytes, TxBytes uint64
}

// Node is one node's reading.
type Node struct {
	Name                  string
	CPU                   CPU
	MemoryWorkingSetBytes uint64
	HasMemory             bool
	// Network is the node's default interface; Summary API only, else nil.
	Network *Network
	// The node's root filesystem; Summary API only, zero when absent.
	FsCapacityBytes, FsUsedBytes, FsAvailableBytes uint64
}

// Result is what one response held. Slices keep the order of the input.
type Result struct {
	Format     Format
	Nodes      []Node
	Pods       []Pod
	Containers []Container
}

// Detect tells which Format b holds, by sniffing rather than by decoding it in
// full: a JSON object with "node" and "pods" keys is a Summary; a JSON object
// of kind PodMetrics[List] or NodeMetrics[List] (or, without a kind, whose
// items have "containers" or "usage") is metrics.k8s.io; text whose metric
// names start with node_, pod_ or container_ is /metrics/resource. Anything
// else returns an error wrapping ErrUnknownFormat; JSON that does not parse
// returns one wrapping ErrMalformed.
func Detect(b []byte) (Format, error) {
	t := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(t) == 0 {
		return "", fmt.Errorf("%w: empty input", ErrUnknownFormat)
	}
	switch t[0] {
	case '{':
		return detectJSON(t)
	case '[', '<':
		return "", fmt.Errorf("%w: input starts with %q, neither a JSON object nor Prometheus text", ErrUnknownFormat, t[0])
	}
	return detectText(t)
}

// Decode detects b's format and decodes it. nodeName and defaultTime are used
// for /metrics/resource only (see ResourceMetrics); the other formats carry
// their own names and times.
func Decode(b []byte, nodeName string, defaultTime time.Time) (*Result, error) {
	f, err := Detect(b)
	if err != nil {
		return nil, err
	}
	switch f {
	case FormatResourceMetrics:
		return decodeResource(b, nodeName, defaultTime)
	case FormatSummary:
		return decodeSummary(b)
	default:
		return decodeMetricsAPI(b)
	}
}

// seen records that a JSON key was present, whatever its value, without
// decoding or copying the value.
type seen bool

func (s *seen) UnmarshalJSON([]byte) error {
	*s = true
	return nil
}

func detectJSON(b []byte) (Format, error) {
	var probe struct {
		Kind       string `json:"kind"`
		Message    string `json:"message"`
		Node       seen   `json:"node"`
		Pods       seen   `json:"pods"`
		Containers seen   `json:"containers"`
		Usage      seen   `json:"usage"`
		Items      []struct {
			Containers seen `json:"containers"`
			Usage      seen `json:"usage"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return "", fmt.Errorf("%w: JSON: %w", ErrMalformed, err)
	}
	if probe.Node && probe.Pods {
		return FormatSummary, nil
	}
	switch probe.Kind {
	case "PodMetricsList", "PodMetrics":
		return FormatMetricsAPIPods, nil
	case "NodeMetricsList", "NodeMetrics":
		return FormatMetricsAPINodes, nil
	case "Status":
		return "", fmt.Errorf("%w: the API server returned a Status: %q", ErrUnknownFormat, probe.Message)
	case "":
	default:
		return "", fmt.Errorf("%w: JSON object of kind %q", ErrUnknownFormat, probe.Kind)
	}
	containers, usage := bool(probe.Containers), bool(probe.Usage)
	for _, it := range probe.Items {
		containers = containers || bool(it.Containers)
		usage = usage || bool(it.Usage)
	}
	switch {
	case containers:
		return FormatMetricsAPIPods, nil
	case usage:
		return FormatMetricsAPINodes, nil
	}
	return "", fmt.Errorf("%w: JSON object with neither node and pods (Summary API) nor a metrics.k8s.io kind or items", ErrUnknownFormat)
}

// detectText looks for the first metric name, in a sample or in a HELP or TYPE
// comment, that only /metrics/resource would have.
func detectText(b []byte) (Format, error) {
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = trimBlank(line)
		if len(line) > 0 && line[0] == '#' {
			f := bytes.Fields(line[1:])
			if len(f) < 2 || (string(f[0]) != "HELP" && string(f[0]) != "TYPE") {
				continue
			}
			line = f[1]
		}
		name := line[:scanName(line, 0)]
		if len(name) == 0 {
			continue
		}
		for _, p := range [...]string{"node_", "pod_", "container_"} {
			if bytes.HasPrefix(name, []byte(p)) {
				return FormatResourceMetrics, nil
			}
		}
	}
	return "", fmt.Errorf("%w: not JSON, and no node_, pod_ or container_ metric as in kubelet /metrics/resource", ErrUnknownFormat)
}

// readAll reads r to EOF, sizing the buffer up front when r knows its length
// (bytes.Reader, strings.Reader, bytes.Buffer). The caller bounds the size,
// with io.LimitReader or http.MaxBytesReader.
func readAll(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, errors.New("nil reader")
	}
	var buf bytes.Buffer
	if l, ok := r.(interface{ Len() int }); ok && l.Len() > 0 {
		buf.Grow(l.Len() + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
