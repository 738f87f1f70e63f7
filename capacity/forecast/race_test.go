//go:build race

package forecast

// raceEnabled is true when the tests run with -race, which slows the
// backtests of the month-long trace about tenfold.
const raceEnabled = true
