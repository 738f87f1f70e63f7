package collector

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the collector's self-metrics, labelled by cluster (never by
// node or pod). One Metrics serves every cluster of a daemon.
type Metrics struct {
	cycleDuration  *prometheus.HistogramVec
	nodeDuration   *prometheus.HistogramVec
	cycles         *prometheus.CounterVec
	partialCycles  *prometheus.CounterVec
	overruns       *prometheus.CounterVec
	nodesScraped   *prometheus.CounterVec
	nodesFailed    *prometheus.CounterVec
	points         *prometheus.CounterVec
	sinkErrors     *prometheus.CounterVec
	lastSuccess    *prometheus.GaugeVec
	informerSynced *prometheus.GaugeVec
}

// NewMetrics creates the collector metrics and registers them with reg
// (which may be nil, for tests that do not look).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		cycleDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "headroom_collector_cycle_duration_seconds", Help: "Time to scrape every node of a cluster and hand the points to the sink.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}, []string{"cluster"}),
		nodeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "headroom_collector_node_scrape_duration_seconds", Help: "Time to scrape one node (or metrics-server once).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"cluster"}),
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "headroom_collector_cycles_total", Help: "Collection cycles run."}, []string{"cluster"}),
		partialCycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "headroom_collector_partial_cycles_total", Help: "Cycles in which at least one node could not be scraped."}, []string{"cluster"}),
		overruns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "headroom_collector_cycle_overruns_total", Help: "Cycles that took longer than the interval, so that the next interval boundary had no cycle of its own."}, []string{"cluster"}),
		nodesScraped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "headroom_collector_nodes_scraped_total", Help: "Node scrapes that succeeded."}, []string{"cluster"}),
		nodesFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "headroom_collector_nodes_failed_total", Help: "Node scrapes that failed or timed out."}, []string{"cluster"}),
		points: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "headroom_collector_points_collected_total", Help: "Points handed to the sink and stored durably."}, []string{"cluster"}),
		sinkErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "headroom_collector_sink_errors_total", Help: "Cycles whose points the sink could not store."}, []string{"cluster"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "headroom_collector_last_success_timestamp_seconds", Help: "When a cycle of the cluster last stored its points."}, []string{"cluster"}),
		informerSynced: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "headroom_collector_informers_synced", Help: "1 once the cluster's node and pod informers have synced."}, []string{"cluster"}),
	}
	if reg != nil {
		reg.MustRegister(m.cycleDuration, m.nodeDuration, m.cycles, m.partialCycles, m.overruns, m.nodesScraped,
			m.nodesFailed, m.points, m.sinkErrors, m.lastSuccess, m.informerSynced)
	}
	return m
}
