package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/headroomhq/headroom/capacity/alert"
	"github.com/headroomhq/headroom/capacity/history"
)

// Cluster is what the report says about one cluster.
type Cluster struct {
	Name string
	// Latest is the latest collection cycle; ok false when none yet.
	Latest history.Latest
	Known  bool
	// Forecasts are the cluster's latest forecasts (any scope).
	Forecasts []alert.SeriesForecast
	// Alerts are the cluster's pending and firing alerts.
	Alerts []alert.ActiveAlert
}

// Markdown renders the report at now with the top apps per cluster.
func Markdown(now time.Time, clusters []Cluster, top int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Capacity report, %s\n", now.Format("Monday 2 January 2006 15:04 MST"))
	for _, c := range clusters {
		fmt.Fprintf(&b, "\n## %s\n\n", c.Name)
		if !c.Known {
			b.WriteString("No collection cycle has completed for this cluster since headroomd started.\n")
			continue
		}
		fmt.Fprintf(&b, "As collected at %s.\n\n", c.Latest.Time.Format(time.RFC3339))
		pools(&b, c)
		etas(&b, c)
		apps(&b, c, top)
		if len(c.Alerts) > 0 {
			b.WriteString("\n**Alerts**\n\n")
			for _, a := range c.Alerts {
				fmt.Fprintf(&b, "- %s (%s, %s since %s): %s\n", a.Labels["alertname"], a.Labels["severity"], a.State,
					a.ActiveAt.Format(time.RFC3339), a.Annotations["summary"])
			}
		}
	}
	return b.String()
}

func pools(b *strings.Builder, c Cluster) {
	_, ps := c.Latest.Totals()
	b.WriteString("| pool | nodes | cpu requested | cpu used | memory requested | memory used | pods |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, name := range c.Latest.Pools() {
		t := ps[name]
		pct := func(r history.Resource, v history.Amounts) string {
			a := t.Allocatable.Get(r)
			if a <= 0 {
				return "–"
			}
			return fmt.Sprintf("%.0f%% of %s", 100*v.Get(r)/a, alert.Amount(r, a))
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s |\n", cmp.Or(name, "(none)"), t.Nodes,
			pct(history.CPU, t.Requested), pct(history.CPU, t.Used), pct(history.Memory, t.Requested),
			pct(history.Memory, t.Used), pct(history.Pods, t.Requested))
	}
}

func etas(b *strings.Builder, c Cluster) {
	var rows []alert.SeriesForecast
	for _, f := range c.Forecasts {
		if f.Scope == history.ScopePool {
			rows = append(rows, f)
		}
	}
	if len(rows) == 0 {
		b.WriteString("\nNo forecasts yet: too little history.\n")
		return
	}
	b.WriteString("\n| pool | resource | now | in 24 h | in 7 d | reaches threshold |\n|---|---|---:|---:|---:|---|\n")
	for _, f := range rows {
		eta := f.ETA.Value()
		when := "not within 7 days"
		if eta.Reached() {
			when = fmt.Sprintf("%g%% in %s", f.Percent, alert.Human(eta.Expected))
		}
		fmt.Fprintf(b, "| %s | %s %s | %s | %s | %s | %s |\n", cmp.Or(f.Pool, "(none)"), f.Resource, f.Kind,
			alert.Amount(f.Resource, f.Now), alert.Amount(f.Resource, f.In24h.Mean), alert.Amount(f.Resource, f.In7d.Mean), when)
	}
}

func apps(b *strings.Builder, c Cluster, top int) {
	list := slices.Clone(c.Latest.Apps)
	for _, by := range []struct {
		title string
		key   func(history.AppState) (float64, float64)
	}{
		{"requests", func(a history.AppState) (float64, float64) { return a.Requested.Memory, a.Requested.CPU }},
		{"use", func(a history.AppState) (float64, float64) { return a.Used.Memory, a.Used.CPU }},
	} {
		slices.SortStableFunc(list, func(x, y history.AppState) int {
			xm, xc := by.key(x)
			ym, yc := by.key(y)
			return cmp.Or(cmp.Compare(ym, xm), cmp.Compare(yc, xc), cmp.Compare(x.Namespace+"/"+x.App, y.Namespace+"/"+y.App))
		})
		fmt.Fprintf(b, "\n**Top apps by %s** (memory, then cpu)\n\n| namespace/app | replicas | memory | cpu |\n|---|---:|---:|---:|\n", by.title)
		for _, a := range list[:min(top, len(list))] {
			m, cpu := by.key(a)
			fmt.Fprintf(b, "| %s/%s | %d | %s | %s |\n", a.Namespace, a.App, a.Replicas,
				alert.Amount(history.Memory, m), alert.Amount(history.CPU, cpu))
		}
	}
}
