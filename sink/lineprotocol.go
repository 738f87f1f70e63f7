package sink

import (
	"fmt"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/headroomhq/headroom"
)

// Encoder turns points into InfluxDB line protocol, nanosecond precision.
// A point that cannot be encoded (no fields, a non-finite float, a name
// InfluxDB would reject) is left out, and the first such error is reported
// with how many were left out: one bad point never costs the others.
// An Encoder is not safe for concurrent use; reuse it to save allocations.
type Encoder struct {
	enc    lineprotocol.Encoder
	values []lineprotocol.Value
}

// InvalidPointsError says how many points Encode left out, and why the first was.
type InvalidPointsError struct {
	Count int
	First error
}

func (e *InvalidPointsError) Error() string {
	return fmt.Sprintf("%d points not encodable, first: %v", e.Count, e.First)
}

func (e *InvalidPointsError) Unwrap() error { return e.First }

// Encode appends the lines of points to dst and returns the extended slice
// and the number of points written. The error, if any, is an
// *InvalidPointsError; the returned bytes are valid either way.
func (e *Encoder) Encode(dst []byte, points []headroom.Point) ([]byte, int, error) {
	e.enc.SetBuffer(dst)
	var bad InvalidPointsError
	written := 0
	for i := range points {
		p := &points[i]
		if err := e.encodeOne(p); err != nil {
			if bad.Count == 0 {
				bad.First = fmt.Errorf("%s: %w", p.Measurement, err)
			}
			bad.Count++
			e.enc.ClearErr()
			continue
		}
		written++
	}
	out := e.enc.Bytes()
	if bad.Count > 0 {
		return out, written, &bad
	}
	return out, written, nil
}

func (e *Encoder) encodeOne(p *headroom.Point) error {
	// Validate before starting the line: the encoder cannot abandon a line
	// halfway without spoiling the next one.
	if len(p.Fields) == 0 {
		return fmt.Errorf("no fields")
	}
	for i := 1; i < len(p.Tags); i++ {
		if p.Tags[i-1].Key > p.Tags[i].Key {
			return fmt.Errorf("tags not sorted (%q after %q)", p.Tags[i].Key, p.Tags[i-1].Key)
		}
	}
	e.values = e.values[:0]
	for _, f := range p.Fields {
		v, ok := lineprotocol.NewValue(f.Value)
		if !ok {
			return fmt.Errorf("field %q: unsupported value %v (%T)", f.Key, f.Value, f.Value)
		}
		e.values = append(e.values, v)
	}
	e.enc.StartLine(p.Measurement)
	for _, t := range p.Tags {
		if t.Value == "" {
			continue // InfluxDB has no empty tag values: an absent tag is the same series
		}
		e.enc.AddTag(t.Key, t.Value)
	}
	for i, f := range p.Fields {
		e.enc.AddField(f.Key, e.values[i])
	}
	e.enc.EndLine(p.Time)
	return e.enc.Err()
}
