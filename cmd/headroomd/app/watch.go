package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/robfig/cron/v3"

	"github.com/headroomhq/headroom"
	"github.com/headroomhq/headroom/capacity/alert"
	"github.com/headroomhq/headroom/capacity/history"
	"github.com/headroomhq/headroom/capacity/report"
	"github.com/headroomhq/headroom/collector"
	"github.com/headroomhq/headroom/config"
	"github.com/headroomhq/headroom/sink/webhook"
)

// recordingSink stores a cycle's points durably, then hands them to the
// history recorder. History never fails a cycle: the spool is what counts.
type recordingSink struct {
	durable collector.Sink
	rec     *history.Recorder
}

func (s recordingSink) Write(ctx context.Context, points []headroom.Point) error {
	if err := s.durable.Write(ctx, points); err != nil {
		return err
	}
	s.rec.Record(points)
	return nil
}

// watcher runs the alert rules and the daily report on their cron
// schedules.
type watcher struct {
	cfg      *config.Config
	ev       *alert.Evaluator
	rec      *history.Recorder
	leader   *leader // the report is the leader's
	clusters []string
	log      *slog.Logger
	client   *http.Client
	now      func() time.Time
}

// Run starts the schedules and stops them when ctx ends, waiting for a
// running job. An evaluation or report still running when the next is due
// is not started twice.
func (w *watcher) Run(ctx context.Context) error {
	loc, err := time.LoadLocation(w.cfg.Schedules.TimeZone)
	if err != nil {
		return fmt.Errorf("schedules.timeZone: %w", err)
	}
	c := cron.New(cron.WithLocation(loc), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	if _, err := c.AddFunc(w.cfg.Schedules.Evaluation, func() { w.evaluate(ctx) }); err != nil {
		return fmt.Errorf("schedules.evaluation: %w", err)
	}
	if w.cfg.Schedules.Report != "" {
		if _, err := c.AddFunc(w.cfg.Schedules.Report, func() { w.report(ctx) }); err != nil {
			return fmt.Errorf("schedules.report: %w", err)
		}
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}

func (w *watcher) evaluate(ctx context.Context) {
	if err := w.ev.Evaluate(ctx, w.now()); err != nil && ctx.Err() == nil {
		w.log.Warn("alert evaluation incomplete", "err", err)
	}
}

// report renders the capacity report, logs it and delivers it to the
// configured file and webhook.
func (w *watcher) report(ctx context.Context) {
	if w.leader != nil && !w.leader.Leading() {
		return
	}
	md := w.render()
	w.log.Info("capacity report", "report", md)
	if f := w.cfg.Report.File; f != "" {
		if err := renameio.WriteFile(f, []byte(md), 0o644, renameio.WithTempDir(filepath.Dir(f))); err != nil {
			w.log.Error("capacity report not written", "file", f, "err", err)
		}
	}
	if u := w.cfg.Report.Webhook; u != "" {
		if err := webhook.Post(ctx, w.client, u, map[string]string{"text": md}); err != nil {
			w.log.Error("capacity report not posted", "err", err)
		}
	}
}

func (w *watcher) render() string {
	forecasts := w.ev.Forecasts()
	active := w.ev.Active()
	var cs []report.Cluster
	for _, name := range w.clusters {
		c := report.Cluster{Name: name}
		c.Latest, c.Known = w.rec.Latest(name)
		for _, f := range forecasts {
			if f.Cluster == name {
				c.Forecasts = append(c.Forecasts, f)
			}
		}
		for _, a := range active {
			if a.Labels["cluster"] == name {
				c.Alerts = append(c.Alerts, a)
			}
		}
		cs = append(cs, c)
	}
	return report.Markdown(w.now(), cs, w.cfg.Report.TopApps)
}

// forecastHandler serves GET /api/v1/forecast[?cluster=C][&pool=P]: the
// latest evaluation's forecasts, and the series still learning (too little
// history to forecast). An unknown cluster is a 404 naming the known ones.
func forecastHandler(ev *alert.Evaluator, clusters []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cluster, pool := r.URL.Query().Get("cluster"), r.URL.Query().Get("pool")
		if cluster != "" && !slices.Contains(clusters, cluster) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf(
				"cluster %q is not watched by this headroomd; it watches %s", cluster, strings.Join(clusters, ", "))})
			return
		}
		match := func(c, p string) bool { return (cluster == "" || c == cluster) && (pool == "" || p == pool) }
		forecasts, learning := []alert.SeriesForecast{}, []alert.Learning{}
		for _, f := range ev.Forecasts() {
			if match(f.Cluster, f.Pool) {
				forecasts = append(forecasts, f)
			}
		}
		for _, l := range ev.Learning() {
			if match(l.Cluster, l.Pool) {
				learning = append(learning, l)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"forecasts": forecasts, "learning": learning})
	}
}

// alertsHandler serves GET /api/v1/alerts: the pending and firing alerts.
func alertsHandler(ev *alert.Evaluator) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		type row struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			State       string            `json:"state"`
			ActiveAt    time.Time         `json:"activeAt"`
		}
		out := []row{}
		for _, a := range ev.Active() {
			out = append(out, row{a.Labels, a.Annotations, a.State.String(), a.ActiveAt})
		}
		writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
	}
}
