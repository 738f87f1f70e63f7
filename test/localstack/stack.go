package localstack

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// InfluxDatabase is the database the stack creates in InfluxDB.
const InfluxDatabase = "headroom"

// Binaries maps a component (kube-apiserver, etcd, kwok, ...) to its executable.
type Binaries map[string]string

var requiredBinaries = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler",
	"etcd", "kwok", "metrics-server", "influxd", "alertmanager"}

// LoadBinaries reads the manifest build.sh prints: component=path lines.
func LoadBinaries(manifest string) (Binaries, error) {
	f, err := os.Open(manifest)
	if err != nil {
		return nil, fmt.Errorf("binary manifest: %w", err)
	}
	defer f.Close()
	b := Binaries{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		name, path, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want component=path", manifest, line)
		}
		b[name] = path
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", manifest, err)
	}
	for _, name := range requiredBinaries {
		if st, err := os.Stat(b[name]); err != nil || st.IsDir() {
			return nil, fmt.Errorf("%s: %s missing or not built (%q)", manifest, name, b[name])
		}
	}
	return b, nil
}

// Options configure Up.
type Options struct {
	// Dir holds the state file, certificates, data and logs. Required.
	Dir string
	// Spec declares clusters and node pools; DefaultSpec() when empty.
	Spec Spec
	// Binaries of the servers, from build.sh's manifest. Required.
	Binaries Binaries
	// Helper is the localstack executable, started for the webhook recorder
	// and the network-namespace forwarders. Required.
	Helper string
	// Timeout bounds the whole start-up; default 4 minutes.
	Timeout time.Duration
	Logger  *slog.Logger
}

// State is what a running stack looks like to its users; Up writes it to
// Dir/state.json and Down reads it back.
type State struct {
	Dir        string         `json:"dir"`
	Kubeconfig string         `json:"kubeconfig"`
	Clusters   []ClusterState `json:"clusters"`
	// InfluxURL serves the 1.x API and the /api/v2 compatibility endpoints.
	InfluxURL      string `json:"influxURL"`
	InfluxDatabase string `json:"influxDatabase"`
	// AlertmanagerURL is the base URL (its API is under /api/v2).
	AlertmanagerURL string `json:"alertmanagerURL"`
	// WebhookURL is the recorder Alertmanager notifies; GET WebhookURL+"/received"
	// lists every notification it got.
	WebhookURL string `json:"webhookURL"`
	// Binaries the stack runs, for tests that start a server of their own.
	Binaries  Binaries  `json:"binaries"`
	Processes []Process `json:"processes"`
	StartedAt time.Time `json:"startedAt"`
	ReadyAt   time.Time `json:"readyAt"`
}

// ClusterState describes one running simulated cluster.
type ClusterState struct {
	Name    string `json:"name"`
	Context string `json:"context"` // context name in State.Kubeconfig
	Server  string `json:"server"`
	Token   string `json:"token"` // admin token (system:masters)
	CAFile  string `json:"caFile"`
	// KubeletIP is the address kwok reports as every node's InternalIP:
	// 127.0.0.1, or a network-namespace host address with KubeletNetns.
	KubeletIP   string      `json:"kubeletIP"`
	KubeletPort int         `json:"kubeletPort"`
	Netns       string      `json:"netns,omitempty"`
	Spec        ClusterSpec `json:"spec"`
}

// RESTConfig returns a client configuration for the cluster's admin.
func (c ClusterState) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            c.Server,
		BearerToken:     c.Token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile},
		QPS:             200,
		Burst:           400,
	}
}

// PooledClusters returns the clusters whose spec declares nodes, in spec
// order. A cluster without pools (gate) is left to tests that create and
// delete nodes of their own, so tests that need standing nodes skip it.
func (s *State) PooledClusters() []ClusterState {
	var out []ClusterState
	for _, c := range s.Clusters {
		if len(c.Spec.Pools) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// Cluster returns the named cluster's state.
func (s *State) Cluster(name string) (ClusterState, bool) {
	for _, c := range s.Clusters {
		if c.Name == name {
			return c, true
		}
	}
	return ClusterState{}, false
}

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

// LoadState reads Dir/state.json. It returns an error wrapping os.ErrNotExist
// when no stack was started there.
func LoadState(dir string) (*State, error) {
	b, err := os.ReadFile(statePath(dir))
	if err != nil {
		return nil, fmt.Errorf("stack state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", statePath(dir), err)
	}
	return &s, nil
}

func (s *State) save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := statePath(s.Dir) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return os.Rename(tmp, statePath(s.Dir))
}

// ErrAlreadyUp is returned by Up when Dir already holds a running stack.
var ErrAlreadyUp = errors.New("a stack is already running in this directory")

// stack is Up's working state: the processes started so far are saved after
// every start so that Down can always clean up, even after a failed Up.
type stack struct {
	opts  Options
	log   *slog.Logger
	mu    sync.Mutex
	state State
}

func (s *stack) record(p Process) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Processes = append(s.state.Processes, p)
	return s.state.save()
}

func (s *stack) start(name, component string, args []string, wrap ...string) (Process, error) {
	bin := s.opts.Binaries[component]
	if component == "helper" {
		bin = s.opts.Helper
	}
	p, err := startProcess(filepath.Join(s.opts.Dir, "logs"), name, bin, args, nil, wrap...)
	if err != nil {
		return p, err
	}
	s.log.Debug("started", "process", name, "pid", p.PID)
	return p, s.record(p)
}

// Up starts the whole stack and returns when every part is ready: etcd,
// InfluxDB (with its database), Alertmanager and its webhook recorder, and per
// cluster the control plane, Ready nodes and a serving metrics.k8s.io API. On
// failure it stops whatever it started and returns an error that quotes the
// failing component's log.
func Up(ctx context.Context, opts Options) (st *State, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 4 * time.Minute
	}
	if len(opts.Spec.Clusters) == 0 {
		opts.Spec = DefaultSpec()
	}
	if err := opts.Spec.Validate(); err != nil {
		return nil, fmt.Errorf("stack spec: %w", err)
	}
	if opts.Dir == "" || opts.Helper == "" || opts.Binaries == nil {
		return nil, errors.New("localstack: Dir, Helper and Binaries are required")
	}
	if prev, err := LoadState(opts.Dir); err == nil && prev.anyAlive() {
		return nil, fmt.Errorf("%w: %s", ErrAlreadyUp, opts.Dir)
	}
	if err := resetDir(opts.Dir); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	s := &stack{opts: opts, log: opts.Logger}
	s.state = State{Dir: opts.Dir, Kubeconfig: filepath.Join(opts.Dir, "kubeconfig"),
		InfluxDatabase: InfluxDatabase, StartedAt: time.Now(), Binaries: opts.Binaries}
	if err := s.state.save(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && os.Getenv("HEADROOM_STACK_KEEP_FAILED") == "" {
			s.log.Error("start-up failed; stopping what was started (HEADROOM_STACK_KEEP_FAILED=1 keeps it for a look)", "err", err)
			_ = Down(opts.Dir, opts.Logger)
		}
	}()

	ports, err := freePorts(5 + 5*len(opts.Spec.Clusters))
	if err != nil {
		return nil, err
	}
	next := func() int { p := ports[0]; ports = ports[1:]; return p }
	etcdURL, err := s.startEtcd(ctx, next(), next())
	if err != nil {
		return nil, err
	}
	clusterPorts := make([][5]int, len(opts.Spec.Clusters))
	for i := range clusterPorts {
		clusterPorts[i] = [5]int{next(), next(), next(), next(), next()}
	}
	influxPort, influxBind, amPort := next(), next(), next()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.startInflux(gctx, influxPort, influxBind) })
	g.Go(func() error { return s.startAlertmanager(gctx, amPort) })
	clusters := make([]ClusterState, len(opts.Spec.Clusters))
	for i, spec := range opts.Spec.Clusters {
		g.Go(func() error {
			c, err := s.startCluster(gctx, i, spec, etcdURL, clusterPorts[i])
			if err != nil {
				return fmt.Errorf("cluster %s: %w", spec.Name, err)
			}
			clusters[i] = c
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Clusters = clusters
	if err := writeKubeconfig(s.state.Kubeconfig, clusters); err != nil {
		return nil, err
	}
	s.state.ReadyAt = time.Now()
	if err := s.state.save(); err != nil {
		return nil, err
	}
	out := s.state
	return &out, nil
}

// resetDir empties the state directory, keeping nothing from an earlier stack.
func resetDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clean %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

func (s *State) anyAlive() bool {
	for _, p := range s.Processes {
		if p.alive() {
			return true
		}
	}
	return false
}

// Down stops every process recorded in dir's state file, newest first, and
// removes network namespaces the stack made. It is safe to call when nothing
// runs. It never signals a process it did not start.
func Down(dir string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	st, err := LoadState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for i := len(st.Processes) - 1; i >= 0; i-- {
		p := st.Processes[i]
		if err := stopProcess(p, 10*time.Second); err != nil {
			errs = append(errs, err)
			continue
		}
		logger.Debug("stopped", "process", p.Name, "pid", p.PID)
	}
	for _, c := range st.Clusters {
		if c.Netns != "" {
			if err := deleteNetns(c.Netns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// freePorts reserves n distinct free TCP ports on 127.0.0.1. The listeners are
// held until all are chosen so that no port is handed out twice.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", itoa(port)) }

func writeKubeconfig(path string, clusters []ClusterState) error {
	cfg := clientcmdapi.NewConfig()
	for _, c := range clusters {
		ca, err := os.ReadFile(c.CAFile)
		if err != nil {
			return fmt.Errorf("kubeconfig: %w", err)
		}
		cfg.Clusters[c.Name] = &clientcmdapi.Cluster{Server: c.Server, CertificateAuthorityData: ca}
		cfg.AuthInfos[c.Name+"-admin"] = &clientcmdapi.AuthInfo{Token: c.Token}
		cfg.Contexts[c.Context] = &clientcmdapi.Context{Cluster: c.Name, AuthInfo: c.Name + "-admin", Namespace: "default"}
		if cfg.CurrentContext == "" {
			cfg.CurrentContext = c.Context
		}
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// Clientset returns a Kubernetes clientset for the named cluster.
func (s *State) Clientset(name string) (*kubernetes.Clientset, error) {
	c, ok := s.Cluster(name)
	if !ok {
		return nil, fmt.Errorf("no cluster %q in the stack", name)
	}
	return kubernetes.NewForConfig(c.RESTConfig())
}
