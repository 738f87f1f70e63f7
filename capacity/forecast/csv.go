package forecast

import (
	"bufio"
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
// (an empty line, in a file of one column) or "NaN" is a gap; anything
// else that is not a finite number is an error naming its line. Lines are
// read one by one, not as encoding/csv does, because it skips empty lines
// and so would shift every later step.
func ReadCSV(r io.Reader, column string, start time.Time, step time.Duration) (Series, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return Series{}, &CSVError{Line: 1, Err: err}
		}
		return Series{}, &CSVError{Line: 1, Err: errors.New("empty file, want a header line")}
	}
	header, err := fields(sc.Text())
	if err != nil {
		return Series{}, &CSVError{Line: 1, Err: err}
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
	line := 1
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		cell := ""
		if text != "" {
			rec, err := fields(text)
			if err != nil {
				return Series{}, &CSVError{Line: line, Err: err}
			}
			if len(rec) != len(header) {
				return Series{}, &CSVError{Line: line, Err: fmt.Errorf("%d fields, the header has %d", len(rec), len(header))}
			}
			cell = strings.TrimSpace(rec[col])
		}
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
	if err := sc.Err(); err != nil {
		return Series{}, &CSVError{Line: line + 1, Err: err}
	}
	if len(s.Values) == 0 {
		return Series{}, &CSVError{Line: 2, Err: errors.New("no rows after the header")}
	}
	return s, nil
}

// fields splits one CSV line; quoted fields are left to encoding/csv.
func fields(line string) ([]string, error) {
	line = strings.TrimSuffix(line, "\r")
	if !strings.Contains(line, `"`) {
		return strings.Split(line, ","), nil
	}
	rec, err := csv.NewReader(strings.NewReader(line)).Read()
	if err == io.EOF {
		return []string{""}, nil
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, pe.Err
	}
	return rec, err
}
