package decode

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/headroomhq/headroom/test/fixtures"
)

// quantity parses a raw usage value with apimachinery, for expectations.
func quantity(t *testing.T, v any) (cores float64, bytes uint64) {
	t.Helper()
	q, err := resource.ParseQuantity(v.(string))
	if err != nil {
		t.Fatal(err)
	}
	return q.AsApproximateFloat64(), uint64(q.Value())
}

func TestMetricsAPIDecodesGKE2021Pods(t *testing.T) {
	b := fixtures.Read(t, "metrics-api/gke-2021-pods.json")
	r, err := MetricsAPI(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != FormatMetricsAPIPods || len(r.Pods) != 10 || len(r.Containers) != 18 || len(r.Nodes) != 0 {
		t.Fatalf("got %s with %d pods, %d containers, %d nodes; want 10 pods, 18 containers", r.Format, len(r.Pods), len(r.Containers), len(r.Nodes))
	}
	raw := decodeRaw(t, b)
	ci := 0
	for i, item := range raw["items"].([]any) {
		p := r.Pods[i]
		if p.Namespace != walk(item, "metadata", "namespace") || p.Name != walk(item, "metadata", "name") {
			t.Errorf("pod %d: %s/%s", i, p.Namespace, p.Name)
		}
		at := rawTime(t, walk(item, "timestamp"))
		var sumCores float64
		var sumBytes uint64
		for _, rc := range walk(item, "containers").([]any) {
			c := r.Containers[ci]
			ci++
			cores, _ := quantity(t, walk(rc, "usage", "cpu"))
			_, mem := quantity(t, walk(rc, "usage", "memory"))
			sumCores += cores
			sumBytes += mem
			if c.Namespace != p.Namespace || c.Pod != p.Name || c.Container != walk(rc, "name") {
				t.Errorf("container %d: %+v", ci, c)
			}
			if !c.CPU.HasCores || c.CPU.HasCumulative || c.CPU.Cores != cores || c.CPU.Window != 30*time.Second || !c.CPU.Time.Equal(at) {
				t.Errorf("container %s/%s cpu %+v, raw %v cores at %v", p.Name, c.Container, c.CPU, cores, at)
			}
			if !c.HasMemory || c.MemoryWorkingSetBytes != mem {
				t.Errorf("container %s/%s memory %d, raw %d", p.Name, c.Container, c.MemoryWorkingSetBytes, mem)
			}
		}
		if !p.CPU.HasCores || p.CPU.Cores != sumCores || !p.HasMemory || p.MemoryWorkingSetBytes != sumBytes || p.CPU.Window != 30*time.Second || !p.CPU.Time.Equal(at) {
			t.Errorf("pod %s: %+v, want the sum %v cores, %d bytes", p.Name, p, sumCores, sumBytes)
		}
	}
	// Read off the file by eye: metadata-agent-nanny 30081564n, 7376Ki.
	for _, c := range r.Containers {
		if c.Container == "metadata-agent-nanny" && (c.CPU.Cores != 0.030081564 || c.MemoryWorkingSetBytes != 7376*1024) {
			t.Errorf("metadata-agent-nanny: %+v", c)
		}
	}
}

func TestMetricsAPIDecodesGKE2021Nodes(t *testing.T) {
	r, err := MetricsAPI(bytes.NewReader(fixtures.Read(t, "metrics-api/gke-2021-nodes.json")))
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != FormatMetricsAPINodes || len(r.Nodes) != 1 {
		t.Fatalf("got %+v", r)
	}
	n := r.Nodes[0]
	want := CPU{Cores: 0.110691045, HasCores: true, Window: 30 * time.Second, Time: time.Date(2021, 8, 13, 10, 24, 26, 0, time.UTC)}
	if n.Name != "gke-cluster-3-default-pool-76fd57f7-l83v" || !sameCPU(n.CPU, want) || !n.HasMemory || n.MemoryWorkingSetBytes != 801112*1024 {
		t.Errorf("got %+v", n)
	}
}

func TestMetricsAPIShapes(t *testing.T) {
	for _, c := range []struct {
		name               string
		input              string
		format             Format
		nodes, pods, ctrs  int
		podHasCPU, podHasM bool
	}{
		{
			name:   "single PodMetrics",
			input:  `{"kind":"PodMetrics","metadata":{"name":"p","namespace":"ns"},"timestamp":"2021-08-13T10:24:42Z","window":"15s","containers":[{"name":"c","usage":{"cpu":"1m","memory":"1Mi"}}]}`,
			format: FormatMetricsAPIPods, pods: 1, ctrs: 1, podHasCPU: true, podHasM: true,
		},
		{
			name:   "single NodeMetrics",
			input:  `{"kind":"NodeMetrics","metadata":{"name":"n"},"timestamp":"2021-08-13T10:24:42Z","window":"15s","usage":{"cpu":"2","memory":"1Gi"}}`,
			format: FormatMetricsAPINodes, nodes: 1,
		},
		{
			name:   "list without kind, told apart by containers",
			input:  `{"items":[{"metadata":{"name":"p","namespace":"ns"},"containers":[{"name":"a","usage":{"cpu":"1m"}},{"name":"b","usage":{"cpu":"2m","memory":"1Ki"}}]}]}`,
			format: FormatMetricsAPIPods, pods: 1, ctrs: 2, podHasCPU: true,
		},
		{
			name:   "list without kind, told apart by usage",
			input:  `{"items":[{"metadata":{"name":"n"},"usage":{"memory":"1Ki"}}]}`,
			format: FormatMetricsAPINodes, nodes: 1,
		},
		{
			name:   "empty list with kind",
			input:  `{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[]}`,
			format: FormatMetricsAPIPods,
		},
		{
			name:   "pod without containers has no sums",
			input:  `{"kind":"PodMetricsList","items":[{"metadata":{"name":"p","namespace":"ns"},"containers":[]}]}`,
			format: FormatMetricsAPIPods, pods: 1,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := MetricsAPI(strings.NewReader(c.input))
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != c.format || len(r.Nodes) != c.nodes || len(r.Pods) != c.pods || len(r.Containers) != c.ctrs {
				t.Fatalf("got %+v", r)
			}
			if c.pods > 0 && (r.Pods[0].CPU.HasCores != c.podHasCPU || r.Pods[0].HasMemory != c.podHasM) {
				t.Errorf("pod sums: %+v", r.Pods[0])
			}
		})
	}
}

func TestMetricsAPIRejects(t *testing.T) {
	for _, c := range []struct {
		name, input string
		is          error
		want        string
	}{
		{"a Status instead of metrics", `{"kind":"Status","status":"Failure","message":"forbidden"}`, ErrUnknownFormat, `kind "Status"`},
		{"empty list without kind", `{"items":[]}`, ErrUnknownFormat, "no kind"},
		{"negative cpu", `{"kind":"NodeMetrics","metadata":{"name":"n"},"usage":{"cpu":"-1"}}`, ErrMalformed, "negative cpu"},
		{"bad quantity", `{"kind":"NodeMetrics","metadata":{"name":"n"},"usage":{"cpu":"lots"}}`, ErrMalformed, "quantities must match"},
		{"infinite cpu", `{"kind":"NodeMetrics","metadata":{"name":"n"},"usage":{"cpu":"1e999999999"}}`, ErrMalformed, "cpu"},
		{"huge memory", `{"kind":"NodeMetrics","metadata":{"name":"n"},"usage":{"memory":"100Ei"}}`, ErrMalformed, "out of range"},
		{"bad window", `{"kind":"NodeMetrics","metadata":{"name":"n"},"window":"soon"}`, ErrMalformed, "window"},
		{"node without a name", `{"kind":"NodeMetricsList","items":[{"usage":{}}]}`, ErrMalformed, "no name"},
		{"pod without a namespace", `{"kind":"PodMetricsList","items":[{"metadata":{"name":"p"}}]}`, ErrMalformed, "no name or namespace"},
		{"container without a name", `{"kind":"PodMetrics","metadata":{"name":"p","namespace":"n"},"containers":[{}]}`, ErrMalformed, "container has no name"},
		{"not JSON", `kind: PodMetrics`, ErrMalformed, "invalid character"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := MetricsAPI(strings.NewReader(c.input))
			if err == nil || !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v: want %v and %q", err, c.is, c.want)
			}
		})
	}
}
