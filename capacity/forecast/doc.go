// Package forecast predicts where a resource series is heading and when it
// reaches a threshold: the forecast stage between capacity history and the
// alert rules.
//
// A Series is a regular sequence of values (one per Step from Start, NaN
// for a gap), which whatever holds history builds. Forecasters fit a
// series and predict h steps past its end with an 80 % prediction
// interval. The baselines: Linear (least squares over the last 6 h, what
// Prometheus's predict_linear does), Holt (double exponential smoothing)
// and SeasonalNaive (the value a day earlier). headroom's own: Seasonal (a
// smoothed, weighted mean of past days at the same time, optionally
// corrected for growth), Blend (a mean of such models, a weekly one joining
// after two weeks) and HoltWinters. Candidates lists them as configured by
// default.
//
// Auto picks among the candidates, per horizon band, by replaying them
// from earlier origins of the same series and scoring them on what
// followed, so it uses only the values it is given and a backtest of it
// never looks ahead. Its Selection can be kept and reused: choosing is the
// costly part. Forecast.ETA says when a forecast reaches a threshold, with
// bounds from the interval, or that it does not within the horizon.
// Backtest scores methods on a recorded series (MAE and MAPE per horizon),
// as `headroom forecast --backtest` prints; ReadCSV reads such a series.
//
// The package never reads the wall clock: times come from the series and
// from the caller (ETA takes now), so days of simulated time run in
// milliseconds in tests. It must never fetch or store data itself: series
// come in, forecasts go out.
package forecast
