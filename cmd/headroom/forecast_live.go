package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/headroomhq/headroom/capacity/alert"
	"github.com/headroomhq/headroom/capacity/history"
)

// serverEnv names headroomd's URL when --server is not given.
const serverEnv = "HEADROOM_SERVER"

// liveForecast is headroomd's answer to GET /api/v1/forecast.
type liveForecast struct {
	Forecasts []alert.SeriesForecast `json:"forecasts"`
	Learning  []alert.Learning       `json:"learning"`
}

// runLiveForecast asks headroomd for its latest forecasts and prints those
// matching the filters.
func runLiveForecast(ctx context.Context, w io.Writer, o forecastOptions) error {
	q := url.Values{}
	if o.cluster != "" {
		q.Set("cluster", o.cluster)
	}
	if o.pool != "" {
		q.Set("pool", o.pool)
	}
	var got liveForecast
	if err := getJSON(ctx, o.server, "/api/v1/forecast", q, o.timeout, &got); err != nil {
		return err
	}
	got.Forecasts = slices.DeleteFunc(got.Forecasts, func(f alert.SeriesForecast) bool {
		return !o.wants(f.Resource, f.Kind)
	})
	got.Learning = slices.DeleteFunc(got.Learning, func(l alert.Learning) bool {
		return !o.wants(l.Resource, l.Kind)
	})
	sortSeries(got.Forecasts, func(f alert.SeriesForecast) alert.SeriesID { return f.SeriesID })
	sortSeries(got.Learning, func(l alert.Learning) alert.SeriesID { return l.SeriesID })
	if ok, err := writeStructured(w, o.output, got); ok {
		return err
	}
	return writeLiveTable(w, got)
}

func (o forecastOptions) wants(r history.Resource, k history.Kind) bool {
	return (o.resource == "" || string(r) == o.resource) && (o.kind == "" || string(k) == o.kind)
}

// sortSeries orders by cluster, the cluster total before its pools, pool,
// resource (cpu, memory, pods) and kind (requested, used).
func sortSeries[T any](s []T, id func(T) alert.SeriesID) {
	rank := func(r history.Resource) int { return slices.Index(history.Resources, r) }
	slices.SortStableFunc(s, func(a, b T) int {
		x, y := id(a), id(b)
		return cmp.Or(
			cmp.Compare(x.Cluster, y.Cluster),
			boolCompare(x.Scope != history.ScopeCluster, y.Scope != history.ScopeCluster),
			cmp.Compare(x.Pool, y.Pool),
			cmp.Compare(rank(x.Resource), rank(y.Resource)),
			cmp.Compare(x.Kind, y.Kind))
	})
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// writeLiveTable prints one row per series: now, a day and a week ahead
// (mean and 80 % interval), and when the threshold is reached.
func writeLiveTable(w io.Writer, got liveForecast) error {
	if len(got.Forecasts)+len(got.Learning) == 0 {
		_, err := fmt.Fprintln(w, "No series: headroomd has not evaluated its rules yet (schedules.evaluation), or the filters match nothing.")
		return err
	}
	type row struct {
		id    alert.SeriesID
		cells string
	}
	var rows []row
	for _, f := range got.Forecasts {
		rows = append(rows, row{f.SeriesID, fmt.Sprintf(
			"%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s",
			f.Cluster, poolName(f.Scope, f.Pool), f.Resource, f.Kind,
			withPercent(f.Resource, f.Now, f.Allocatable), short(f.Resource, f.Allocatable),
			rangeOf(f.Resource, f.In24h), rangeOf(f.Resource, f.In7d),
			fmt.Sprintf("%s (%g%%)", short(f.Resource, f.Threshold), f.Percent),
			etaText(f.ETA), f.Method)})
	}
	for _, l := range got.Learning {
		rows = append(rows, row{l.SeriesID, fmt.Sprintf(
			"%s\t%s\t%s\t%s\t%s\t%s\t-\t-\t-\tlearning: %s of the %s of history a forecast needs\t-",
			l.Cluster, poolName(l.Scope, l.Pool), l.Resource, l.Kind,
			withPercent(l.Resource, l.Now, l.Allocatable), short(l.Resource, l.Allocatable),
			alert.Human(time.Duration(l.History)), alert.Human(time.Duration(l.Needs)))})
	}
	sortSeries(rows, func(r row) alert.SeriesID { return r.id })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tPOOL\tRESOURCE\tKIND\tNOW\tALLOCATABLE\tIN 24H\tIN 7D\tTHRESHOLD\tETA [80% INTERVAL]\tMETHOD")
	for _, r := range rows {
		fmt.Fprintln(tw, r.cells)
	}
	return tw.Flush()
}

func poolName(s history.Scope, pool string) string {
	if s == history.ScopeCluster {
		return "(all)"
	}
	return cmp.Or(pool, `""`)
}

// short writes an amount as kubectl top does: cores, Mi or Gi, pods.
func short(r history.Resource, v float64) string {
	switch r {
	case history.CPU:
		if v < 10 {
			return fmt.Sprintf("%.2f", v)
		}
		return fmt.Sprintf("%.1f", v)
	case history.Memory:
		if v < 1<<30 {
			return fmt.Sprintf("%.0fMi", v/(1<<20))
		}
		return fmt.Sprintf("%.1fGi", v/(1<<30))
	}
	return fmt.Sprintf("%.0f", v)
}

func withPercent(r history.Resource, v, alloc float64) string {
	if alloc <= 0 {
		return short(r, v)
	}
	return fmt.Sprintf("%s (%.0f%%)", short(r, v), 100*v/alloc)
}

func rangeOf(r history.Resource, x alert.Range) string {
	return fmt.Sprintf("%s [%s–%s]", short(r, x.Mean), short(r, x.Lower), short(r, x.Upper))
}

// etaText is "2d4h [1d20h–2d9h]", or "not within 7d0h" when the forecast
// stays below the threshold over its whole horizon.
func etaText(e alert.ETA) string {
	horizon := alert.Human(time.Duration(e.Horizon * float64(time.Second)))
	d := func(s *float64) string {
		if s == nil {
			return "later than " + horizon
		}
		return alert.Human(time.Duration(*s * float64(time.Second)))
	}
	if e.Expected == nil {
		if e.Earliest == nil {
			return "not within " + horizon
		}
		return fmt.Sprintf("not within %s [from %s]", horizon, d(e.Earliest))
	}
	return fmt.Sprintf("%s [%s–%s]", d(e.Expected), d(e.Earliest), d(e.Latest))
}

// getJSON GETs path from headroomd at server and decodes its JSON answer.
// Errors say what to check next.
func getJSON(ctx context.Context, server, path string, q url.Values, timeout time.Duration, v any) error {
	base, err := url.Parse(server)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return usageError{fmt.Errorf("--server: want headroomd's URL, like http://headroomd.headroom:8080")}
	}
	u := base.JoinPath(path)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is named below, without credentials
		}
		return fmt.Errorf("cannot reach headroomd at %s: %w; is it running, and is --server (or $%s) right?",
			base.Redacted(), err, serverEnv)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading headroomd's answer from %s: %w", base.Redacted(), err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("headroomd at %s: %s", base.Redacted(), e.Error)
		}
		return fmt.Errorf("headroomd at %s answered %s for %s; is this headroomd's URL?", base.Redacted(), resp.Status, path)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("headroomd at %s: unexpected answer for %s: %w", base.Redacted(), path, err)
	}
	return nil
}

// oneOf checks a flag's value against its choices.
func oneOf(flag, v string, choices ...string) error {
	if v == "" || slices.Contains(choices, v) {
		return nil
	}
	return fmt.Errorf("%s %q: want %s", flag, v, strings.Join(choices, " or "))
}
