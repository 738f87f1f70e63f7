// Package headroom holds the few types that cross package boundaries. A
// Point is what the collector produces and the sink stores: one measurement
// at one time, tagged and with typed fields. Nothing here knows about
// Kubernetes or InfluxDB.
package headroom

import (
	"cmp"
	"slices"
	"time"
)

// Tag is a point's indexed key/value pair.
type Tag struct {
	Key, Value string
}

// Field is a point's value. Value is one of float64, int64, uint64, bool or
// string; anything else is rejected by the encoder.
type Field struct {
	Key   string
	Value any
}

// Point is one measurement at one time. Tags are kept sorted by key (see
// SortTags), which stores want and which makes equal series compare equal.
type Point struct {
	Measurement string
	Tags        []Tag
	Fields      []Field
	Time        time.Time
}

// SortTags sorts p's tags by key, in place.
func (p *Point) SortTags() {
	slices.SortFunc(p.Tags, func(a, b Tag) int { return cmp.Compare(a.Key, b.Key) })
}

// Tag returns the value of the tag with key k, or "".
func (p *Point) Tag(k string) string {
	for _, t := range p.Tags {
		if t.Key == k {
			return t.Value
		}
	}
	return ""
}
