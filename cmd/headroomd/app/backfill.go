package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/headroomhq/headroom"
	"github.com/headroomhq/headroom/capacity/history"
	"github.com/headroomhq/headroom/config"
	"github.com/headroomhq/headroom/sink/influx"
)

// influxHistory reads the collector's earlier points back from InfluxDB
// for the history backfill.
type influxHistory struct{ r *influx.Reader }

func (s influxHistory) Means(ctx context.Context, measurement string, fields []string, cluster string,
	from, to time.Time, step time.Duration) ([]headroom.Point, error) {
	return s.r.Means(ctx, influx.Query{Measurement: measurement, Fields: fields, Tag: "cluster", Value: cluster,
		Start: from, Stop: to, Every: step})
}

// backfill fills an empty history from InfluxDB, up to until (when
// headroomd started recording): history.retention back. Failures are
// logged; history then starts from now, as without a backfill.
func backfill(ctx context.Context, cfg *config.Config, store history.Appender, clusters []string, until time.Time, log *slog.Logger) {
	token, err := cfg.Influx.AuthToken()
	if err != nil {
		log.Warn("history backfill skipped", "err", err)
		return
	}
	r, err := influx.NewReader(influx.ReaderOptions{URL: cfg.Influx.URL, Token: token.Reveal(), Org: cfg.Influx.Org,
		Bucket: cfg.Influx.Bucket, Timeout: 2 * time.Minute})
	if err != nil {
		log.Warn("history backfill skipped", "err", err)
		return
	}
	defer r.Close()
	start := time.Now()
	steps, err := history.Backfill(ctx, history.BackfillOptions{Source: influxHistory{r}, Store: store,
		Clusters: clusters, From: until.Add(-cfg.History.Retention.Duration()), To: until,
		Step: cfg.History.Step.Duration(), Logger: log})
	if err != nil {
		log.Warn("history backfill incomplete", "steps", steps, "took", time.Since(start).Round(time.Millisecond), "err", err)
		return
	}
	log.Info("history backfill done", "steps", steps, "took", time.Since(start).Round(time.Millisecond))
}
