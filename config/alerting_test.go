package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExampleAlertingIsTheDefault(t *testing.T) {
	t.Setenv("INFLUX_TOKEN", "x")
	c, err := Load("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	for name, pair := range map[string][2]any{
		"history": {c.History, d.History}, "forecast": {c.Forecast, d.Forecast},
		"schedules": {c.Schedules, d.Schedules}, "report": {c.Report, d.Report},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("example %s = %+v, want the defaults %+v", name, pair[0], pair[1])
		}
	}
	c.Alerting.Alertmanagers, d.Alerting.Alertmanagers = nil, nil
	if !reflect.DeepEqual(c.Alerting, d.Alerting) {
		t.Errorf("example alerting = %+v, want %+v", c.Alerting, d.Alerting)
	}
	if got := c.HistoryPath(); got != "/var/lib/headroom/history.db" {
		t.Errorf("HistoryPath = %q, want history.db beside the spool", got)
	}
	if got := c.EvaluationInterval(time.Now()); got != time.Minute {
		t.Errorf("EvaluationInterval = %v", got)
	}
}

func TestAlertingErrorsNameTheField(t *testing.T) {
	c, err := Parse([]byte(minimal), "minimal.yaml")
	if err != nil {
		t.Fatalf("valid: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid: %v", err)
	}
	c.History.Step = Duration(2 * time.Minute)
	c.Forecast.Step = Duration(5 * time.Minute)
	c.Forecast.UsedPercent = 120
	c.Alerting.Alertmanagers = []string{"http://am-0:9093", "am-1:9093", "ftp://ops:s3cret@am-2"}
	c.Alerting.Critical = Duration(8 * 24 * time.Hour)
	c.Alerting.CollectionDownAfter = 0
	c.Schedules.Evaluation = "every minute"
	c.Schedules.Report = "0 7 * *"
	c.Schedules.TimeZone = "Europe/Nowhere"
	c.Report.Webhook = "hooks.slack.com/x"
	err = c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, field := range []string{"forecast.step", "forecast.usedPercent", "alerting.alertmanagers[1]", "alerting.alertmanagers[2]",
		"alerting.critical", "alerting.collectionDownAfter", "schedules.evaluation", "schedules.report",
		"schedules.timeZone", "report.webhook"} {
		if !strings.Contains(err.Error(), field+":") {
			t.Errorf("no error for %s in:\n%v", field, err)
		}
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error shows a password: %v", err)
	}
	if strings.Contains(err.Error(), "alerting.alertmanagers[0]") {
		t.Errorf("a good URL reported: %v", err)
	}
}
