// Package forecast predicts where a resource series is heading and when it
// reaches a threshold: the forecast stage between capacity history and the
// alert rules.
//
// A Series is a regular sequence of values (one per Step, NaN for a gap),
// fed by whatever holds history. Forecasters fit a series and predict h
// steps past its end with an 80 % prediction interval: Linear (least
// squares over a trailing window, what Prometheus's predict_linear does),
// Holt (double exponential smoothing), SeasonalNaive (the value one season
// earlier) and headroom's seasonal models (SeasonalMean, Blend,
// HoltWinters). Auto picks among them per horizon by rolling-origin
// backtest error computed only from the series it is given, so it never
// looks ahead. Forecast.ETA says when a forecast reaches a threshold, with
// bounds from the interval. Backtest scores methods on a recorded series
// (MAE and MAPE per horizon), as `headroom forecast --backtest` prints.
//
// The package never reads the wall clock: times come from the series and
// from the caller (ETA takes now), so days of simulated time run in
// milliseconds in tests. It must never fetch or store data itself: series
// come in, forecasts go out.
package forecast
