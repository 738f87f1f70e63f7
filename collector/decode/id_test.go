package decode

import (
	"strings"
	"testing"
	"time"
)

func TestContainerIDRoundTrip(t *testing.T) {
	long := strings.Repeat("p", 300) // a length that takes two bytes to prefix
	for _, c := range [][3]string{
		{"shop", "web-5d4f-a", "main"},
		{"", "", ""},
		{"a", "bc", ""}, {"ab", "c", ""}, // the same bytes, split differently
		{"kube-system", long, "sidecar"},
	} {
		id := ContainerID(c[0], c[1], c[2])
		ns, pod, ctr, ok := SplitContainerID(id)
		if !ok || [3]string{ns, pod, ctr} != c {
			t.Errorf("SplitContainerID(ContainerID(%q)) = %q, %q, %q, %v", c, ns, pod, ctr, ok)
		}
	}
	if ContainerID("a", "bc", "") == ContainerID("ab", "c", "") {
		t.Error("two different triples share an ID")
	}
	for _, bad := range []string{"", "\x05ab", "\x01a\x09b"} {
		if _, _, _, ok := SplitContainerID(bad); ok {
			t.Errorf("SplitContainerID(%q) accepted a string that is no ID", bad)
		}
	}
}

// Every decoder names its containers by the same ID, so that usage from
// any source joins to the pods alike.
func TestDecodersSetContainerID(t *testing.T) {
	inputs := map[string]string{
		"metrics-resource": "# TYPE container_cpu_usage_seconds_total counter\ncontainer_cpu_usage_seconds_total{container=\"main\",namespace=\"shop\",pod=\"web-1\"} 1.5 1700000000000\n" +
			"container_memory_working_set_bytes{container=\"main\",namespace=\"shop\",pod=\"web-1\"} 1e+06 1700000000000\n",
		"stats-summary":    `{"node":{"nodeName":"n1"},"pods":[{"podRef":{"name":"web-1","namespace":"shop"},"containers":[{"name":"main","cpu":{"time":"2023-11-14T22:13:20Z","usageCoreNanoSeconds":1500000000}}]}]}`,
		"metrics-api-pods": `{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","items":[{"metadata":{"name":"web-1","namespace":"shop"},"timestamp":"2023-11-14T22:13:20Z","window":"15s","containers":[{"name":"main","usage":{"cpu":"10m","memory":"1Mi"}}]}]}`,
	}
	want := ContainerID("shop", "web-1", "main")
	for format, in := range inputs {
		res, err := Decode([]byte(in), "n1", time.Unix(1700000000, 0))
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(res.Containers) != 1 || res.Containers[0].ID != want {
			t.Errorf("%s: containers %+v, want one with ID %q", format, res.Containers, want)
		}
	}
}
