package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func (s *stack) startEtcd(ctx context.Context, clientPort, peerPort int) (string, error) {
	clientURL := "http://" + hostPort(clientPort)
	peerURL := "http://" + hostPort(peerPort)
	p, err := s.start("etcd", "etcd", []string{
		"--name=localstack",
		"--data-dir=" + filepath.Join(s.opts.Dir, "etcd"),
		"--listen-client-urls=" + clientURL, "--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=localstack=" + peerURL,
		"--unsafe-no-fsync", "--quota-backend-bytes=4294967296", "--log-level=warn",
	})
	if err != nil {
		return "", err
	}
	c := &http.Client{Timeout: 5 * time.Second}
	if err := pollUntil(ctx, "etcd", &p, 100*time.Millisecond, httpOK(c, clientURL+"/health", "")); err != nil {
		return "", err
	}
	return clientURL, nil
}

const influxConfigTemplate = `reporting-disabled = true
bind-address = "%[1]s"
[meta]
  dir = "%[2]s/meta"
[data]
  dir = "%[2]s/data"
  wal-dir = "%[2]s/wal"
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "%[3]s"
  flux-enabled = true
  log-enabled = false
[continuous_queries]
  enabled = false
[monitor]
  store-enabled = false
`

func (s *stack) startInflux(ctx context.Context, httpPort, bindPort int) error {
	in := &Influx{bin: s.opts.Binaries["influxd"], dir: filepath.Join(s.opts.Dir, "influxdb"),
		logDir: filepath.Join(s.opts.Dir, "logs"), httpPort: httpPort, bindPort: bindPort,
		URL: "http://" + hostPort(httpPort)}
	if err := in.Start(ctx); err != nil {
		return err
	}
	if err := s.record(in.proc); err != nil {
		return err
	}
	if err := in.CreateDatabase(ctx, InfluxDatabase); err != nil {
		return err
	}
	s.mu.Lock()
	s.state.InfluxURL = in.URL
	s.mu.Unlock()
	return nil
}

const alertmanagerConfig = `route:
  receiver: recorder
  group_by: ['...']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: recorder
  webhook_configs:
  - url: %s/hook
    send_resolved: true
`

func (s *stack) startAlertmanager(ctx context.Context, amPort int) error {
	// The recorder binds port 0 itself and writes its address to a file, so
	// its port can never be taken between choosing and binding.
	dir := filepath.Join(s.opts.Dir, "alertmanager")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	addrFile := filepath.Join(dir, "webhook.addr")
	rec, err := s.start("webhook-recorder", "helper", []string{"webhook", "--addr-file", addrFile,
		"--out", filepath.Join(dir, "webhook.jsonl")})
	if err != nil {
		return err
	}
	var hookURL string
	if err := pollUntil(ctx, "webhook recorder", &rec, 50*time.Millisecond, func(context.Context) error {
		b, err := os.ReadFile(addrFile)
		if err != nil || len(b) == 0 {
			return errNotReady
		}
		hookURL = "http://" + strings.TrimSpace(string(b))
		return nil
	}); err != nil {
		return err
	}
	conf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, alertmanagerConfig, hookURL), 0o644); err != nil {
		return err
	}
	base := "http://" + hostPort(amPort)
	p, err := s.start("alertmanager", "alertmanager", []string{
		"--config.file=" + conf, "--storage.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + hostPort(amPort), "--cluster.listen-address=",
		"--log.level=info",
	})
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: 5 * time.Second}
	if err := pollUntil(ctx, "alertmanager", &p, 50*time.Millisecond, httpOK(c, base+"/-/ready", "")); err != nil {
		return err
	}
	s.mu.Lock()
	s.state.AlertmanagerURL, s.state.WebhookURL = base, hookURL
	s.mu.Unlock()
	return nil
}

// startCluster brings up one cluster's control plane, kwok and metrics-server.
// ports: apiserver, controller-manager, scheduler, kwok, metrics-server.
func (s *stack) startCluster(ctx context.Context, idx int, spec ClusterSpec, etcdURL string, ports [5]int) (ClusterState, error) {
	dir := filepath.Join(s.opts.Dir, "clusters", spec.Name)
	apiPort, kcmPort, schedPort, kwokPort, msPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	c := ClusterState{Name: spec.Name, Context: spec.Name, Server: "https://" + hostPort(apiPort),
		Token: randomToken(), KubeletIP: "127.0.0.1", KubeletPort: kwokPort, Spec: spec}
	kwokListen := "127.0.0.1"
	var extraIPs []net.IP
	if spec.KubeletNetns {
		ns, err := createNetns(s.opts.Dir, idx, spec.Name)
		if err != nil {
			return c, err
		}
		c.Netns, c.KubeletIP, kwokListen = ns.Name, ns.GuestIP, ns.HostIP
		extraIPs = []net.IP{net.ParseIP(ns.HostIP), net.ParseIP(ns.GuestIP)}
	}
	pki, err := newClusterPKI(filepath.Join(dir, "pki"), extraIPs)
	if err != nil {
		return c, err
	}
	c.CAFile = pki.CA.CertFile
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(c.Token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return c, err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeComponentKubeconfig(kubeconfig, c); err != nil {
		return c, err
	}
	name := func(component string) string { return spec.Name + "-" + component }

	api, err := s.start(name("kube-apiserver"), "kube-apiserver", []string{
		"--bind-address=127.0.0.1", "--secure-port=" + itoa(apiPort),
		"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
		"--etcd-servers=" + etcdURL, "--etcd-prefix=/registry-" + spec.Name,
		"--tls-cert-file=" + pki.Serving.CertFile, "--tls-private-key-file=" + pki.Serving.KeyFile,
		"--client-ca-file=" + pki.CA.CertFile,
		"--token-auth-file=" + tokens,
		"--service-account-key-file=" + pki.SAPublicFile,
		"--service-account-signing-key-file=" + pki.SAKeyFile,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--authorization-mode=Node,RBAC",
		"--kubelet-client-certificate=" + pki.KubeletClient.CertFile,
		"--kubelet-client-key=" + pki.KubeletClient.KeyFile,
		"--kubelet-preferred-address-types=InternalIP",
		"--requestheader-client-ca-file=" + pki.FrontProxyCA.CertFile,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-username-headers=X-Remote-User",
		"--proxy-client-cert-file=" + pki.FrontProxy.CertFile,
		"--proxy-client-key-file=" + pki.FrontProxy.KeyFile,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--allow-privileged=true", "--profiling=false",
		// A test stack: no request throttling, as kwokctl's disableQPSLimits.
		"--max-requests-inflight=0", "--max-mutating-requests-inflight=0",
		"--enable-priority-and-fairness=false",
		"--event-ttl=1h",
	})
	if err != nil {
		return c, err
	}
	hc, err := httpClient(c.CAFile)
	if err != nil {
		return c, err
	}
	if err := pollUntil(ctx, name("kube-apiserver"), &api, 200*time.Millisecond, httpOK(hc, c.Server+"/readyz", c.Token)); err != nil {
		return c, err
	}
	tlsArgs := []string{"--tls-cert-file=" + pki.Serving.CertFile, "--tls-private-key-file=" + pki.Serving.KeyFile}
	kubeArgs := []string{"--kubeconfig=" + kubeconfig, "--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig}
	unthrottled := []string{"--kube-api-qps=5000", "--kube-api-burst=10000"}

	kcm, err := s.start(name("kube-controller-manager"), "kube-controller-manager", append(append([]string{
		"--bind-address=127.0.0.1", "--secure-port=" + itoa(kcmPort), "--leader-elect=false",
		"--service-account-private-key-file=" + pki.SAKeyFile, "--root-ca-file=" + pki.CA.CertFile,
		"--cluster-name=" + spec.Name,
	}, kubeArgs...), append(tlsArgs, unthrottled...)...))
	if err != nil {
		return c, err
	}
	// With --config the scheduler ignores --kubeconfig, --leader-elect and
	// the qps flags: they go into its configuration file.
	schedConf := filepath.Join(dir, "kube-scheduler.yaml")
	if err := os.WriteFile(schedConf, schedulerConfig(kubeconfig, spec.PercentageOfNodesToScore, spec.Parallelism), 0o644); err != nil {
		return c, err
	}
	sched, err := s.start(name("kube-scheduler"), "kube-scheduler", append([]string{
		"--bind-address=127.0.0.1", "--secure-port=" + itoa(schedPort), "--config=" + schedConf,
		"--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig,
	}, tlsArgs...))
	if err != nil {
		return c, err
	}
	kwokConf := filepath.Join(dir, "kwok.yaml")
	if err := os.WriteFile(kwokConf, kwokConfig, 0o644); err != nil {
		return c, err
	}
	kwok, err := s.start(name("kwok"), "kwok", append([]string{
		"--kubeconfig=" + kubeconfig, "--config=" + kwokConf,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=" + annotationKwokNode + "=fake",
		"--node-ip=" + c.KubeletIP, "--node-port=" + itoa(kwokPort),
		"--server-address=" + net.JoinHostPort(kwokListen, itoa(kwokPort)),
		"--cidr=10.0.0.1/16",
		// Without it kwok renews no node leases, and the node lifecycle
		// controller marks every node NotReady after its grace period.
		"--node-lease-duration-seconds=40",
	}, tlsArgs...))
	if err != nil {
		return c, err
	}
	if c.Netns != "" {
		// Inside the namespace, the kubelet address forwards to kwok on the host side.
		if _, err := s.start(name("kubelet-forwarder"), "helper", []string{"forward",
			"--listen=" + net.JoinHostPort(c.KubeletIP, itoa(kwokPort)),
			"--to=" + net.JoinHostPort(kwokListen, itoa(kwokPort))}, "ip", "netns", "exec", c.Netns); err != nil {
			return c, err
		}
	}
	resolution := spec.MetricsResolution
	if resolution == "" {
		resolution = "10s"
	}
	ms, err := s.start(name("metrics-server"), "metrics-server", append(append([]string{
		"--bind-address=127.0.0.1", "--secure-port=" + itoa(msPort),
		"--kubelet-insecure-tls", "--kubelet-use-node-status-port",
		"--kubelet-preferred-address-types=InternalIP",
		"--metric-resolution=" + resolution, "--kubelet-request-timeout=5s",
	}, kubeArgs...), tlsArgs...))
	if err != nil {
		return c, err
	}

	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return c, err
	}
	for _, pool := range spec.Pools {
		if err := CreateNodePool(ctx, cs, c, pool); err != nil {
			return c, err
		}
	}
	if err := registerMetricsAPI(ctx, c, msPort); err != nil {
		return c, err
	}
	hcInsecure, _ := httpClient("")
	for _, h := range []struct {
		proc *Process
		port int
	}{{&kcm, kcmPort}, {&sched, schedPort}} {
		if err := pollUntil(ctx, h.proc.Name, h.proc, 200*time.Millisecond, httpOK(hcInsecure, "https://"+hostPort(h.port)+"/healthz", "")); err != nil {
			return c, err
		}
	}
	want := 0
	for _, p := range spec.Pools {
		want += p.Count
	}
	if err := pollUntil(ctx, "nodes Ready", &kwok, 250*time.Millisecond, func(ctx context.Context) error {
		return nodesReady(ctx, cs, want)
	}); err != nil {
		return c, err
	}
	if err := pollUntil(ctx, "metrics.k8s.io", &ms, time.Second, func(ctx context.Context) error {
		return nodeMetricsServed(ctx, cs, want)
	}); err != nil {
		return c, err
	}
	s.log.Info("cluster ready", "cluster", spec.Name, "server", c.Server, "nodes", want)
	return c, nil
}

func writeComponentKubeconfig(path string, c ClusterState) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: c.Server, CertificateAuthority: c.CAFile}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.Token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "admin"}
	cfg.CurrentContext = "local"
	return clientcmd.WriteToFile(*cfg, path)
}

func nodesReady(ctx context.Context, cs kubernetes.Interface, want int) error {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	ready := 0
	for _, n := range nodes.Items {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if ready < want {
		return fmt.Errorf("%d of %d nodes Ready", ready, want)
	}
	return nil
}

func nodeMetricsServed(ctx context.Context, cs kubernetes.Interface, want int) error {
	var list struct {
		Items []struct{} `json:"items"`
	}
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/apis/metrics.k8s.io/v1beta1/nodes").DoRaw(ctx)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return err
	}
	if len(list.Items) < want {
		return fmt.Errorf("metrics for %d of %d nodes", len(list.Items), want)
	}
	return nil
}

// registerMetricsAPI points the aggregator at metrics-server on loopback: an
// ExternalName Service (no cluster network here) and the v1beta1 APIService.
func registerMetricsAPI(ctx context.Context, c ClusterState, port int) error {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-server", Namespace: "kube-system"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "127.0.0.1",
			Ports: []corev1.ServicePort{{Name: "https", Port: int32(port), TargetPort: intstr.FromInt32(int32(port))}}},
	}
	if _, err := cs.CoreV1().Services("kube-system").Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("metrics-server service: %w", err)
	}
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	apiService := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": "v1beta1.metrics.k8s.io"},
		"spec": map[string]any{
			"group": "metrics.k8s.io", "version": "v1beta1",
			"service":               map[string]any{"namespace": "kube-system", "name": "metrics-server", "port": int64(port)},
			"insecureSkipTLSVerify": true, "groupPriorityMinimum": int64(100), "versionPriority": int64(100),
		},
	}}
	gvr := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	if _, err := dyn.Resource(gvr).Create(ctx, apiService, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("metrics APIService: %w", err)
	}
	return nil
}

// schedulerConfig is the KubeSchedulerConfiguration of a cluster's
// scheduler: the default profile, unthrottled, and percentageOfNodesToScore
// and parallelism when the spec sets them (0 keeps the scheduler's default).
func schedulerConfig(kubeconfig string, percentage, parallelism int) []byte {
	conf := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 5000
  burst: 10000
leaderElection:
  leaderElect: false
`, kubeconfig)
	if percentage > 0 {
		conf += fmt.Sprintf("percentageOfNodesToScore: %d\n", percentage)
	}
	if parallelism > 0 {
		conf += fmt.Sprintf("parallelism: %d\n", parallelism)
	}
	return []byte(conf)
}
