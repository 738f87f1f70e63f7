package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/headroomhq/headroom/test/fixtures"
)

// vectors is decode-and-rate-vectors.json: metrics-server's own decode and
// storage test cases, as data.
type vectors struct {
	Decode []struct {
		Name        string `json:"name"`
		Input       string `json:"input"`
		NodeName    string `json:"nodeName"`
		DefaultTime string `json:"defaultTime"`
		ExpectError bool   `json:"expectError"`
		Expect      struct {
			Nodes map[string]vectorPoint            `json:"nodes"`
			Pods  map[string]map[string]vectorPoint `json:"pods"` // "ns/pod" -> container
		} `json:"expect"`
	} `json:"decode"`
	Rate []struct {
		Name   string `json:"name"`
		Points []struct {
			Start          float64 `json:"start"`
			TS             float64 `json:"ts"`
			CPUCoreSeconds float64 `json:"cpuCoreSeconds"`
		} `json:"points"`
		Expect *struct {
			CPUCores      float64 `json:"cpuCores"`
			WindowSeconds float64 `json:"windowSeconds"`
			Timestamp     float64 `json:"timestamp"`
		} `json:"expect"`
	} `json:"rate_from_cumulative"`
}

// vectorPoint is in the vectors' units (see their "_units"): CPU in
// nanocore-seconds, times in UTC.
type vectorPoint struct {
	Timestamp                        time.Time `json:"timestamp"`
	CumulativeCPUUsedNanoCoreSeconds uint64    `json:"cumulativeCpuUsedNanoCoreSeconds"`
	MemoryWorkingSetBytes            uint64    `json:"memoryWorkingSetBytes"`
	StartTime                        time.Time `json:"startTime"`
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	var v vectors
	if err := json.Unmarshal(fixtures.Read(t, vectorsPath), &v); err != nil {
		t.Fatalf("decode vectors: %v", err)
	}
	if len(v.Decode) != 13 || len(v.Rate) != 7 {
		t.Fatalf("vectors: got %d decode and %d rate cases, want 13 and 7", len(v.Decode), len(v.Rate))
	}
	return v
}

func nanoCoreSeconds(c CPU) uint64 { return uint64(math.Round(c.CumulativeSeconds * 1e9)) }

func TestResourceMetricsMatchesMetricsServerVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Decode {
		t.Run(c.Name, func(t *testing.T) {
			defaultTime := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			if c.DefaultTime != "" {
				var err error
				if defaultTime, err = time.Parse(time.RFC3339, c.DefaultTime); err != nil {
					t.Fatal(err)
				}
			}
			res, err := ResourceMetrics(strings.NewReader(c.Input), c.NodeName, defaultTime)
			if c.ExpectError {
				if err == nil || !errors.Is(err, ErrMalformed) {
					t.Fatalf("got error %v, want one wrapping ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != FormatResourceMetrics {
				t.Errorf("format %q", res.Format)
			}
			if len(res.Nodes) != len(c.Expect.Nodes) {
				t.Fatalf("got %d nodes, want %d", len(res.Nodes), len(c.Expect.Nodes))
			}
			for _, n := range res.Nodes {
				want, ok := c.Expect.Nodes[n.Name]
				if !ok {
					t.Fatalf("unexpected node %q", n.Name)
				}
				checkPoint(t, "node "+n.Name, n.CPU, n.MemoryWorkingSetBytes, time.Time{}, want)
			}
			wantContainers := 0
			for _, cs := range c.Expect.Pods {
				wantContainers += len(cs)
			}
			if len(res.Containers) != wantContainers {
				t.Fatalf("got %d containers, want %d", len(res.Containers), wantContainers)
			}
			for _, ctr := range res.Containers {
				want, ok := c.Expect.Pods[ctr.Namespace+"/"+ctr.Pod][ctr.Container]
				if !ok {
					t.Fatalf("unexpected container %s/%s/%s", ctr.Namespace, ctr.Pod, ctr.Container)
				}
				checkPoint(t, "container "+ctr.Container, ctr.CPU, ctr.MemoryWorkingSetBytes, ctr.StartTime, want)
			}
		})
	}
}

func checkPoint(t *testing.T, what string, cpu CPU, mem uint64, start time.Time, want vectorPoint) {
	t.Helper()
	if !cpu.HasCumulative || cpu.HasCores {
		t.Errorf("%s: HasCumulative=%v HasCores=%v, want a counter only", what, cpu.HasCumulative, cpu.HasCores)
	}
	if got := nanoCoreSeconds(cpu); got != want.CumulativeCPUUsedNanoCoreSeconds {
		t.Errorf("%s: cumulative CPU %d ns, want %d", what, got, want.CumulativeCPUUsedNanoCoreSeconds)
	}
	if !cpu.Time.Equal(want.Timestamp) {
		t.Errorf("%s: time %v, want %v", what, cpu.Time, want.Timestamp)
	}
	if mem != want.MemoryWorkingSetBytes {
		t.Errorf("%s: working set %d, want %d", what, mem, want.MemoryWorkingSetBytes)
	}
	if !start.Equal(want.StartTime) {
		t.Errorf("%s: start %v, want %v", what, start, want.StartTime)
	}
}

// The vectors with a "# HELP" header are whole kubelet responses; the same
// response decoded by Prometheus's own parser must give the same samples.
func TestResourceMetricsAgreesWithExpfmtOnVectors(t *testing.T) {
	v := loadVectors(t)
	defaultTime := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range v.Decode {
		t.Run(c.Name, func(t *testing.T) {
			compared, err := compareWithReference([]byte(c.Input), c.NodeName, defaultTime)
			if err != nil {
				t.Fatal(err)
			}
			if !compared && !c.ExpectError {
				t.Fatal("expfmt or the decoder rejected a valid vector")
			}
		})
	}
}

const coredns = `container="coredns",namespace="kube-system",pod="coredns-558bd4d5db-4dpjz"`

func TestResourceMetricsTolerates(t *testing.T) {
	at := time.Date(2021, 10, 3, 9, 36, 52, 125e6, time.UTC)
	for _, c := range []struct {
		name       string
		input      string
		containers int
		pods       int
		check      func(t *testing.T, r *Result)
	}{
		{
			name: "unknown families, swap and scrape_error are skipped",
			input: "# TYPE container_swap_usage_bytes gauge\ncontainer_swap_usage_bytes{" + coredns + "} 0 1633253812125\n" +
				"resource_scrape_error 0\nscrape_error 0\nsome_histogram_bucket{le=\"+Inf\"} 3\n" +
				"container_cpu_usage_seconds_total{" + coredns + "} 4.710169 1633253812125\n" +
				"container_memory_working_set_bytes{" + coredns + "} 1.253376e+07 1633253812125\n",
			containers: 1,
		},
		{
			name: "labels in any order, extra labels, blanks and a trailing comma",
			input: "container_cpu_usage_seconds_total { pod = \"p\" ,id=\"/x\",\tnamespace=\"ns\", container=\"c\", } 2 1633253812125\n" +
				"container_memory_working_set_bytes{namespace=\"ns\",container=\"c\",pod=\"p\"}\t5e3\t1633253812125\n",
			containers: 1,
			check: func(t *testing.T, r *Result) {
				c := r.Containers[0]
				if c.Namespace != "ns" || c.Pod != "p" || c.Container != "c" || c.MemoryWorkingSetBytes != 5000 || c.CPU.CumulativeSeconds != 2 {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "escaped label values are unescaped",
			input: `container_cpu_usage_seconds_total{namespace="a\\b",pod="q\"uote",container="new\nline"} 1 1633253812125` + "\n" +
				`container_memory_working_set_bytes{namespace="a\\b",pod="q\"uote",container="new\nline"} 1 1633253812125`,
			containers: 1,
			check: func(t *testing.T, r *Result) {
				c := r.Containers[0]
				if c.Namespace != `a\b` || c.Pod != `q"uote` || c.Container != "new\nline" {
					t.Errorf("got %q %q %q", c.Namespace, c.Pod, c.Container)
				}
			},
		},
		{
			name: "cAdvisor pod-level series with an empty container label are skipped",
			input: "container_cpu_usage_seconds_total{container=\"\",namespace=\"ns\",pod=\"p\"} 3 1633253812125\n" +
				"container_memory_working_set_bytes{container=\"\",namespace=\"ns\",pod=\"p\"} 3 1633253812125\n" +
				"container_cpu_usage_seconds_total{id=\"/\"} 3 1633253812125\n",
		},
		{
			name: "a repeated series keeps the last line",
			input: "container_cpu_usage_seconds_total{" + coredns + "} 1 1633253812125\n" +
				"container_memory_working_set_bytes{" + coredns + "} 7 1633253812125\n" +
				"container_cpu_usage_seconds_total{" + coredns + "} 2 1633253812125\n",
			containers: 1,
			check: func(t *testing.T, r *Result) {
				if r.Containers[0].CPU.CumulativeSeconds != 2 {
					t.Errorf("got %v", r.Containers[0].CPU.CumulativeSeconds)
				}
			},
		},
		{
			name: "pod-level lines give pods",
			input: "pod_cpu_usage_seconds_total{namespace=\"ns\",pod=\"p\"} 4.67812 1633253812125\n" +
				"pod_memory_working_set_bytes{namespace=\"ns\",pod=\"p\"} 1.2627968e+07 1633253812125\n" +
				"pod_cpu_usage_seconds_total{namespace=\"ns\",pod=\"no-memory\"} 1 1633253812125\n",
			pods: 1,
			check: func(t *testing.T, r *Result) {
				p := r.Pods[0]
				if p.Namespace != "ns" || p.Name != "p" || p.MemoryWorkingSetBytes != 12627968 || p.CPU.CumulativeSeconds != 4.67812 || !p.CPU.Time.Equal(at) {
					t.Errorf("got %+v", p)
				}
			},
		},
		{
			name:  "CRLF line ends and blank lines",
			input: "\r\n  \n" + "container_cpu_usage_seconds_total{" + coredns + "} 1 1633253812125\r\n" + "container_memory_working_set_bytes{" + coredns + "} 7\r\n",
			check: func(t *testing.T, r *Result) {
				if len(r.Containers) != 1 || !r.Containers[0].CPU.Time.Equal(at) {
					t.Errorf("got %+v", r.Containers)
				}
			},
			containers: 1,
		},
		{
			name:  "empty input decodes to nothing",
			input: "",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := ResourceMetrics(strings.NewReader(c.input), "n", at)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Containers) != c.containers || len(r.Pods) != c.pods {
				t.Fatalf("got %d containers and %d pods, want %d and %d", len(r.Containers), len(r.Pods), c.containers, c.pods)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func TestResourceMetricsRejects(t *testing.T) {
	for _, c := range []struct {
		name, input, want string
	}{
		{"negative timestamp", "node_cpu_usage_seconds_total 1 -5\n", "line 1: timestamp"},
		{"timestamp with a sign", "node_cpu_usage_seconds_total 1 +5\n", "timestamp"},
		{"fractional timestamp", "node_cpu_usage_seconds_total 1 5.5\n", "timestamp"},
		{"timestamp overflowing int64", "node_cpu_usage_seconds_total 1 99999999999999999999\n", "timestamp"},
		{"text after the timestamp", "# HELP x\nnode_cpu_usage_seconds_total 1 5 6\n", "line 2: unexpected text"},
		{"missing value", "node_cpu_usage_seconds_total\n", "expected a value"},
		{"value not a number", "node_cpu_usage_seconds_total one\n", "not a number"},
		{"hex float value", "node_cpu_usage_seconds_total 0x1p3\n", "not a number"},
		{"value out of float range", "node_cpu_usage_seconds_total 1e400\n", "not a number"},
		{"unterminated label value", `container_cpu_usage_seconds_total{pod="p} 1`, "unterminated label value"},
		{"unterminated label set", `container_cpu_usage_seconds_total{pod="p"`, "unterminated label set"},
		{"label without quotes", `container_cpu_usage_seconds_total{pod=p} 1`, "open the label value"},
		{"label without equals", `container_cpu_usage_seconds_total{pod "p"} 1`, "expected '='"},
		{"missing comma between labels", `container_cpu_usage_seconds_total{pod="p" namespace="n"} 1`, "expected ',' or '}'"},
		{"invalid escape", `container_cpu_usage_seconds_total{pod="\t"} 1`, "escape"},
		{"duplicate pod label", `container_cpu_usage_seconds_total{pod="a",pod="b"} 1`, "duplicate label"},
		{"name not starting the line", `{__name__="x"} 1`, "metric name"},
		{"name glued to garbage", `node_cpu_usage_seconds_total;x 1`, "after the metric name"},
		{"negative CPU counter", "node_cpu_usage_seconds_total -1\n", "negative or not finite"},
		{"NaN CPU counter", "container_cpu_usage_seconds_total{" + coredns + "} NaN\n", "negative or not finite"},
		{"infinite working set", "node_memory_working_set_bytes +Inf\n", "working set"},
		{"negative working set", "container_memory_working_set_bytes{" + coredns + "} -1\n", "working set"},
		{"start time out of range", "container_start_time_seconds{" + coredns + "} 1e300\n", "start time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := ResourceMetrics(strings.NewReader(c.input), "n", time.Unix(1e9, 0))
			if err == nil {
				t.Fatalf("no error; got %+v", r)
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q: want ErrMalformed and %q", err, c.want)
			}
		})
	}
}

// TestResourceMetricsSkipsSeriesItDoesNotRead: a line of a series the
// decoder does not keep is skipped unparsed, so a kubelet's new or odd
// series never fails a node; the same line in a series it keeps is an
// error.
func TestResourceMetricsSkipsSeriesItDoesNotRead(t *testing.T) {
	good := "container_cpu_usage_seconds_total{" + coredns + "} 1 1633253812125\n" +
		"container_memory_working_set_bytes{" + coredns + "} 7 1633253812125\n"
	odd := "pod_cpu_usage_seconds_total{pod=\"p} 1\ncontainer_swap_usage_bytes{broken 1\n"
	r, err := ResourceMetricsBytes([]byte(odd+good), "n", time.Time{})
	if err != nil {
		t.Fatalf("a malformed line of a series not read failed the page: %v", err)
	}
	if len(r.Containers) != 1 {
		t.Fatalf("got %d containers, want 1", len(r.Containers))
	}
	// ResourceMetrics keeps the pod series, so the same line is an error.
	if _, err := ResourceMetrics(strings.NewReader(odd+good), "n", time.Time{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a malformed pod_* line with the pod series kept: err %v, want ErrMalformed", err)
	}
}

func TestResourceMetricsDropsPointsWithoutTime(t *testing.T) {
	in := "node_cpu_usage_seconds_total 357.35491\nnode_memory_working_set_bytes 1.616273408e+09\n"
	r, err := ResourceMetrics(strings.NewReader(in), "n", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Nodes) != 0 {
		t.Fatalf("got %+v, want no node: no timestamp and a zero default time", r.Nodes)
	}
}

func TestResourceMetricsResultDoesNotAliasInput(t *testing.T) {
	in := []byte("container_cpu_usage_seconds_total{" + coredns + "} 1 1633253812125\ncontainer_memory_working_set_bytes{" + coredns + "} 7 1633253812125\n")
	r, err := ResourceMetrics(bytes.NewReader(in), "n", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 'x'
	}
	if c := r.Containers[0]; c.Namespace != "kube-system" || c.Pod != "coredns-558bd4d5db-4dpjz" || c.Container != "coredns" {
		t.Fatalf("names changed with the input: %+v", c)
	}
}

// referenceResource decodes /metrics/resource with Prometheus's own text
// parser (expfmt) and metrics-server's rules: an independent check of the
// hand-written scanner. errNotComparable means the input uses something the
// reference cannot judge (a histogram or summary type on a family we read).
func referenceResource(b []byte, nodeName string, defaultTime time.Time) (*Result, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	type point struct {
		cpu          CPU
		mem          uint64
		hasMem       bool
		start        time.Time
		ns, pod, ctr string
	}
	node := point{}
	containers := map[string]*point{}
	pods := map[string]*point{}
	for _, mf := range fams {
		for _, m := range mf.GetMetric() {
			if m.TimestampMs != nil && m.GetTimestampMs() < 0 {
				return nil, fmt.Errorf("negative timestamp")
			}
		}
	}
	for _, name := range []string{nodeCPUName, nodeMemoryName, podCPUName, podMemoryName, containerCPUName, containerMemName, containerStartName} {
		mf := fams[name]
		if mf == nil {
			continue
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
		default:
			return nil, errNotComparable
		}
		for _, m := range mf.GetMetric() {
			var v float64
			switch {
			case m.Counter != nil:
				v = m.Counter.GetValue()
			case m.Gauge != nil:
				v = m.Gauge.GetValue()
			case m.Untyped != nil:
				v = m.Untyped.GetValue()
			default:
				return nil, errNotComparable
			}
			t := defaultTime
			if m.TimestampMs != nil {
				t = time.UnixMilli(m.GetTimestampMs()).UTC()
			}
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			ns, pod, ctr := labels["namespace"], labels["pod"], labels["container"]
			var pt *point
			switch name {
			case nodeCPUName, nodeMemoryName:
				pt = &node
			case podCPUName, podMemoryName:
				if ns == "" || pod == "" {
					continue
				}
				k := ns + "\x00" + pod
				if pods[k] == nil {
					pods[k] = &point{ns: ns, pod: pod}
				}
				pt = pods[k]
			default:
				if ns == "" || pod == "" || ctr == "" {
					continue
				}
				k := ns + "\x00" + pod + "\x00" + ctr
				if containers[k] == nil {
					containers[k] = &point{ns: ns, pod: pod, ctr: ctr}
				}
				pt = containers[k]
			}
			switch name {
			case nodeCPUName, podCPUName, containerCPUName:
				if math.IsNaN(v) || v < 0 || math.IsInf(v, 0) {
					return nil, fmt.Errorf("bad cpu")
				}
				pt.cpu = CPU{CumulativeSeconds: v, HasCumulative: true, Time: t}
			case nodeMemoryName, podMemoryName, containerMemName:
				if math.IsNaN(v) || v < 0 || v >= math.Exp2(64) {
					return nil, fmt.Errorf("bad memory")
				}
				pt.mem, pt.hasMem = uint64(v), true
			case containerStartName:
				if math.IsNaN(v) || math.Abs(v) >= 9223372036.854775807 {
					return nil, fmt.Errorf("bad start")
				}
				sec, frac := math.Modf(v)
				pt.start = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
			}
		}
	}
	keep := func(p *point) bool {
		return p.cpu.HasCumulative && uint64(p.cpu.CumulativeSeconds*1e9) != 0 && p.hasMem && p.mem != 0 && !p.cpu.Time.IsZero()
	}
	res := &Result{Format: FormatResourceMetrics}
	if keep(&node) {
		res.Nodes = append(res.Nodes, Node{Name: nodeName, CPU: node.cpu, MemoryWorkingSetBytes: node.mem, HasMemory: true})
	}
	for _, p := range containers {
		if keep(p) {
			res.Containers = append(res.Containers, Container{Namespace: p.ns, Pod: p.pod, Container: p.ctr, StartTime: p.start, CPU: p.cpu, MemoryWorkingSetBytes: p.mem, HasMemory: true})
		}
	}
	for _, p := range pods {
		if keep(p) {
			res.Pods = append(res.Pods, Pod{Namespace: p.ns, Name: p.pod, CPU: p.cpu, MemoryWorkingSetBytes: p.mem, HasMemory: true})
		}
	}
	return res, nil
}

var errNotComparable = errors.New("not comparable")

// compareWithReference decodes b with ResourceMetrics and with
// referenceResource and, where both succeed, requires the same samples.
// Where only one succeeds it says nothing: the two differ on purpose at the
// edges (expfmt takes negative and signed timestamps and NaN values, this
// package rejects them; expfmt checks HELP and TYPE lines, this package
// skips them).
// compared says whether both succeeded.
func compareWithReference(b []byte, nodeName string, defaultTime time.Time) (compared bool, err error) {
	got, err := ResourceMetrics(bytes.NewReader(b), nodeName, defaultTime)
	want, refErr := referenceResource(b, nodeName, defaultTime)
	if err != nil || refErr != nil {
		return false, nil
	}
	if len(got.Nodes) != len(want.Nodes) || len(got.Containers) != len(want.Containers) || len(got.Pods) != len(want.Pods) {
		return true, fmt.Errorf("got %d nodes, %d containers, %d pods; expfmt gives %d, %d, %d",
			len(got.Nodes), len(got.Containers), len(got.Pods), len(want.Nodes), len(want.Containers), len(want.Pods))
	}
	for i := range got.Nodes {
		g, w := got.Nodes[i], want.Nodes[i]
		if g.Name != w.Name || !sameCPU(g.CPU, w.CPU) || g.MemoryWorkingSetBytes != w.MemoryWorkingSetBytes || !g.HasMemory {
			return true, fmt.Errorf("node: got %+v, expfmt gives %+v", got.Nodes[i], want.Nodes[i])
		}
	}
	byKey := map[string]Container{}
	for _, c := range want.Containers {
		byKey[c.Namespace+"\x00"+c.Pod+"\x00"+c.Container] = c
	}
	for _, c := range got.Containers {
		w, ok := byKey[c.Namespace+"\x00"+c.Pod+"\x00"+c.Container]
		if !ok || !sameCPU(c.CPU, w.CPU) || c.MemoryWorkingSetBytes != w.MemoryWorkingSetBytes || !c.StartTime.Equal(w.StartTime) || !c.HasMemory {
			return true, fmt.Errorf("container: got %+v, expfmt gives %+v", c, w)
		}
	}
	podsByKey := map[string]Pod{}
	for _, p := range want.Pods {
		podsByKey[p.Namespace+"\x00"+p.Name] = p
	}
	for _, p := range got.Pods {
		w, ok := podsByKey[p.Namespace+"\x00"+p.Name]
		if !ok || !sameCPU(p.CPU, w.CPU) || p.MemoryWorkingSetBytes != w.MemoryWorkingSetBytes || !p.HasMemory {
			return true, fmt.Errorf("pod: got %+v, expfmt gives %+v", p, w)
		}
	}
	return true, nil
}

func sameCPU(a, b CPU) bool {
	return a.CumulativeSeconds == b.CumulativeSeconds && a.HasCumulative == b.HasCumulative &&
		a.Cores == b.Cores && a.HasCores == b.HasCores && a.Window == b.Window && a.Time.Equal(b.Time)
}

// TestResourceMetricsBytesIsResourceMetricsWithoutPods holds the collector's
// entry point to the full decoder on every vector: the same node and
// containers, the same errors for what it reads, and no pod table.
func TestResourceMetricsBytesIsResourceMetricsWithoutPods(t *testing.T) {
	v := loadVectors(t)
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range v.Decode {
		full, ferr := ResourceMetrics(strings.NewReader(c.Input), c.NodeName, at)
		slim, serr := ResourceMetricsBytes([]byte(c.Input), c.NodeName, at)
		if ferr != nil {
			// A bad pod_* value is not read by ResourceMetricsBytes; any
			// other error must be the same.
			if serr != nil && serr.Error() != ferr.Error() {
				t.Errorf("%s: error %q, the full decoder's %q", c.Name, serr, ferr)
			}
			continue
		}
		if serr != nil {
			t.Errorf("%s: %v, the full decoder has no error", c.Name, serr)
			continue
		}
		if len(slim.Pods) != 0 {
			t.Errorf("%s: %d pods, want none", c.Name, len(slim.Pods))
		}
		if !reflect.DeepEqual(slim.Nodes, full.Nodes) || !reflect.DeepEqual(slim.Containers, full.Containers) {
			t.Errorf("%s: nodes %+v containers %+v, the full decoder's %+v %+v", c.Name, slim.Nodes, slim.Containers, full.Nodes, full.Containers)
		}
	}
}
