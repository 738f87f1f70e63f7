package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/headroomhq/headroom/capacity/forecast"
)

type forecastOptions struct {
	// Live forecasts, from headroomd.
	server                        string
	cluster, pool, resource, kind string
	timeout                       time.Duration
	// Backtests, from a CSV file.
	backtest string
	column   string
	step     time.Duration
	horizons []time.Duration
	every    time.Duration

	output string
}

func newForecastCommand() *cobra.Command {
	o := forecastOptions{}
	cmd := &cobra.Command{
		Use: "forecast [--server URL] [--cluster C] [--pool P] [--resource R] [--kind K] [-o table|json|yaml]\n" +
			"  headroom forecast --backtest FILE.csv --column NAME --step 300s [--horizons 1h,6h,24h] [-o table|json]",
		Short: "Forecast each cluster's and pool's requests and use, or score the forecasters on a recorded series",
		Long: `Without --backtest: headroomd's latest forecasts, from the capacity
history it keeps (GET /api/v1/forecast). Per cluster, per node pool and for
the whole cluster ("(all)"), and per resource, requests and use: the value
now, the forecast a day and a week ahead with its 80 % interval, and when
it reaches the alert threshold (forecast.requestedPercent and
usedPercent of allocatable, 90 % by default) with the bounds of that
time. A series with less history than forecast.minHistory (24 h) is shown
as learning. --server, or $HEADROOM_SERVER, is headroomd's URL.

With --backtest: replay a recorded series and score each forecaster on it: from every
origin after a warm-up of two days (every step, or every few steps so that
there are at most 10,000 origins; --every to choose), each method forecasts
from the values before the origin only, and its error at each horizon is
averaged into MAE (in the series' unit) and MAPE (in percent). Actual values
of zero are left out of MAPE, as an error relative to nothing is unbounded;
a MAPE over none is "-" in the table and null in JSON.

The methods: the baselines linear (least squares over the last 6 h, what
Prometheus's predict_linear does), holt (double exponential smoothing) and
seasonal_naive (the value a day earlier); headroom's seasonal models
(seasonal, seasonal_drift, seasonal_recent, holt_winters); and auto, what
headroom forecasts with at each origin: the mean of the methods, and means
of them, that erred least on the 14 days before that origin.

FILE.csv has a header line naming its columns and one row per step, oldest
first, without a timestamp column; an empty cell or NaN is a gap. A month
of 5-minute steps takes about half a minute.`,
		Example: `  headroom forecast --server http://headroomd.headroom:8080 --cluster osl2
  HEADROOM_SERVER=http://localhost:8080 headroom forecast --resource memory --kind used -o json
  headroom forecast --backtest alibaba2018-8days-300s.csv --column cpu_util_percent --step 300s
  headroom forecast --backtest usage.csv --column mem --step 1m --horizons 30m,2h -o json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unexpected argument %q; the file is given with --backtest", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			set := cmd.Flags().Changed
			if o.backtest == "" {
				o.server = cmp.Or(o.server, os.Getenv(serverEnv))
				if err := o.validateLive(set); err != nil {
					return usageError{err}
				}
				return runLiveForecast(cmd.Context(), cmd.OutOrStdout(), o)
			}
			if err := o.validate(set); err != nil {
				return usageError{err}
			}
			return runBacktest(cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "headroomd's URL (default $"+serverEnv+")")
	f.StringVar(&o.cluster, "cluster", "", "only this cluster")
	f.StringVar(&o.pool, "pool", "", "only this node pool (and not the cluster totals)")
	f.StringVar(&o.resource, "resource", "", "only this resource: cpu, memory or pods")
	f.StringVar(&o.kind, "kind", "", "only requests or use: requested or used")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for headroomd")
	f.StringVar(&o.backtest, "backtest", "", "CSV file of the series to replay")
	f.StringVar(&o.column, "column", "", "the column of the CSV file to forecast")
	f.DurationVar(&o.step, "step", 0, "time between two rows of the CSV file, like 300s")
	f.DurationSliceVar(&o.horizons, "horizons", []time.Duration{time.Hour, 6 * time.Hour, forecast.Day}, "horizons scored, each a multiple of --step")
	f.DurationVar(&o.every, "every", 0, "time between two origins, a multiple of --step (default every step, at most 10,000 origins)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	return cmd
}

// validateLive checks the flags of a live forecast; set says whether a
// flag was given.
func (o forecastOptions) validateLive(set func(string) bool) error {
	for _, name := range []string{"column", "step", "horizons", "every"} {
		if set(name) {
			return fmt.Errorf("--%s goes with --backtest FILE.csv", name)
		}
	}
	switch {
	case o.server == "":
		return fmt.Errorf("give --server, headroomd's URL (or set $%s), for live forecasts; or --backtest FILE.csv to score the forecasters", serverEnv)
	case o.timeout <= 0:
		return errors.New("--timeout: must be positive")
	}
	return errors.Join(
		oneOf("--resource", o.resource, "cpu", "memory", "pods"),
		oneOf("--kind", o.kind, "requested", "used"),
		oneOf("-o", o.output, "table", "json", "yaml"))
}

// validate checks the flags of a backtest.
func (o forecastOptions) validate(set func(string) bool) error {
	for _, name := range []string{"server", "cluster", "pool", "resource", "kind", "timeout"} {
		if set(name) {
			return fmt.Errorf("--%s is for live forecasts, not with --backtest", name)
		}
	}
	switch {
	case o.column == "":
		return errors.New("--column: required, the column of " + o.backtest + " to forecast")
	case o.step <= 0:
		return errors.New("--step: required and positive, the time between two rows (like 300s)")
	case len(o.horizons) == 0:
		return errors.New("--horizons: give at least one")
	case o.every < 0 || o.every%o.step != 0:
		return fmt.Errorf("--every %v: must be a multiple of --step %v", o.every, o.step)
	}
	for _, h := range o.horizons {
		if h <= 0 || h%o.step != 0 {
			return fmt.Errorf("--horizons: %v is not a positive multiple of --step %v", h, o.step)
		}
	}
	return oneOf("-o", o.output, "table", "json", "yaml")
}

// runBacktest reads the series, backtests every method and prints the scores.
func runBacktest(w io.Writer, o forecastOptions) error {
	f, err := os.Open(o.backtest)
	if err != nil {
		return usageError{fmt.Errorf("--backtest: %w", err)}
	}
	defer f.Close()
	s, err := forecast.ReadCSV(f, o.column, time.Unix(0, 0).UTC(), o.step)
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", o.backtest, err)}
	}
	scores, err := forecast.Backtest(s, forecast.BacktestOptions{Horizons: o.horizons, Every: o.every})
	if errors.Is(err, forecast.ErrTooShort) {
		return usageError{fmt.Errorf("%s, column %s: %w", o.backtest, o.column, err)}
	}
	if err != nil {
		return fmt.Errorf("%s, column %s: %w", o.backtest, o.column, err)
	}
	if ok, err := writeStructured(w, o.output, scoresJSON(scores)); ok {
		return err
	}
	return writeScoresTable(w, scores, o.horizons)
}

// scoreJSON is one line of `headroom forecast --backtest -o json|yaml`.
type scoreJSON struct {
	Method  string   `json:"method"`
	Horizon string   `json:"horizon"`
	MAE     *float64 `json:"mae"`  // null when nothing was scored
	MAPE    *float64 `json:"mape"` // percent; null when every actual value was zero
}

func scoresJSON(scores []forecast.Score) []scoreJSON {
	out := make([]scoreJSON, len(scores))
	for i, sc := range scores {
		out[i] = scoreJSON{Method: sc.Method, Horizon: horizonLabel(sc.Horizon), MAE: number(sc.MAE), MAPE: number(sc.MAPE)}
	}
	return out
}

func number(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// writeScoresTable prints one row per method, MAE and MAPE per horizon side by side.
func writeScoresTable(w io.Writer, scores []forecast.Score, horizons []time.Duration) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "method\t")
	for _, h := range horizons {
		fmt.Fprintf(tw, "MAE %s\tMAPE %s\t", horizonLabel(h), horizonLabel(h))
	}
	fmt.Fprintln(tw)
	var origins, skipped int
	for i, sc := range scores {
		if i%len(horizons) == 0 {
			fmt.Fprintf(tw, "%s\t", sc.Method)
		}
		fmt.Fprintf(tw, "%s\t%s\t", figure(sc.MAE, "%.4g"), figure(sc.MAPE, "%.2f %%"))
		if i%len(horizons) == len(horizons)-1 {
			fmt.Fprintln(tw)
		}
		origins = max(origins, sc.Forecasts)
		skipped = max(skipped, sc.Forecasts-sc.InMAPE)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var note strings.Builder
	fmt.Fprintf(&note, "%d forecasts per method and horizon", origins)
	if skipped > 0 {
		fmt.Fprintf(&note, "; up to %d with an actual value of zero left out of MAPE", skipped)
	}
	_, err := fmt.Fprintln(w, note.String())
	return err
}

func figure(v float64, format string) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// horizonLabel writes a horizon as it is usually given: 24h, 30m, 90s.
func horizonLabel(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
