package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/robfig/cron/v3"
)

// History is the capacity history headroomd keeps for forecasts, alerts
// and the daily report.
type History struct {
	// Path is the history file; empty means history.db beside the spool's
	// file (see HistoryPath).
	Path string `yaml:"path"`
	// Step is the resolution kept: the cycles within one step are
	// averaged. Default 1m.
	Step Duration `yaml:"step"`
	// Retention is how long values are kept. Default 840h (35 days).
	Retention Duration `yaml:"retention"`
	// Backfill, on the first start (an empty history file), fills the
	// history from what headroomd wrote to InfluxDB over the retention, in
	// the background. It reads with Flux: InfluxDB 2.x, or 1.8 with
	// flux-enabled = true. Default false.
	Backfill bool `yaml:"backfill"`
}

// Forecast configures the forecasts behind the exhaustion alerts.
type Forecast struct {
	// Step is the forecasts' resolution, a multiple of history.step;
	// history is averaged to it. Default 5m.
	Step Duration `yaml:"step"`
	// MinHistory is the least history a series needs before it is
	// forecast and can alert. Default 24h.
	MinHistory Duration `yaml:"minHistory"`
	// RequestedPercent and UsedPercent are the thresholds, in percent of
	// allocatable, whose ETA is forecast. Default 90 and 90.
	RequestedPercent float64 `yaml:"requestedPercent"`
	UsedPercent      float64 `yaml:"usedPercent"`
	// Reselect is how often each series' forecaster is chosen again by
	// backtest; in between the choice is reused. Default 1h.
	Reselect Duration `yaml:"reselect"`
}

// Alerting configures the alerts sent to Alertmanager.
type Alerting struct {
	// Alertmanagers are the base URLs of the Alertmanagers (every one of an
	// HA pair), each http(s)://host:port[/prefix]. Empty: alerts are
	// evaluated and shown but not sent.
	Alertmanagers []string `yaml:"alertmanagers"`
	// Timeout bounds one send to one Alertmanager. Default 10s.
	Timeout Duration `yaml:"timeout"`
	// ExternalURL is headroomd's URL as on-call reaches it; alerts link to
	// it (generatorURL). Empty: no link.
	ExternalURL string `yaml:"externalURL"`
	// RunbookURL is the base of the runbook links (an anchor per alert is
	// appended). Empty: docs/runbooks.md on GitHub.
	RunbookURL string `yaml:"runbookURL"`
	// Warning and Critical: HeadroomExhaustionForecast fires with that
	// severity when the forecast ETA is below it. Default 168h and 48h.
	Warning  Duration `yaml:"warning"`
	Critical Duration `yaml:"critical"`
	// Pending durations: how long a condition must hold before its alert
	// fires. Default 15m, 15m and 5m.
	ExhaustionFor   Duration `yaml:"exhaustionFor"`
	NPlusOneFor     Duration `yaml:"nPlusOneFor"`
	NodePressureFor Duration `yaml:"nodePressureFor"`
	// CollectionDownAfter is how many collection intervals without a
	// completed cycle fire HeadroomCollectionDown. Default 4.
	CollectionDownAfter int `yaml:"collectionDownAfter"`
}

// Schedules are cron schedules (robfig/cron: five fields, or
// @every DURATION, @hourly, @daily...).
type Schedules struct {
	// Evaluation runs the alert rules. Default "@every 1m".
	Evaluation string `yaml:"evaluation"`
	// Report writes the daily capacity report. Default "0 7 * * 1-5"; ""
	// for none.
	Report string `yaml:"report"`
	// TimeZone is the IANA zone the schedules are read in. Default "Local".
	TimeZone string `yaml:"timeZone"`
}

// Report says where the daily capacity report goes; it is always logged.
type Report struct {
	// File is written with the Markdown report (replaced atomically);
	// empty for none.
	File string `yaml:"file"`
	// Webhook receives a POST of {"text": MARKDOWN} (Slack and Mattermost
	// read it); empty for none.
	Webhook string `yaml:"webhook"`
	// TopApps is how many apps per cluster are listed. Default 10.
	TopApps int `yaml:"topApps"`
}

// HistoryPath is history.path, or history.db beside the spool's file.
func (c *Config) HistoryPath() string {
	if c.History.Path != "" {
		return c.History.Path
	}
	return filepath.Join(filepath.Dir(c.Spool.Path), "history.db")
}

// ParseSchedule parses a cron schedule as Schedules holds it.
func ParseSchedule(spec string) (cron.Schedule, error) {
	return cron.ParseStandard(spec)
}

// EvaluationInterval is the time between two evaluations: the schedule's
// interval from now, for the alerts' endsAt.
func (c *Config) EvaluationInterval(now time.Time) time.Duration {
	s, err := ParseSchedule(c.Schedules.Evaluation)
	if err != nil {
		return time.Minute
	}
	next := s.Next(now)
	return s.Next(next).Sub(next)
}

func (v *validator) alerting(c *Config) {
	positive := func(field string, d Duration) {
		if d <= 0 {
			v.add(field, "must be greater than 0")
		}
	}
	h, f, a := c.History, c.Forecast, c.Alerting
	positive("history.step", h.Step)
	positive("history.retention", h.Retention)
	positive("forecast.step", f.Step)
	positive("forecast.reselect", f.Reselect)
	if f.MinHistory < 0 {
		v.add("forecast.minHistory", "must not be negative")
	}
	if h.Step > 0 && f.Step > 0 && (f.Step < h.Step || f.Step%h.Step != 0) {
		v.add("forecast.step", "%s must be a multiple of history.step (%s)", f.Step, h.Step)
	}
	if h.Retention > 0 && f.MinHistory >= h.Retention {
		v.add("forecast.minHistory", "%s must be shorter than history.retention (%s)", f.MinHistory, h.Retention)
	}
	for field, p := range map[string]float64{"forecast.requestedPercent": f.RequestedPercent, "forecast.usedPercent": f.UsedPercent} {
		if !(p > 0 && p <= 100) {
			v.add(field, "%v: a percentage above 0 and at most 100", p)
		}
	}
	for i, raw := range a.Alertmanagers {
		v.httpURL(fmt.Sprintf("alerting.alertmanagers[%d]", i), raw)
	}
	if a.ExternalURL != "" {
		v.httpURL("alerting.externalURL", a.ExternalURL)
	}
	if a.RunbookURL != "" {
		v.httpURL("alerting.runbookURL", a.RunbookURL)
	}
	positive("alerting.timeout", a.Timeout)
	positive("alerting.warning", a.Warning)
	positive("alerting.critical", a.Critical)
	if a.Critical > 0 && a.Warning > 0 && a.Critical >= a.Warning {
		v.add("alerting.critical", "%s must be shorter than alerting.warning (%s)", a.Critical, a.Warning)
	}
	for field, d := range map[string]Duration{"alerting.exhaustionFor": a.ExhaustionFor,
		"alerting.nPlusOneFor": a.NPlusOneFor, "alerting.nodePressureFor": a.NodePressureFor} {
		if d < 0 {
			v.add(field, "must not be negative")
		}
	}
	if a.CollectionDownAfter < 1 {
		v.add("alerting.collectionDownAfter", "must be at least 1")
	}
	s := c.Schedules
	if s.Evaluation == "" {
		v.add("schedules.evaluation", "required")
	} else if _, err := ParseSchedule(s.Evaluation); err != nil {
		v.add("schedules.evaluation", "%q: %v", s.Evaluation, err)
	}
	if s.Report != "" {
		if _, err := ParseSchedule(s.Report); err != nil {
			v.add("schedules.report", "%q: %v", s.Report, err)
		}
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil {
		v.add("schedules.timeZone", "%q: %v", s.TimeZone, err)
	}
	if c.Report.Webhook != "" {
		v.httpURL("report.webhook", c.Report.Webhook)
	}
	if c.Report.TopApps < 1 {
		v.add("report.topApps", "must be at least 1")
	}
}

// httpURL checks an http(s) URL with a host. It never quotes the URL: an
// Alertmanager URL may hold a password, a webhook's path a token.
func (v *validator) httpURL(field, raw string) {
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(field, "not an http(s)://host[:port][/path] URL")
	}
}
