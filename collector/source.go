package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/headroomhq/headroom/collector/decode"
)

// Endpoints a kubelet serves.
const (
	EndpointResource = "resource" // /metrics/resource, Prometheus text
	EndpointSummary  = "summary"  // /stats/summary, JSON with network and filesystem

	// ResourceMetricsPathAnnotation overrides a node's /metrics/resource path,
	// as metrics-server honours it.
	ResourceMetricsPathAnnotation = "metrics.k8s.io/resource-metrics-path"

	maxResponseBytes = 64 << 20
)

// NodeScraper reads one node's usage.
type NodeScraper interface {
	ScrapeNode(ctx context.Context, node *corev1.Node) (*decode.Result, error)
}

// ClusterScraper reads a whole cluster's usage in one call (metrics-server).
type ClusterScraper interface {
	ScrapeCluster(ctx context.Context) (*decode.Result, error)
}

func nodePath(node *corev1.Node, endpoint string) string {
	if endpoint == EndpointSummary {
		return "/stats/summary"
	}
	if p := node.Annotations[ResourceMetricsPathAnnotation]; p != "" {
		return p
	}
	return "/metrics/resource"
}

func decodeBody(body []byte, endpoint, node string, now time.Time) (*decode.Result, error) {
	if endpoint == EndpointSummary {
		return decode.SummaryBytes(body)
	}
	return decode.ResourceMetricsBytes(body, node, now)
}

// KubeletScraper reads each node's kubelet directly, as metrics-server does:
// the node's first address of AddressTypes, the kubelet port from node status
// (or Port), and the daemon's own credentials.
type KubeletScraper struct {
	Client       *http.Client
	Endpoint     string // EndpointResource or EndpointSummary
	Port         int    // 0: the node's status.daemonEndpoints.kubeletEndpoint.Port
	AddressTypes []corev1.NodeAddressType
	Now          func() time.Time
}

var _ NodeScraper = (*KubeletScraper)(nil)

// NewKubeletClient builds the HTTP client for kubelets from the cluster's
// client configuration: same credentials, the kubelet CA (or none when
// insecure), and the per-request timeout left to the caller's context.
//
// Responses are asked for uncompressed and over HTTP/1.1: a node's
// /metrics/resource is some tens of kilobytes inside the cluster network,
// and gzip plus HTTP/2 framing were a third of the daemon's CPU when
// profiled against 500 nodes (README, "Measured").
func NewKubeletClient(cfg *rest.Config, caFile string, insecure bool) (*http.Client, error) {
	c := rest.CopyConfig(cfg)
	c.DisableCompression = true
	c.TLSClientConfig.NextProtos = []string{"http/1.1"}
	c.TLSClientConfig.CAFile, c.TLSClientConfig.CAData = caFile, nil
	c.TLSClientConfig.Insecure = insecure
	if insecure {
		c.TLSClientConfig.CAFile = ""
	}
	c.Timeout = 0
	return rest.HTTPClientFor(c)
}

// ScrapeNode implements NodeScraper.
func (k *KubeletScraper) ScrapeNode(ctx context.Context, node *corev1.Node) (*decode.Result, error) {
	addr, err := nodeAddress(node, k.AddressTypes)
	if err != nil {
		return nil, err
	}
	port := k.Port
	if port == 0 {
		port = int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	}
	if port == 0 {
		return nil, fmt.Errorf("node %s: no kubelet port in status", node.Name)
	}
	url := "https://" + net.JoinHostPort(addr, strconv.Itoa(port)) + nodePath(node, k.Endpoint)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node.Name, err)
	}
	resp, err := k.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node.Name, err)
	}
	defer resp.Body.Close()
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	buf.Reset()
	if n := resp.ContentLength; n > 0 && n <= maxResponseBytes {
		buf.Grow(int(n) + bytes.MinRead) // one allocation, not a doubling series
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes)); err != nil {
		return nil, fmt.Errorf("node %s: read %s: %w", node.Name, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("node %s: GET %s: %s", node.Name, url, resp.Status)
	}
	res, err := decodeBody(buf.Bytes(), k.Endpoint, node.Name, k.now())
	if err != nil {
		return nil, fmt.Errorf("node %s: decode %s: %w", node.Name, url, err)
	}
	return res, nil
}

// bodyBuffers recycles response buffers between scrapes: a cycle reads one
// body per node, and growing a fresh buffer each time was most of the
// daemon's allocation.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBodyBuffer returns a buffer to the pool unless one outsized response
// grew it past what keeping it is worth.
func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() <= 4<<20 {
		bodyBuffers.Put(b)
	}
}

func (k *KubeletScraper) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// DefaultAddressTypes is metrics-server's default preference.
var DefaultAddressTypes = []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName}

func nodeAddress(node *corev1.Node, types []corev1.NodeAddressType) (string, error) {
	if len(types) == 0 {
		types = DefaultAddressTypes
	}
	for _, t := range types {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" {
				return a.Address, nil
			}
		}
	}
	return "", fmt.Errorf("node %s: no address of types %v", node.Name, types)
}

// ProxyScraper reads kubelets through the apiserver's node proxy
// (/api/v1/nodes/NAME/proxy/...), for a daemon outside the cluster network.
type ProxyScraper struct {
	REST     rest.Interface // a core/v1 REST client
	Endpoint string
	Now      func() time.Time
}

var _ NodeScraper = (*ProxyScraper)(nil)

// ScrapeNode implements NodeScraper.
func (p *ProxyScraper) ScrapeNode(ctx context.Context, node *corev1.Node) (*decode.Result, error) {
	path := "/api/v1/nodes/" + node.Name + "/proxy" + nodePath(node, p.Endpoint)
	body, err := p.REST.Get().AbsPath(path).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("node %s via apiserver proxy: %w", node.Name, err)
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	res, err := decodeBody(body, p.Endpoint, node.Name, now)
	if err != nil {
		return nil, fmt.Errorf("node %s: decode %s: %w", node.Name, path, err)
	}
	return res, nil
}

// MetricsServerScraper reads metrics.k8s.io, already aggregated by
// metrics-server, in two calls per cycle (pods and nodes).
type MetricsServerScraper struct {
	REST rest.Interface // the k8s.io/metrics clientset's MetricsV1beta1().RESTClient()
}

var _ ClusterScraper = (*MetricsServerScraper)(nil)

// ScrapeCluster implements ClusterScraper.
func (m *MetricsServerScraper) ScrapeCluster(ctx context.Context) (*decode.Result, error) {
	out := &decode.Result{}
	for _, resource := range []string{"nodes", "pods"} {
		body, err := m.REST.Get().Resource(resource).DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("metrics.k8s.io %s: %w", resource, err)
		}
		res, err := decode.MetricsAPI(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("metrics.k8s.io %s: %w", resource, err)
		}
		out.Format = res.Format
		out.Nodes = append(out.Nodes, res.Nodes...)
		out.Pods = append(out.Pods, res.Pods...)
		out.Containers = append(out.Containers, res.Containers...)
	}
	return out, nil
}
