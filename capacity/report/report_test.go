package report

import (
	"strings"
	"testing"
	"time"

	"github.com/headroomhq/headroom/capacity/alert"
	"github.com/headroomhq/headroom/capacity/forecast"
	"github.com/headroomhq/headroom/capacity/history"
)

func TestMarkdown(t *testing.T) {
	now := time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC)
	gib := float64(1 << 30)
	c := Cluster{Name: "osl2", Known: true, Latest: history.Latest{Time: now,
		Nodes: []history.NodeState{
			{Name: "g1", Pool: "general", Allocatable: history.Amounts{CPU: 4, Memory: 16 * gib, Pods: 110}, Requested: history.Amounts{CPU: 3, Memory: 8 * gib, Pods: 10}},
			{Name: "g2", Pool: "general", Allocatable: history.Amounts{CPU: 4, Memory: 16 * gib, Pods: 110}, Requested: history.Amounts{CPU: 1, Memory: 4 * gib, Pods: 5}},
		},
		Apps: []history.AppState{
			{Namespace: "shop", App: "cart", Replicas: 3, Requested: history.Amounts{CPU: 1.5, Memory: 6 * gib}, Used: history.Amounts{CPU: 0.2, Memory: 1 * gib}},
			{Namespace: "shop", App: "search", Replicas: 2, Requested: history.Amounts{CPU: 1, Memory: 2 * gib}, Used: history.Amounts{CPU: 0.9, Memory: 3 * gib}},
		}},
		Forecasts: []alert.SeriesForecast{{SeriesID: alert.SeriesID{Cluster: "osl2", Scope: history.ScopePool, Pool: "general", Resource: history.Memory,
			Kind: history.Requested}, Now: 12 * gib, Percent: 90, In24h: alert.Range{Mean: 13 * gib}, In7d: alert.Range{Mean: 20 * gib},
			ETA: alert.ETAOf(forecast.ETA{Expected: forecast.NotWithin, Earliest: forecast.NotWithin, Latest: forecast.NotWithin})}},
	}
	md := Markdown(now, []Cluster{c, {Name: "ksd1"}}, 1)
	for _, want := range []string{
		"# Capacity report, Monday 2 November 2026 07:00 UTC",
		"## osl2", "| general | 2 | 50% of 8 cores |", "38% of 32 GiB",
		"| general | memory requested | 12 GiB | 13 GiB | 20 GiB | not within 7 days |",
		"**Top apps by requests**", "| shop/cart | 3 | 6 GiB | 1.5 cores |",
		"**Top apps by use**", "| shop/search | 2 | 3 GiB | 0.9 cores |",
		"## ksd1", "No collection cycle has completed",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "| shop/") != 2 {
		t.Errorf("top 1 per list, want 2 app rows in all:\n%s", md)
	}
}
