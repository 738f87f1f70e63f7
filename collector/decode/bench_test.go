package decode

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// resourceText110Pods builds a /metrics/resource response for one node with
// 110 pods of one container each, in the kubelet's own layout (families in
// this order, HELP and TYPE lines, millisecond timestamps, swap families the
// decoder skips), as in metrics-server's captured vectors.
func resourceText110Pods() []byte {
	var b bytes.Buffer
	const pods = 110
	family := func(name, typ, help string, line func(i int)) {
		fmt.Fprintf(&b, "# HELP %s [STABLE] %s\n# TYPE %s %s\n", name, help, name, typ)
		for i := range pods {
			line(i)
		}
	}
	labels := func(i int) string {
		return fmt.Sprintf(`container="app",namespace="team-%02d",pod="app-7c9f5b8d4-%05d"`, i%12, i)
	}
	podLabels := func(i int) string {
		return fmt.Sprintf(`namespace="team-%02d",pod="app-7c9f5b8d4-%05d"`, i%12, i)
	}
	family("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the container in core-seconds", func(i int) {
		fmt.Fprintf(&b, "container_cpu_usage_seconds_total{%s} %g 1633253812125\n", labels(i), 4.710169+float64(i)*13.37)
	})
	family("container_memory_working_set_bytes", "gauge", "Current working set of the container in bytes", func(i int) {
		fmt.Fprintf(&b, "container_memory_working_set_bytes{%s} %g 1633253812125\n", labels(i), 1.253376e+07+float64(i)*4096)
	})
	family("container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds", func(i int) {
		fmt.Fprintf(&b, "container_start_time_seconds{%s} %g 1633253812125\n", labels(i), 1.633252712e+09+float64(i))
	})
	family("container_swap_usage_bytes", "gauge", "Current amount of the container swap usage in bytes", func(i int) {
		fmt.Fprintf(&b, "container_swap_usage_bytes{%s} 0 1633253812125\n", labels(i))
	})
	b.WriteString("# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds\n# TYPE node_cpu_usage_seconds_total counter\n")
	b.WriteString("node_cpu_usage_seconds_total 357.35491 1633253809720\n")
	b.WriteString("# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes\n# TYPE node_memory_working_set_bytes gauge\n")
	b.WriteString("node_memory_working_set_bytes 1.616273408e+09 1633253809720\n")
	family("pod_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the pod in core-seconds", func(i int) {
		fmt.Fprintf(&b, "pod_cpu_usage_seconds_total{%s} %g 1633253803935\n", podLabels(i), 4.67812+float64(i)*13.37)
	})
	family("pod_memory_working_set_bytes", "gauge", "Current working set of the pod in bytes", func(i int) {
		fmt.Fprintf(&b, "pod_memory_working_set_bytes{%s} %g 1633253803935\n", podLabels(i), 1.2627968e+07+float64(i)*4096)
	})
	family("pod_swap_usage_bytes", "gauge", "Current amount of the pod swap usage in bytes", func(i int) {
		fmt.Fprintf(&b, "pod_swap_usage_bytes{%s} 0 1633253803935\n", podLabels(i))
	})
	b.WriteString("# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE resource_scrape_error gauge\nresource_scrape_error 0\n")
	return b.Bytes()
}

func BenchmarkDecodeResourceMetrics110Pods(b *testing.B) {
	in := resourceText110Pods()
	at := time.Now()
	r, err := ResourceMetrics(bytes.NewReader(in), "node1", at)
	if err != nil || len(r.Containers) != 110 || len(r.Pods) != 110 || len(r.Nodes) != 1 {
		b.Fatalf("setup: %v, %+v", err, r)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ResourceMetricsBytes(in, "node1", at); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExpfmtParseResourceMetrics110Pods parses the same response with
// Prometheus's text parser alone, without building samples: the yardstick
// for the hand-written scanner.
func BenchmarkExpfmtParseResourceMetrics110Pods(b *testing.B) {
	in := resourceText110Pods()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		p := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := p.TextToMetricFamilies(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRatesObserve110Containers(b *testing.B) {
	in := resourceText110Pods()
	r, err := ResourceMetrics(bytes.NewReader(in), "node1", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	type key struct{ namespace, pod, container string }
	var rates Rates[key]
	b.ReportAllocs()
	tick := 0
	for b.Loop() {
		tick++
		for _, c := range r.Containers {
			rates.Observe(key{c.Namespace, c.Pod, c.Container}, Sample{
				StartTime:         c.StartTime,
				Time:              c.CPU.Time.Add(time.Duration(tick) * 15 * time.Second),
				CumulativeSeconds: c.CPU.CumulativeSeconds + float64(tick),
			})
		}
		rates.Forget()
	}
}
