package forecast

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name, in, column string
		want             []float64 // NaN for a gap
		line             int       // of the error, 0 for none
		errPart          string
	}{
		{"one column", "cpu\n1\n2.5\n", "cpu", []float64{1, 2.5}, 0, ""},
		{"the named of several columns", "cpu,mem\n1,10\n2,20\n", "mem", []float64{10, 20}, 0, ""},
		{"spaces around names and numbers", " cpu , mem \n 1 , 10 \n", "mem", []float64{10}, 0, ""},
		{"empty cells and NaN are gaps", "cpu\n1\n\nNaN\n4\n", "cpu", []float64{1, math.NaN(), math.NaN(), 4}, 0, ""},
		{"no such column", "cpu,mem\n1,2\n", "disk", nil, 1, `no such column "disk" (have cpu, mem)`},
		{"not a number", "cpu\n1\n2\nx\n", "cpu", nil, 4, `column "cpu": "x" is not a number`},
		{"infinite", "cpu\n1\n+Inf\n", "cpu", nil, 3, "is not a number"},
		{"a short row", "cpu,mem\n1,2\n3\n", "mem", nil, 3, "1 fields, the header has 2"},
		{"an empty line in a file of one column is a gap", "cpu\n1\n\n3\n", "cpu", []float64{1, math.NaN(), 3}, 0, ""},
		{"CRLF line ends", "cpu\r\n1\r\n2\r\n", "cpu", []float64{1, 2}, 0, ""},
		{"a quoted header", "\"cpu\",mem\n1,2\n", "cpu", []float64{1}, 0, ""},
		{"empty file", "", "cpu", nil, 1, "empty file"},
		{"header only", "cpu\n", "cpu", nil, 2, "no rows after the header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadCSV(strings.NewReader(tt.in), tt.column, t0, time.Minute)
			if tt.line != 0 {
				var ce *CSVError
				if !errors.As(err, &ce) || ce.Line != tt.line || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want a CSVError at line %d containing %q", err, tt.line, tt.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Step != time.Minute || !s.Start.Equal(t0) || s.Len() != len(tt.want) {
				t.Fatalf("series %v %v with %d values, want %v %v with %d", s.Start, s.Step, s.Len(), t0, time.Minute, len(tt.want))
			}
			for i, w := range tt.want {
				if got := s.Values[i]; got != w && !(math.IsNaN(got) && math.IsNaN(w)) {
					t.Errorf("value %d = %v, want %v", i, got, w)
				}
			}
		})
	}
}

func TestReadCSVNoColumnIsErrNoColumn(t *testing.T) {
	_, err := ReadCSV(strings.NewReader("a\n1\n"), "b", t0, time.Minute)
	if !errors.Is(err, ErrNoColumn) {
		t.Errorf("err = %v, want ErrNoColumn", err)
	}
}

// FuzzReadCSV checks that any input gives a series or an error naming a
// line, never a panic, and that every value read is a number or a gap.
func FuzzReadCSV(f *testing.F) {
	for _, seed := range []string{
		"cpu,mem\n1,2\n3,4\n",
		"cpu\n\nNaN\n1e300\n",
		"cpu\n\"1\"\n",
		"\"cpu\n1\n",
		"cpu,cpu\n1,2\n",
		"cpu\n1,2\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ReadCSV(strings.NewReader(in), "cpu", t0, time.Minute)
		if err != nil {
			var ce *CSVError
			if !errors.As(err, &ce) || ce.Line < 1 {
				t.Fatalf("error %v does not name a line", err)
			}
			return
		}
		if s.Len() == 0 {
			t.Fatal("no error and no values")
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("series read is invalid: %v", err)
		}
	})
}
