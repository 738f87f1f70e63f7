package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/headroomhq/headroom/test/fixtures"
)

// walk follows keys through a JSON document decoded into any; it returns nil
// where a key is absent. Expectations are read with it, not with the decoder
// under test.
func walk(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func number(t *testing.T, v any) (float64, bool) {
	t.Helper()
	if v == nil {
		return 0, false
	}
	n, err := v.(json.Number).Float64()
	if err != nil {
		t.Fatalf("number %v: %v", v, err)
	}
	return n, true
}

func rawTime(t *testing.T, v any) time.Time {
	t.Helper()
	if v == nil {
		return time.Time{}
	}
	tm, err := time.Parse(time.RFC3339Nano, v.(string))
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func decodeRaw(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkRawCPU compares a decoded CPU with the raw cpu section.
func checkRawCPU(t *testing.T, what string, got CPU, raw any) {
	t.Helper()
	cum, hasCum := number(t, walk(raw, "usageCoreNanoSeconds"))
	cores, hasCores := number(t, walk(raw, "usageNanoCores"))
	if got.HasCumulative != hasCum || got.HasCores != hasCores {
		t.Errorf("%s: HasCumulative=%v HasCores=%v, raw has %v %v", what, got.HasCumulative, got.HasCores, hasCum, hasCores)
	}
	if got.CumulativeSeconds != cum/1e9 || got.Cores != cores/1e9 {
		t.Errorf("%s: cpu %v s, %v cores; raw %v ns, %v nanocores", what, got.CumulativeSeconds, got.Cores, cum, cores)
	}
	if want := rawTime(t, walk(raw, "time")); !got.Time.Equal(want) {
		t.Errorf("%s: cpu time %v, raw %v", what, got.Time, want)
	}
}

func checkRawMemory(t *testing.T, what string, got uint64, has bool, raw any) {
	t.Helper()
	ws, ok := number(t, walk(raw, "workingSetBytes"))
	if has != ok || got != uint64(ws) {
		t.Errorf("%s: working set %d (%v), raw %v (%v)", what, got, has, ws, ok)
	}
}

// checkSummaryAgainstRaw compares every node, pod and container value the
// decoder reports with the raw JSON.
func checkSummaryAgainstRaw(t *testing.T, r *Result, raw map[string]any) {
	t.Helper()
	rawNode := raw["node"]
	if len(r.Nodes) != 1 {
		t.Fatalf("got %d nodes, want 1", len(r.Nodes))
	}
	n := r.Nodes[0]
	if n.Name != walk(rawNode, "nodeName") {
		t.Errorf("node name %q, raw %v", n.Name, walk(rawNode, "nodeName"))
	}
	checkRawCPU(t, "node", n.CPU, walk(rawNode, "cpu"))
	checkRawMemory(t, "node", n.MemoryWorkingSetBytes, n.HasMemory, walk(rawNode, "memory"))
	for _, f := range []struct {
		got uint64
		key string
	}{{n.FsCapacityBytes, "capacityBytes"}, {n.FsUsedBytes, "usedBytes"}, {n.FsAvailableBytes, "availableBytes"}} {
		if want, _ := number(t, walk(rawNode, "fs", f.key)); f.got != uint64(want) {
			t.Errorf("node fs %s: %d, raw %v", f.key, f.got, want)
		}
	}
	checkRawNetwork(t, "node", n.Network, walk(rawNode, "network"))

	rawPods, _ := raw["pods"].([]any)
	if len(r.Pods) != len(rawPods) {
		t.Fatalf("got %d pods, raw has %d", len(r.Pods), len(rawPods))
	}
	ci := 0
	for i, rp := range rawPods {
		p := r.Pods[i]
		if p.Namespace != walk(rp, "podRef", "namespace") || p.Name != walk(rp, "podRef", "name") {
			t.Errorf("pod %d: %s/%s, raw %v", i, p.Namespace, p.Name, walk(rp, "podRef"))
		}
		checkRawCPU(t, "pod "+p.Name, p.CPU, walk(rp, "cpu"))
		checkRawMemory(t, "pod "+p.Name, p.MemoryWorkingSetBytes, p.HasMemory, walk(rp, "memory"))
		checkRawNetwork(t, "pod "+p.Name, p.Network, walk(rp, "network"))
		rawContainers, _ := walk(rp, "containers").([]any)
		for _, rc := range rawContainers {
			if ci >= len(r.Containers) {
				t.Fatalf("fewer containers than the raw JSON")
			}
			c := r.Containers[ci]
			ci++
			what := p.Name + "/" + c.Container
			if c.Namespace != p.Namespace || c.Pod != p.Name || c.Container != walk(rc, "name") {
				t.Errorf("container %s: raw name %v", what, walk(rc, "name"))
			}
			if want := rawTime(t, walk(rc, "startTime")); !c.StartTime.Equal(want) {
				t.Errorf("container %s: start %v, raw %v", what, c.StartTime, want)
			}
			checkRawCPU(t, "container "+what, c.CPU, walk(rc, "cpu"))
			checkRawMemory(t, "container "+what, c.MemoryWorkingSetBytes, c.HasMemory, walk(rc, "memory"))
			if want, _ := number(t, walk(rc, "rootfs", "usedBytes")); c.RootfsUsedBytes != uint64(want) {
				t.Errorf("container %s: rootfs %d, raw %v", what, c.RootfsUsedBytes, want)
			}
			if want, _ := number(t, walk(rc, "logs", "usedBytes")); c.LogsUsedBytes != uint64(want) {
				t.Errorf("container %s: logs %d, raw %v", what, c.LogsUsedBytes, want)
			}
		}
	}
	if ci != len(r.Containers) {
		t.Errorf("got %d containers, raw has %d", len(r.Containers), ci)
	}
}

func checkRawNetwork(t *testing.T, what string, got *Network, raw any) {
	t.Helper()
	if raw == nil {
		if got != nil {
			t.Errorf("%s: network %+v, raw has none", what, got)
		}
		return
	}
	rx, _ := number(t, walk(raw, "rxBytes"))
	tx, _ := number(t, walk(raw, "txBytes"))
	if got == nil || got.RxBytes != uint64(rx) || got.TxBytes != uint64(tx) || !got.Time.Equal(rawTime(t, walk(raw, "time"))) {
		t.Errorf("%s: network %+v, raw rx %v tx %v", what, got, rx, tx)
	}
}

func TestSummaryDecodesNRI131Capture(t *testing.T) {
	b := fixtures.Read(t, "kubelet-summary/nri-1.31/stats_summary.json")
	r, err := Summary(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != FormatSummary {
		t.Errorf("format %q", r.Format)
	}
	if len(r.Nodes) != 1 || r.Nodes[0].Name != "datagen-1-31" || len(r.Pods) != 17 || len(r.Containers) != 17 {
		t.Fatalf("got %d nodes (%+v), %d pods, %d containers; want datagen-1-31, 17, 17", len(r.Nodes), r.Nodes, len(r.Pods), len(r.Containers))
	}
	checkSummaryAgainstRaw(t, r, decodeRaw(t, b))

	// A few values read off the file by eye, so that a mistake shared by the
	// decoder and the raw walk above would still show.
	n := r.Nodes[0]
	if n.CPU.CumulativeSeconds != 76.877443 || n.CPU.Cores != 0.501884788 || n.MemoryWorkingSetBytes != 894312448 {
		t.Errorf("node: %+v", n)
	}
	if n.Network == nil || n.Network.RxBytes != 586088171 || n.Network.TxBytes != 6279534 || n.FsCapacityBytes != 1081100128256 {
		t.Errorf("node network or fs: %+v %+v", n.Network, n)
	}
	kindnet := r.Containers[0]
	if kindnet.Pod != "kindnet-gmqkj" || kindnet.Container != "kindnet-cni" || kindnet.CPU.CumulativeSeconds != 0.147239 ||
		kindnet.MemoryWorkingSetBytes != 13746176 || kindnet.RootfsUsedBytes != 65536 || kindnet.LogsUsedBytes != 4096 ||
		!kindnet.StartTime.Equal(time.Date(2025, 11, 4, 19, 13, 56, 0, time.UTC)) {
		t.Errorf("kindnet-cni: %+v", kindnet)
	}

	// The node objects and the kubelet's pod list captured beside it agree.
	var nodes struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := yaml.Unmarshal(fixtures.Read(t, "kubelet-summary/nri-1.31/nodes.yaml"), &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 1 || nodes.Items[0].Metadata.Name != n.Name {
		t.Errorf("nodes.yaml names %+v, summary names %q", nodes.Items, n.Name)
	}
	var kubeletPods struct {
		Items []struct {
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(fixtures.Read(t, "kubelet-summary/nri-1.31/kubelet_pods.json"), &kubeletPods); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, p := range kubeletPods.Items {
		known[p.Metadata.Namespace+"/"+p.Metadata.Name] = true
	}
	for _, p := range r.Pods {
		if !known[p.Namespace+"/"+p.Name] {
			t.Errorf("summary pod %s/%s is not in the kubelet's pod list", p.Namespace, p.Name)
		}
	}
}

func TestSummaryToleratesSparseGKE2017Capture(t *testing.T) {
	b := fixtures.Read(t, "kubelet-summary/gke-2017-beats.json")
	r, err := Summary(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Nodes) != 1 || r.Nodes[0].Name != "gke-beats-default-pool-a5b33e2e-hdww" || len(r.Pods) != 1 || len(r.Containers) != 1 {
		t.Fatalf("got %+v", r)
	}
	checkSummaryAgainstRaw(t, r, decodeRaw(t, b))
	p := r.Pods[0]
	if p.CPU.HasCumulative || p.CPU.HasCores || p.HasMemory {
		t.Errorf("pod has no cpu or memory section, got %+v", p)
	}
	if p.Network == nil || p.Network.RxBytes != 107056 || p.Network.TxBytes != 72447 {
		t.Errorf("pod network %+v", p.Network)
	}
	c := r.Containers[0]
	if !c.CPU.HasCores || c.CPU.Cores != 0 || c.CPU.CumulativeSeconds != 0.043959424 || c.MemoryWorkingSetBytes != 1454080 {
		t.Errorf("nginx: %+v", c)
	}
}

func TestSummaryToleratesMissingSections(t *testing.T) {
	for _, c := range []struct {
		name, input string
		check       func(t *testing.T, r *Result)
	}{
		{
			name:  "node name only",
			input: `{"node":{"nodeName":"n"},"pods":null}`,
			check: func(t *testing.T, r *Result) {
				n := r.Nodes[0]
				if n.CPU.HasCumulative || n.CPU.HasCores || n.HasMemory || n.Network != nil || n.FsCapacityBytes != 0 || len(r.Pods) != 0 {
					t.Errorf("got %+v", r)
				}
			},
		},
		{
			name:  "container without any section",
			input: `{"node":{"nodeName":"n","unknown":{"x":1}},"pods":[{"podRef":{"name":"p","namespace":"ns"},"containers":[{"name":"c"}],"extra":[1,2]}]}`,
			check: func(t *testing.T, r *Result) {
				c := r.Containers[0]
				if c.Container != "c" || c.CPU.HasCumulative || c.HasMemory || !c.StartTime.IsZero() {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name:  "cpu section with only a rate",
			input: `{"node":{"nodeName":"n","cpu":{"time":"2024-01-01T00:00:00Z","usageNanoCores":250000000}},"pods":[]}`,
			check: func(t *testing.T, r *Result) {
				cpu := r.Nodes[0].CPU
				if !cpu.HasCores || cpu.Cores != 0.25 || cpu.HasCumulative {
					t.Errorf("got %+v", cpu)
				}
			},
		},
		{
			name:  "network with interfaces only is summed",
			input: `{"node":{"nodeName":"n","network":{"interfaces":[{"name":"a","rxBytes":1,"txBytes":2},{"name":"b","rxBytes":10,"txBytes":20}]}},"pods":[]}`,
			check: func(t *testing.T, r *Result) {
				if nw := r.Nodes[0].Network; nw == nil || nw.RxBytes != 11 || nw.TxBytes != 22 {
					t.Errorf("got %+v", nw)
				}
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Summary(strings.NewReader(c.input))
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, r)
		})
	}
}

func TestSummaryRejects(t *testing.T) {
	for _, c := range []struct{ name, input, want string }{
		{"empty object", `{}`, "no node name"},
		{"node without a name", `{"node":{"cpu":{}},"pods":[]}`, "no node name"},
		{"pod without a name", `{"node":{"nodeName":"n"},"pods":[{"podRef":{"namespace":"ns"}}]}`, "pod 0 has no name"},
		{"container without a name", `{"node":{"nodeName":"n"},"pods":[{"podRef":{"namespace":"ns","name":"p"},"containers":[{}]}]}`, "container 0 has no name"},
		{"pods not a list", `{"node":{"nodeName":"n"},"pods":5}`, "cannot unmarshal"},
		{"negative counter", `{"node":{"nodeName":"n","cpu":{"usageCoreNanoSeconds":-1}},"pods":[]}`, "cannot unmarshal"},
		{"bad time", `{"node":{"nodeName":"n","cpu":{"time":"yesterday"}},"pods":[]}`, "yesterday"},
		{"truncated", `{"node":{"nodeName":"n"`, "unexpected end"},
		{"trailing garbage", `{"node":{"nodeName":"n"},"pods":[]} x`, "invalid character"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Summary(strings.NewReader(c.input))
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v: want ErrMalformed and %q", err, c.want)
			}
		})
	}
}
