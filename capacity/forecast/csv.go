package forecast

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// CSVError is a problem at one line of a CSV file (line 1 is the header).
type CSVError struct {
	Line int
	Err  error
}

func (e *CSVError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *CSVError) Unwrap() error { return e.Err }

// ErrNoColumn is returned by ReadCSV when the header has no such column.
var ErrNoColumn = errors.New("no such column")

// ReadCSV reads one column of a CSV file whose first line names the
// columns and whose rows are step apart, the first at start. An empty cell
// or "NaN" is a gap; anything else that is not a finite number is an error
// naming its line.
func ReadCSV(r io.Reader, column string, start time.Time, step time.Duration) (Series, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if err == io.EOF {
		return Series{}, &CSVError{Line: 1, Err: errors.New("empty file, want a header line")}
	}
	if err != nil {
		return Series{}, csvErr(err, 1)
	}
	col := -1
	for i, name := range header {
		if strings.TrimSpace(name) == column {
			col = i
			break
		}
	}
	if col < 0 {
		return Series{}, &CSVError{Line: 1, Err: fmt.Errorf("%w %q (have %s)", ErrNoColumn, column, strings.Join(header, ", "))}
	}
	s := Series{Start: start, Step: step}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Series{}, csvErr(err, line)
		}
		cell := strings.TrimSpace(rec[col])
		if cell == "" || strings.EqualFold(cell, "nan") {
			s.Values = append(s.Values, math.NaN())
			continue
		}
		v, err := strconv.ParseFloat(cell, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return Series{}, &CSVError{Line: line, Err: fmt.Errorf("column %q: %q is not a number", column, cell)}
		}
		s.Values = append(s.Values, v)
	}
	if len(s.Values) == 0 {
		return Series{}, &CSVError{Line: 2, Err: errors.New("no rows after the header")}
	}
	return s, nil
}

// csvErr turns encoding/csv's error into a CSVError at its line.
func csvErr(err error, line int) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &CSVError{Line: pe.Line, Err: pe.Err}
	}
	return &CSVError{Line: line, Err: err}
}
