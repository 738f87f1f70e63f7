package decode

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/headroomhq/headroom/test/fixtures"
)

// addSeeds adds every capture in the fixtures folder, each metrics-resource
// vector's input, and the given literals (so that a fuzz test has seeds
// without the fixtures too).
func addSeeds(f *testing.F, literals ...string) {
	for _, l := range literals {
		f.Add([]byte(l))
	}
	dir, ok := fixtures.Dir()
	if !ok {
		return
	}
	for _, c := range captures() {
		if b, err := os.ReadFile(filepath.Join(dir, c.path)); err == nil {
			f.Add(b)
		}
	}
	for _, rel := range []string{"kubelet-summary/nri-1.31/kubelet_pods.json", "kubelet-summary/nri-1.31/nodes.yaml"} {
		if b, err := os.ReadFile(filepath.Join(dir, rel)); err == nil {
			f.Add(b)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, vectorsPath)); err == nil {
		var v vectors
		if json.Unmarshal(b, &v) == nil {
			for _, c := range v.Decode {
				f.Add([]byte(c.Input))
			}
		}
	}
}

// fuzzTime is the default time the fuzz tests decode with.
func fuzzTime() time.Time { return time.Date(2021, 10, 3, 9, 36, 52, 0, time.UTC) }

const (
	seedResource = "# TYPE container_cpu_usage_seconds_total counter\n" +
		`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} 4.7 1633253812125` + "\n" +
		`container_memory_working_set_bytes{container="c",namespace="n",pod="p"} 1.25e+07 1633253812125` + "\n" +
		`container_start_time_seconds{container="c",namespace="n",pod="p"} 1.633252712e+09` + "\n" +
		`pod_cpu_usage_seconds_total{namespace="n",pod="p"} 4.7` + "\n" +
		`pod_memory_working_set_bytes{namespace="n",pod="p"} 1.25e+07` + "\n" +
		"node_cpu_usage_seconds_total 357.35491 1633253809720\nnode_memory_working_set_bytes 1.6e+09 1633253809720\n"
	seedEscapes = `container_cpu_usage_seconds_total{container="a\\b\"c\nd",namespace="n",pod="p",} 1 5` + "\n"
	seedSummary = `{"node":{"nodeName":"n","cpu":{"time":"2024-01-01T00:00:00Z","usageNanoCores":1,"usageCoreNanoSeconds":2},` +
		`"memory":{"workingSetBytes":3},"network":{"rxBytes":4,"interfaces":[{"txBytes":5}]},"fs":{"usedBytes":6}},` +
		`"pods":[{"podRef":{"name":"p","namespace":"ns"},"containers":[{"name":"c","startTime":"2024-01-01T00:00:00Z","rootfs":{"usedBytes":7}}]}]}`
	seedPods = `{"kind":"PodMetricsList","items":[{"metadata":{"name":"p","namespace":"ns"},"timestamp":"2021-08-13T10:24:42Z",` +
		`"window":"30s","containers":[{"name":"c","usage":{"cpu":"704595n","memory":"24716Ki"}}]}]}`
	seedNodes = `{"kind":"NodeMetrics","metadata":{"name":"n"},"timestamp":"2021-08-13T10:24:26Z","window":"30s","usage":{"cpu":"110691045n","memory":"801112Ki"}}`
)

func FuzzResourceMetrics(f *testing.F) {
	addSeeds(f, seedResource, seedEscapes, "node_cpu_usage_seconds_total 1 -5\n", "x{", "")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ResourceMetrics(bytes.NewReader(b), "n", fuzzTime())
		if err == nil && r == nil {
			t.Fatal("nil result without an error")
		}
		if r == nil {
			return
		}
		for _, c := range r.Containers {
			// The names are sliced out of the ID: the slicing must be exact.
			if c.ID != ContainerID(c.Namespace, c.Pod, c.Container) {
				t.Fatalf("container %q/%q/%q has ID %q", c.Namespace, c.Pod, c.Container, c.ID)
			}
		}
	})
}

// FuzzResourceMetricsAgreesWithExpfmt holds the hand-written scanner to
// Prometheus's own text parser wherever both accept the input.
func FuzzResourceMetricsAgreesWithExpfmt(f *testing.F) {
	addSeeds(f, seedResource, seedEscapes)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := compareWithReference(b, "n", fuzzTime()); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzSummary(f *testing.F) {
	addSeeds(f, seedSummary, `{"node":null,"pods":[]}`, "{}", "")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Summary(bytes.NewReader(b))
		if err == nil && r == nil {
			t.Fatal("nil result without an error")
		}
	})
}

func FuzzMetricsAPI(f *testing.F) {
	addSeeds(f, seedPods, seedNodes, `{"items":[{"usage":{"cpu":"1e3"}}]}`, "{}")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := MetricsAPI(bytes.NewReader(b))
		if err == nil && r == nil {
			t.Fatal("nil result without an error")
		}
	})
}

func FuzzDecode(f *testing.F) {
	addSeeds(f, seedResource, seedEscapes, seedSummary, seedPods, seedNodes, "garbage", "")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b, "n", fuzzTime())
		if err == nil && r == nil {
			t.Fatal("nil result without an error")
		}
	})
}
