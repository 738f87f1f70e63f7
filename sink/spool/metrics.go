package spool

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are always built so the code never checks for nil; they are
// registered only when Options.Registerer is set.
type metrics struct {
	reg            prometheus.Registerer
	appendedPoints prometheus.Counter
	ackedPoints    prometheus.Counter
	droppedPoints  *prometheus.CounterVec
	bytes          prometheus.Gauge
	points         prometheus.Gauge
	appendDuration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		reg: reg,
		appendedPoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "headroom_spool_appended_points_total",
			Help: "Points written durably to the spool since it was opened.",
		}),
		ackedPoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "headroom_spool_acked_points_total",
			Help: "Points removed from the spool after the writer stored them.",
		}),
		droppedPoints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "headroom_spool_dropped_points_total",
			Help: "Points removed from the spool, or refused by it, without being written; by reason.",
		}, []string{"reason"}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "headroom_spool_bytes",
			Help: "Payload bytes stored in the spool, waiting to be written (the file itself can be larger).",
		}),
		points: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "headroom_spool_points",
			Help: "Points stored in the spool, waiting to be written.",
		}),
		appendDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "headroom_spool_append_duration_seconds",
			Help:    "Time to append one record durably, including fsync and any eviction of old records.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 13), // 1ms to about 4s
		}),
	}
	// Export the spool's own reasons at zero so that a rate() over them works
	// before the first drop.
	m.droppedPoints.WithLabelValues(ReasonFull)
	m.droppedPoints.WithLabelValues(ReasonTooLarge)
	if reg == nil {
		return m, nil
	}
	var done []prometheus.Collector
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			return nil, fmt.Errorf("register metrics: %w", err)
		}
		done = append(done, c)
	}
	return m, nil
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.appendedPoints, m.ackedPoints, m.droppedPoints, m.bytes, m.points, m.appendDuration}
}

// unregister lets a spool be reopened on the same registry after Close.
func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors() {
		m.reg.Unregister(c)
	}
}
