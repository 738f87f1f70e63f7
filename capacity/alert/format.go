package alert

import (
	"fmt"
	"strings"
	"time"

	"github.com/headroomhq/headroom/capacity/history"
)

// Amount formats a value of r for a person: cores, GiB, pods.
func Amount(r history.Resource, v float64) string {
	switch r {
	case history.CPU:
		return fmt.Sprintf("%.3g cores", v)
	case history.Memory:
		return fmt.Sprintf("%.4g GiB", v/(1<<30))
	default:
		return fmt.Sprintf("%.0f pods", v)
	}
}

// Human formats a duration as on-call reads it: "2d4h", "3h20m", "45s".
func Human(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	switch {
	case d >= 48*time.Hour:
		days := d / (24 * time.Hour)
		return fmt.Sprintf("%dd%dh", days, (d-days*24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, (d%time.Hour)/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%ds", d/time.Minute, (d%time.Minute)/time.Second)
	default:
		return d.Round(time.Second).String()
	}
}

func orAll(pool string) string {
	if pool == "" {
		return "(all)"
	}
	return pool
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func lower(s string) string { return strings.ToLower(s) }
