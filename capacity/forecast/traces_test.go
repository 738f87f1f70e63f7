package forecast

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/headroomhq/headroom/test/fixtures"
)

// traceSeries are the four series of the fixture traces the issue names.
var traceSeries = []struct{ file, column string }{
	{"traces/alibaba2018-8days-300s.csv", "cpu_util_percent"},
	{"traces/alibaba2018-8days-300s.csv", "mem_util_percent"},
	{"traces/google2019-month-300s.csv", "avg_cpu"},
	{"traces/google2019-month-300s.csv", "avg_mem"},
}

func readTrace(t testing.TB, file, column string) Series {
	t.Helper()
	f, err := os.Open(fixtures.Path(t, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadCSV(f, column, time.Time{}, 5*time.Minute)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return s
}

// TestTracesAutoBeatsBaselines checks the target on the four
// trace series: auto's 24 h MAPE at least 10 % below the best of linear,
// holt and seasonal_naive, with Backtest's defaults (an origin every step
// after two days). It prints each backtest table. The month-long Google
// series take about a minute of CPU; they are left out under -short and
// -race, where the week-long Alibaba series still run.
func TestTracesAutoBeatsBaselines(t *testing.T) {
	for _, c := range traceSeries {
		t.Run(c.column, func(t *testing.T) {
			if strings.HasPrefix(c.file, "traces/google") && (testing.Short() || raceEnabled) {
				t.Skip("a month of 5-minute steps: left out under -short and -race")
			}
			s := readTrace(t, c.file, c.column)
			scores, err := Backtest(s, BacktestOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "method\thorizon\tMAE\tMAPE %%\t\n")
			for _, sc := range scores {
				fmt.Fprintf(tw, "%s\t%v\t%.4g\t%.2f\t\n", sc.Method, sc.Horizon, sc.MAE, sc.MAPE)
			}
			tw.Flush()
			t.Logf("%s %s:\n%s", c.file, c.column, b.String())
			best, auto := -1.0, -1.0
			for _, sc := range scores {
				if sc.Horizon != Day {
					continue
				}
				switch sc.Method {
				case "linear", "holt", "seasonal_naive":
					if best < 0 || sc.MAPE < best {
						best = sc.MAPE
					}
				case "auto":
					auto = sc.MAPE
				}
			}
			gain := 1 - auto/best
			t.Logf("24h MAPE: auto %.2f %%, best baseline %.2f %%: %.1f %% lower", auto, best, 100*gain)
			if gain < 0.10 {
				t.Errorf("auto's 24h MAPE %.2f %% is %.1f %% below the best baseline's %.2f %%, want at least 10 %%", auto, 100*gain, best)
			}
		})
	}
}
