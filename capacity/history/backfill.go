package history

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/headroomhq/headroom"
)

// Read lists, per measurement, the numeric fields a Recorder reads from the
// collector's points: what a backfill must read back.
var Read = map[string][]string{
	measurementNode: {"cpu_allocatable_cores", "memory_allocatable_bytes", "pods_allocatable",
		"cpu_requested_cores", "memory_requested_bytes", "pods", "cpu_usage_cores", "memory_working_set_bytes"},
	measurementApp: {"replicas", "cpu_usage_replicas", "memory_usage_replicas", "cpu_request_cores_sum",
		"memory_request_bytes_sum", "cpu_usage_cores_sum", "memory_working_set_bytes_sum"},
}

// Source reads past points back, as InfluxDB holds what the collector
// wrote; sink/influx.Reader is one, through a small adapter.
type Source interface {
	// Means returns the points of measurement of cluster in [from, to),
	// each field averaged per step, one point per series and step stamped
	// with the step's start.
	Means(ctx context.Context, measurement string, fields []string, cluster string, from, to time.Time, step time.Duration) ([]headroom.Point, error)
}

// BackfillOptions configure Backfill.
type BackfillOptions struct {
	Source   Source   // required
	Store    Appender // required
	Clusters []string
	// From and To bound the time filled: [From, To).
	From, To time.Time
	// Step is the history's resolution.
	Step time.Duration
	// Chunk is how much time one query reads; default 24h, so that a
	// month of a large cluster never sits in memory at once.
	Chunk  time.Duration
	Logger *slog.Logger
}

// Backfill fills history from what the collector wrote earlier (InfluxDB),
// as though those cycles had been recorded: per cluster, oldest first, one
// chunk at a time. It returns how many steps it appended. A cluster that
// cannot be read is logged and skipped; the error joins what failed.
func Backfill(ctx context.Context, o BackfillOptions) (int, error) {
	if o.Source == nil || o.Store == nil || o.Step <= 0 || !o.To.After(o.From) {
		return 0, errors.New("history: backfill needs a source, a store, a step and From before To")
	}
	o.Chunk = cmp.Or(o.Chunk, 24*time.Hour)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	from, to := o.From.Truncate(o.Step), o.To.Truncate(o.Step)
	steps := 0
	var errs []error
	for _, cluster := range o.Clusters {
		n, err := backfillCluster(ctx, o, cluster, from, to)
		steps += n
		if err != nil {
			if ctx.Err() != nil {
				return steps, ctx.Err()
			}
			o.Logger.Warn("history backfill of a cluster failed; it starts from now", "cluster", cluster, "steps", n, "err", err)
			errs = append(errs, fmt.Errorf("cluster %s: %w", cluster, err))
			continue
		}
		o.Logger.Info("history backfilled", "cluster", cluster, "steps", n, "from", from, "to", to)
	}
	return steps, errors.Join(errs...)
}

func backfillCluster(ctx context.Context, o BackfillOptions, cluster string, from, to time.Time) (int, error) {
	rec := NewRecorder(RecorderOptions{Store: o.Store, Step: o.Step, Logger: o.Logger})
	steps := 0
	for start := from; start.Before(to); start = start.Add(o.Chunk) {
		end := start.Add(o.Chunk)
		if end.After(to) {
			end = to
		}
		var points []headroom.Point
		for _, m := range []string{measurementNode, measurementApp} {
			ps, err := o.Source.Means(ctx, m, Read[m], cluster, start, end, o.Step)
			if err != nil {
				return steps, err
			}
			points = append(points, ps...)
		}
		slices.SortStableFunc(points, func(a, b headroom.Point) int { return a.Time.Compare(b.Time) })
		// One recorded cycle per step: the points stamped with its start.
		for i := 0; i < len(points); {
			j := i + 1
			for j < len(points) && points[j].Time.Equal(points[i].Time) {
				j++
			}
			rec.Record(points[i:j])
			steps++
			i = j
		}
	}
	rec.Flush()
	if rec.failedSteps() > 0 {
		return steps, fmt.Errorf("%d steps could not be written to the history file", rec.failedSteps())
	}
	return steps, nil
}
