package collector

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/headroomhq/headroom/test/fixtures"
)

// kubeletNode points a Node at a test server the way a kubelet's node
// object points at the kubelet: InternalIP and the kubelet endpoint port.
func kubeletNode(t *testing.T, srv *httptest.Server, annotations map[string]string) *corev1.Node {
	t.Helper()
	host, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "datagen-1-31", Annotations: annotations},
		Status: corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "datagen"}, {Type: corev1.NodeInternalIP, Address: host}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(p)}},
		},
	}
}

// TestKubeletScraperReadsSummaryCapture serves a real kubelet's
// /stats/summary over TLS and reads it as headroomd does: InternalIP, the
// status port, the daemon's bearer token.
func TestKubeletScraperReadsSummaryCapture(t *testing.T) {
	body := fixtures.Read(t, "kubelet-summary/nri-1.31/stats_summary.json")
	var gotAuth, gotPath string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	client, err := NewKubeletClient(&rest.Config{BearerToken: "s3cret"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	s := &KubeletScraper{Client: client, Endpoint: EndpointSummary}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := s.ScrapeNode(ctx, kubeletNode(t, srv, nil))
	if err != nil {
		t.Fatal(err)
	}
	if gotPath != "/stats/summary" || gotAuth != "Bearer s3cret" {
		t.Errorf("request: path %q, auth %q", gotPath, gotAuth)
	}
	if len(res.Nodes) != 1 || res.Nodes[0].Name != "datagen-1-31" || len(res.Containers) != 17 {
		t.Fatalf("decoded %d nodes (%v), %d containers; want 1 node datagen-1-31, 17 containers", len(res.Nodes), res.Nodes, len(res.Containers))
	}
}

func TestKubeletScraperHonoursMetricsPathAndFailsClearly(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/custom/metrics/resource" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("# TYPE node_cpu_usage_seconds_total counter\nnode_cpu_usage_seconds_total 12.5 1700000000000\n# TYPE node_memory_working_set_bytes gauge\nnode_memory_working_set_bytes 1e9 1700000000000\n"))
	}))
	defer srv.Close()
	client, err := NewKubeletClient(&rest.Config{}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	s := &KubeletScraper{Client: client, Endpoint: EndpointResource}
	ctx := context.Background()
	res, err := s.ScrapeNode(ctx, kubeletNode(t, srv, map[string]string{ResourceMetricsPathAnnotation: "/custom/metrics/resource"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Nodes) != 1 || res.Nodes[0].CPU.CumulativeSeconds != 12.5 {
		t.Fatalf("got %+v", res.Nodes)
	}
	// Without the annotation the default path answers 404: the error names node and status.
	_, err = s.ScrapeNode(ctx, kubeletNode(t, srv, nil))
	if err == nil || !contains(err.Error(), "datagen-1-31") || !contains(err.Error(), "404") {
		t.Fatalf("err = %v, want one naming the node and the 404", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
