package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/capacity/alert"
	"github.com/headroomhq/headroom/capacity/history"
	"github.com/headroomhq/headroom/cmd/headroomd/app/ui"
	"github.com/headroomhq/headroom/collector"
	"github.com/headroomhq/headroom/config"
	"github.com/headroomhq/headroom/internal/cpus"
	"github.com/headroomhq/headroom/sink"
	"github.com/headroomhq/headroom/sink/alertmanager"
	"github.com/headroomhq/headroom/sink/influx"
	"github.com/headroomhq/headroom/sink/spool"
)

// Options are what main hands to Run.
type Options struct {
	Config *config.Config
	Logger *slog.Logger
	// Registry receives every self-metric; a fresh one per Run in tests.
	Registry *prometheus.Registry
	// ShutdownTimeout bounds the final flush to InfluxDB; default 10s.
	ShutdownTimeout time.Duration
	// Listening, when set, is called with the HTTP server's address once it
	// listens (tests bind port 0 and read it back).
	Listening func(addr string)
	// Profiling serves net/http/pprof under /debug/pprof/.
	Profiling bool
	// CPUs lends the gate's checks every CPU while they run; nil leaves
	// GOMAXPROCS alone (see package cpus).
	CPUs *cpus.Lender
}

// Run runs headroomd until ctx ends or a component fails for good (InfluxDB
// refusing the credentials, the HTTP port taken). On the way out it stops
// the collectors, then flushes what the spool holds to InfluxDB within
// ShutdownTimeout; what is not written stays in the spool for the next start.
func Run(ctx context.Context, opts Options) error {
	cfg, log := opts.Config, opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	sp, err := spool.Open(spool.Options{Path: cfg.Spool.Path, MaxBytes: int64(cfg.Spool.MaxBytes),
		Logger: log.With("component", "spool"), Registerer: reg})
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	defer sp.Close()

	token, err := cfg.Influx.AuthToken()
	if err != nil {
		return err
	}
	writer, err := influx.New(sp, influx.Options{
		URL: cfg.Influx.URL, Token: token.Reveal(), Org: cfg.Influx.Org, Bucket: cfg.Influx.Bucket,
		BatchPoints: cfg.Influx.BatchPoints, Timeout: cfg.Influx.Timeout.Duration(), Gzip: cfg.Influx.Gzip,
		MaxBackoff: cfg.Influx.MaxRetryBackoff.Duration(), Logger: log.With("component", "influx"), Registerer: reg,
	})
	if err != nil {
		return err
	}
	defer writer.Close()

	hist, err := history.Open(history.Options{Path: cfg.HistoryPath(), Retention: cfg.History.Retention.Duration()})
	if err != nil {
		return fmt.Errorf("open history: %w", err)
	}
	defer hist.Close()
	firstStart, err := hist.Empty()
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	rec := history.NewRecorder(history.RecorderOptions{Store: hist, Step: cfg.History.Step.Duration(),
		Logger: log.With("component", "history"), Registerer: reg})
	defer rec.Flush() // the step in progress, once collection has stopped

	queue := sink.NewQueue(sp, log.With("component", "queue"))
	metrics := collector.NewMetrics(reg)
	var clusters []*collector.Cluster
	for i, cc := range cfg.Clusters {
		c, err := newCluster(cc, cfg.Collection, recordingSink{durable: queue, rec: rec}, metrics, log)
		if err != nil {
			return fmt.Errorf("clusters[%d] (%s): %w", i, cc.Name, err)
		}
		clusters = append(clusters, c)
	}

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	if opts.Listening != nil {
		opts.Listening(ln.Addr().String())
	}
	pools := map[string][]string{}
	for i, c := range clusters {
		pools[c.Name()] = cfg.Clusters[i].Effective(cfg.Collection).PoolLabels
	}
	gate := map[string]gateCluster{}
	for i, c := range clusters {
		gate[c.Name()] = gateCluster{source: c, poolLabels: pools[c.Name()], scheduler: cfg.Clusters[i].Scheduler}
	}
	check := newCheckHandler(gate, capacity.PolicyOf(cfg.Gate.Policy), opts.CPUs, reg, log.With("component", "gate"))
	started := time.Now()
	lead := newLeader(cfg.LeaderElection, reg, log.With("component", "leader"))
	ev, err := newEvaluator(cfg, clusters, hist, rec, started, lead, reg, log.With("component", "alerts"))
	if err != nil {
		return err
	}
	watch := &watcher{cfg: cfg, ev: ev, rec: rec, leader: lead, log: log.With("component", "schedule"),
		client: &http.Client{Timeout: 30 * time.Second}, now: time.Now}
	for _, c := range clusters {
		watch.clusters = append(watch.clusters, c.Name())
	}
	mux := handler(reg, clusters, check, started, cfg.LivenessStaleAfter())
	mux.Handle("GET /api/v1/forecast", forecastHandler(ev, watch.clusters))
	mux.Handle("GET /api/v1/alerts", alertsHandler(ev))
	api := &readAPI{clusters: clusters, poolLabels: pools, hist: hist, rec: rec, ev: ev,
		decisions: check.recent.latest, step: cfg.History.Step.Duration(),
		retention: cfg.History.Retention.Duration(), now: time.Now}
	api.register(mux)
	ui.Register(mux)
	if opts.Profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	collectCtx, stopCollecting := context.WithCancel(ctx)
	defer stopCollecting()
	g, gctx := errgroup.WithContext(collectCtx)
	for _, c := range clusters {
		g.Go(func() error { return c.Run(gctx) })
	}
	g.Go(func() error { return watch.Run(gctx) })
	g.Go(func() error { return lead.Run(gctx) })
	if cfg.History.Backfill && firstStart {
		// Up to the step the recorder is filling now; never fatal.
		until := started.Truncate(cfg.History.Step.Duration())
		g.Go(func() error {
			backfill(gctx, cfg, hist, watch.clusters, until, log.With("component", "backfill"))
			return nil
		})
	}
	writeCtx, stopWriting := context.WithCancel(context.Background())
	defer stopWriting()
	writeErr := make(chan error, 1)
	go func() {
		err := writer.Run(writeCtx)
		if err != nil {
			stopCollecting() // a fatal writer error stops the daemon
		}
		writeErr <- err
	}()
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	log.Info("headroomd running", "listen", ln.Addr().String(), "clusters", len(clusters))
	runErr := g.Wait()

	// Teardown in reverse: collection has stopped; let the writer finish what
	// it holds, then flush the rest within the deadline.
	stopWriting()
	if err := <-writeErr; err != nil {
		return errors.Join(runErr, err)
	}
	fctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	if err := writer.Flush(fctx); err != nil {
		log.Warn("not everything was written before shutdown; it stays in the spool", "err", err,
			"points", sp.Stats().Points)
	}
	log.Info("headroomd stopped")
	return runErr
}

// newEvaluator builds the alert rules over the history, with the
// Alertmanager notifier when Alertmanagers are configured.
func newEvaluator(cfg *config.Config, clusters []*collector.Cluster, hist *history.Store, rec *history.Recorder,
	started time.Time, lead *leader, reg prometheus.Registerer, log *slog.Logger) (*alert.Evaluator, error) {
	var notifier alert.Notifier
	if len(cfg.Alerting.Alertmanagers) > 0 {
		n, err := alertmanager.New(alertmanager.Options{URLs: cfg.Alerting.Alertmanagers,
			Timeout: cfg.Alerting.Timeout.Duration(), Logger: log, Registerer: reg})
		if err != nil {
			return nil, fmt.Errorf("alerting: %w", err)
		}
		notifier = leaderOnly{next: n, leader: lead}
	}
	a, f := cfg.Alerting, cfg.Forecast
	var watched []alert.Cluster
	for i, c := range clusters {
		watched = append(watched, alert.Cluster{Name: c.Name(),
			Interval: cfg.Clusters[i].Effective(cfg.Collection).Interval.Duration(), LastSuccess: c.LastSuccess})
	}
	return alert.NewEvaluator(alert.EvaluatorOptions{
		Clusters: watched, History: hist, Present: rec, Notifier: notifier,
		Rules: alert.Rules{
			RequestedPercent: f.RequestedPercent, UsedPercent: f.UsedPercent,
			Warning: a.Warning.Duration(), Critical: a.Critical.Duration(),
			ExhaustionFor: a.ExhaustionFor.Duration(), NPlusOneFor: a.NPlusOneFor.Duration(),
			NodePressureFor: a.NodePressureFor.Duration(), CollectionDownAfter: a.CollectionDownAfter,
			Step: f.Step.Duration(), Lookback: cfg.History.Retention.Duration(), MinHistory: f.MinHistory.Duration(),
			Reselect: f.Reselect.Duration(),
		},
		Interval:    cfg.EvaluationInterval(started),
		ExternalURL: a.ExternalURL, RunbookURL: a.RunbookURL,
		Logger: log, Registerer: reg, Started: started,
	}), nil
}

func newCluster(cc config.Cluster, defaults config.Collection, sink collector.Sink, m *collector.Metrics, log *slog.Logger) (*collector.Cluster, error) {
	restCfg, err := restConfig(cc)
	if err != nil {
		return nil, err
	}
	restCfg.UserAgent = "headroomd"
	restCfg.QPS, restCfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	md, err := metadata.NewForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	eff := cc.Effective(defaults)
	opts := collector.ClusterOptions{
		Name: cc.Name, Client: cs, Metadata: md,
		Interval: eff.Interval.Duration(), Timeout: eff.Timeout.Duration(), Jitter: eff.Jitter.Duration(),
		Concurrency: eff.Concurrency,
		Aggregation: collector.Aggregation{AppLabels: eff.AppLabels, PoolLabels: eff.PoolLabels, PodMeasurement: eff.PodMeasurement},
		Sink:        sink, Metrics: m, Logger: log.With("component", "collector"),
	}
	endpoint := string(cc.Endpoint)
	switch cc.Source {
	case config.SourceMetricsServer:
		mc, err := metricsclient.NewForConfig(restCfg)
		if err != nil {
			return nil, err
		}
		opts.ClusterScraper = &collector.MetricsServerScraper{REST: mc.MetricsV1beta1().RESTClient()}
	case config.SourceKubeletProxy:
		opts.NodeScraper = &collector.ProxyScraper{REST: cs.CoreV1().RESTClient(), Endpoint: endpoint}
	default:
		hc, err := collector.NewKubeletClient(restCfg, cc.KubeletCAFile, cc.KubeletInsecureSkipVerify)
		if err != nil {
			return nil, err
		}
		opts.NodeScraper = &collector.KubeletScraper{Client: hc, Endpoint: endpoint, Port: cc.KubeletPort}
	}
	return collector.NewCluster(opts)
}

func restConfig(cc config.Cluster) (*rest.Config, error) {
	if cc.Kubeconfig == "" && cc.Context == "" {
		c, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config (set kubeconfig or context to run outside a cluster): %w", err)
		}
		return c, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if cc.Kubeconfig != "" {
		rules.ExplicitPath = cc.Kubeconfig
	}
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: cc.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return c, nil
}

// handler serves /metrics, /livez, /readyz and the deploy gate.
//   - /readyz fails until every cluster's informers have synced.
//   - /livez fails when no cluster completed a cycle for staleAfter (counted
//     from start-up before the first cycle): collection has stalled and a
//     restart may help. One unreachable cluster alone does not fail it.
//   - POST /api/v1/check is check (see checkHandler).
func handler(reg *prometheus.Registry, clusters []*collector.Cluster, check http.Handler, started time.Time, staleAfter time.Duration) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("POST /api/v1/check", check)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		for _, c := range clusters {
			if !c.Synced() {
				http.Error(w, "informers of cluster "+c.Name()+" not synced", http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		latest := started
		for _, c := range clusters {
			if t := c.LastSuccess(); t.After(latest) {
				latest = t
			}
		}
		if age := time.Since(latest); age > staleAfter {
			http.Error(w, fmt.Sprintf("no cluster completed a collection cycle for %s", age.Round(time.Second)),
				http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}
