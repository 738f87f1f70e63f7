package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/headroomhq/headroom"

	"github.com/headroomhq/headroom/test/fixtures"
)

type lpCase struct {
	Name   string `json:"name"`
	Expect []struct {
		Measurement string               `json:"measurement"`
		Tags        [][2]string          `json:"tags"`
		Fields      [][2]json.RawMessage `json:"fields"`
		Time        string               `json:"time"`
	} `json:"expect"`
}

// TestEncodeRoundTripsFixtureValues encodes the values of every decode case in
// influxdata's line-protocol test suite and decodes the result with
// influxdata's own decoder: escaping of commas, equals signs, spaces, quotes
// and backslashes must survive the trip.
func TestEncodeRoundTripsFixtureValues(t *testing.T) {
	b := fixtures.Read(t, "lineprotocol/decode.json")
	var doc struct {
		Decode []lpCase `json:"decode"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, c := range doc.Decode {
		if len(c.Expect) == 0 {
			continue // cases of rejected input: nothing to encode
		}
		t.Run(c.Name, func(t *testing.T) {
			var points []headroom.Point
			for _, e := range c.Expect {
				if e.Measurement == "" || len(e.Fields) == 0 {
					continue // where the decoder stopped at an error: nothing to encode
				}
				p := headroom.Point{Measurement: e.Measurement}
				for _, tag := range e.Tags {
					p.Tags = append(p.Tags, headroom.Tag{Key: tag[0], Value: tag[1]})
				}
				p.SortTags()
				for _, f := range e.Fields {
					var key string
					var val map[string]any
					if err := json.Unmarshal(f[0], &key); err != nil {
						t.Fatal(err)
					}
					dec := json.NewDecoder(bytes.NewReader(f[1]))
					dec.UseNumber()
					if err := dec.Decode(&val); err != nil {
						t.Fatal(err)
					}
					p.Fields = append(p.Fields, headroom.Field{Key: key, Value: fieldValue(t, val)})
				}
				if e.Time != "" {
					ns, err := strconv.ParseInt(e.Time, 10, 64)
					if err != nil {
						t.Fatal(err)
					}
					p.Time = time.Unix(0, ns)
				} else {
					p.Time = time.Unix(0, 1)
				}
				points = append(points, p)
			}
			var enc Encoder
			out, n, err := enc.Encode(nil, points)
			if err != nil || n != len(points) {
				t.Fatalf("encoded %d of %d: %v", n, len(points), err)
			}
			got := decodeAll(t, out)
			if len(got) != len(points) {
				t.Fatalf("decoded %d points from %q, want %d", len(got), out, len(points))
			}
			for i, p := range points {
				g := got[i]
				if g.Measurement != p.Measurement || !g.Time.Equal(p.Time) {
					t.Errorf("point %d: got %q@%v want %q@%v", i, g.Measurement, g.Time, p.Measurement, p.Time)
				}
				if len(g.Tags) != len(p.Tags) || len(g.Fields) != len(p.Fields) {
					t.Fatalf("point %d: got %+v want %+v", i, g, p)
				}
				for j := range p.Tags {
					if g.Tags[j] != p.Tags[j] {
						t.Errorf("tag %d: got %+v want %+v", j, g.Tags[j], p.Tags[j])
					}
				}
				for j := range p.Fields {
					if g.Fields[j].Key != p.Fields[j].Key || g.Fields[j].Value != p.Fields[j].Value {
						t.Errorf("field %d: got %+v want %+v", j, g.Fields[j], p.Fields[j])
					}
				}
			}
		})
		tested++
	}
	if tested < 5 {
		t.Fatalf("only %d fixture cases had values to encode", tested)
	}
}

func TestEncodeLeavesOutBadPointsOnly(t *testing.T) {
	now := time.Unix(1700000000, 0)
	points := []headroom.Point{
		{Measurement: "app", Tags: []headroom.Tag{{Key: "app", Value: "web"}}, Fields: []headroom.Field{{Key: "x", Value: 1.5}}, Time: now},
		{Measurement: "app", Fields: []headroom.Field{{Key: "x", Value: math.NaN()}}, Time: now},
		{Measurement: "app", Fields: nil, Time: now},
		{Measurement: "app", Tags: []headroom.Tag{{Key: "b", Value: "1"}, {Key: "a", Value: "2"}}, Fields: []headroom.Field{{Key: "x", Value: int64(1)}}, Time: now},
		{Measurement: "app", Fields: []headroom.Field{{Key: "x", Value: struct{}{}}}, Time: now},
		{Measurement: "node", Tags: []headroom.Tag{{Key: "empty", Value: ""}}, Fields: []headroom.Field{{Key: "ok", Value: true}, {Key: "n", Value: uint64(3)}, {Key: "s", Value: "a \"b\""}}, Time: now},
	}
	var enc Encoder
	out, n, err := enc.Encode(nil, points)
	var bad *InvalidPointsError
	if !errors.As(err, &bad) || bad.Count != 4 {
		t.Fatalf("err = %v, want 4 invalid points", err)
	}
	want := "app,app=web x=1.5 1700000000000000000\nnode ok=true,n=3u,s=\"a \\\"b\\\"\" 1700000000000000000\n"
	if n != 2 || string(out) != want {
		t.Fatalf("got %d points:\n%s\nwant:\n%s", n, out, want)
	}
}

func BenchmarkEncodeAppPoints(b *testing.B) {
	points := make([]headroom.Point, 110)
	for i := range points {
		points[i] = headroom.Point{Measurement: "app",
			Tags: []headroom.Tag{{Key: "app", Value: "web-" + strconv.Itoa(i)}, {Key: "cluster", Value: "osl2"},
				{Key: "container", Value: "main"}, {Key: "namespace", Value: "shop"}, {Key: "workload", Value: "web"}},
			Fields: []headroom.Field{{Key: "replicas", Value: int64(3)}, {Key: "cpu_usage_cores_sum", Value: 0.25},
				{Key: "memory_working_set_bytes_sum", Value: int64(300 << 20)}},
			Time: time.Unix(1700000000, 0)}
	}
	var enc Encoder
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf, _, _ = enc.Encode(buf[:0], points)
	}
}

func decodeAll(t *testing.T, b []byte) []headroom.Point {
	t.Helper()
	dec := lineprotocol.NewDecoderWithBytes(b)
	var out []headroom.Point
	for dec.Next() {
		m, err := dec.Measurement()
		if err != nil {
			t.Fatal(err)
		}
		p := headroom.Point{Measurement: string(m)}
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				t.Fatal(err)
			}
			if k == nil {
				break
			}
			p.Tags = append(p.Tags, headroom.Tag{Key: string(k), Value: string(v)})
		}
		for {
			k, v, err := dec.NextField()
			if err != nil {
				t.Fatal(err)
			}
			if k == nil {
				break
			}
			p.Fields = append(p.Fields, headroom.Field{Key: string(k), Value: v.Interface()})
		}
		ts, err := dec.Time(lineprotocol.Nanosecond, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		p.Time = ts
		out = append(out, p)
	}
	return out
}

func fieldValue(t *testing.T, v map[string]any) any {
	t.Helper()
	for kind, raw := range v {
		switch kind {
		case "float":
			f, _ := raw.(json.Number).Float64()
			return f
		case "int":
			i, _ := raw.(json.Number).Int64()
			return i
		case "uint":
			u, _ := strconv.ParseUint(raw.(json.Number).String(), 10, 64)
			return u
		case "bool":
			return raw.(bool)
		case "string":
			return raw.(string)
		}
	}
	t.Fatalf("unknown field value %v", v)
	return nil
}
