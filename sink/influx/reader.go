package influx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/headroomhq/headroom"
)

// ReaderOptions configure a Reader; the fields mean what they mean in
// Options.
type ReaderOptions struct {
	URL, Token, Org, Bucket string
	// Timeout bounds one query; default 2 minutes.
	Timeout time.Duration
}

// Reader reads points back from InfluxDB with Flux, averaged per window.
// headroomd's history backfill reads with it on first start. Flux is
// served by InfluxDB 2.x and by 1.8 with flux-enabled = true; not by 3.x.
type Reader struct {
	client  influxdb2.Client
	query   api.QueryAPI
	bucket  string
	timeout time.Duration
}

// NewReader returns a Reader.
func NewReader(o ReaderOptions) (*Reader, error) {
	if o.URL == "" || o.Bucket == "" {
		return nil, errors.New("influx: URL and Bucket are required")
	}
	o.Timeout = cmp.Or(o.Timeout, 2*time.Minute)
	copts := influxdb2.DefaultOptions().SetLogLevel(0).SetHTTPRequestTimeout(uint(o.Timeout.Seconds() + 0.5))
	client := influxdb2.NewClientWithOptions(o.URL, o.Token, copts)
	return &Reader{client: client, query: client.QueryAPI(o.Org), bucket: o.Bucket, timeout: o.Timeout}, nil
}

// Close releases the client's connections.
func (r *Reader) Close() { r.client.Close() }

// Query is what Means reads: measurement's numeric fields Fields, of the
// points whose tag Tag equals Value, in [Start, Stop), averaged per window
// of Every.
type Query struct {
	Measurement string
	Fields      []string
	Tag, Value  string
	Start, Stop time.Time
	Every       time.Duration
}

// Means runs q: one point per window and series (tag set) holding the
// window's mean of each field present in it, stamped with the window's
// start; sorted by time. Means are float64 whatever the field's type.
func (r *Reader) Means(ctx context.Context, q Query) ([]headroom.Point, error) {
	if q.Every < time.Second || len(q.Fields) == 0 || !q.Stop.After(q.Start) {
		return nil, fmt.Errorf("influx: query of %s: want fields, a window of 1s or more and start before stop", q.Measurement)
	}
	fields := make([]string, len(q.Fields))
	for i, f := range q.Fields {
		fields[i] = fluxString(f)
	}
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r[%s] == %s)
  |> filter(fn: (r) => contains(value: r._field, set: [%s]))
  |> aggregateWindow(every: %ds, fn: mean, createEmpty: false, timeSrc: "_start")`,
		fluxString(r.bucket), q.Start.UTC().Format(time.RFC3339), q.Stop.UTC().Format(time.RFC3339),
		fluxString(q.Measurement), fluxString(q.Tag), fluxString(q.Value), strings.Join(fields, ", "),
		int64(q.Every/time.Second))

	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.query.Query(ctx, flux)
	if err != nil {
		return nil, fmt.Errorf("influx: query of %s: %w", q.Measurement, err)
	}
	defer res.Close()

	type seriesAt struct {
		tags string // the series' tags, encoded
		at   int64
	}
	index := map[seriesAt]int{}
	var out []headroom.Point
	for res.Next() {
		rec := res.Record()
		v, ok := number(rec.Value())
		if !ok {
			continue
		}
		var tags []headroom.Tag
		for k, tv := range rec.Values() {
			s, isString := tv.(string)
			if !isString || strings.HasPrefix(k, "_") || k == "result" || k == "table" {
				continue
			}
			tags = append(tags, headroom.Tag{Key: k, Value: s})
		}
		slices.SortFunc(tags, func(a, b headroom.Tag) int { return cmp.Compare(a.Key, b.Key) })
		var enc strings.Builder
		for _, t := range tags {
			enc.WriteString(t.Key + "\x00" + t.Value + "\x00")
		}
		key := seriesAt{enc.String(), rec.Time().UnixNano()}
		i, seen := index[key]
		if !seen {
			i = len(out)
			index[key] = i
			out = append(out, headroom.Point{Measurement: rec.Measurement(), Tags: tags, Time: rec.Time()})
		}
		out[i].Fields = append(out[i].Fields, headroom.Field{Key: rec.Field(), Value: v})
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: reading the answer for %s: %w", q.Measurement, err)
	}
	slices.SortStableFunc(out, func(a, b headroom.Point) int { return a.Time.Compare(b.Time) })
	return out, nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// fluxString quotes s as a Flux string literal: backslash, double quote
// and the interpolation "${" escaped.
func fluxString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", `\${`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}
