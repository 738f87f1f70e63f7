package decode

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/headroomhq/headroom/test/fixtures"
)

func TestDetectPicksTheFormatOfEveryCapture(t *testing.T) {
	for _, c := range captures() {
		t.Run(c.path, func(t *testing.T) {
			got, err := Detect(fixtures.Read(t, c.path))
			if err != nil || got != c.format {
				t.Fatalf("got %q, %v; want %q", got, err, c.format)
			}
		})
	}
	for _, c := range loadVectors(t).Decode {
		t.Run("metrics-resource vector "+c.Name, func(t *testing.T) {
			got, err := Detect([]byte(c.Input))
			if err != nil || got != FormatResourceMetrics {
				t.Fatalf("got %q, %v; want %q", got, err, FormatResourceMetrics)
			}
		})
	}
}

func TestDetectRecognisesSmallInputs(t *testing.T) {
	for _, c := range []struct {
		name, input string
		want        Format
	}{
		{"HELP line naming a node metric", "# HELP node_cpu_usage_seconds_total help\n", FormatResourceMetrics},
		{"pod metric after other metrics", "scrape_error 0\npod_memory_working_set_bytes{namespace=\"a\",pod=\"b\"} 1\n", FormatResourceMetrics},
		{"summary with a byte-order mark and blanks", "\xef\xbb\xbf \n{\"node\":{},\"pods\":null}", FormatSummary},
		{"single NodeMetrics", `{"kind":"NodeMetrics","usage":{}}`, FormatMetricsAPINodes},
		{"pod list without kind", `{"items":[{"containers":[]}]}`, FormatMetricsAPIPods},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Detect([]byte(c.input))
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestDetectRejectsGarbage(t *testing.T) {
	for _, c := range []struct {
		name, input string
		is          error
	}{
		{"empty", "", ErrUnknownFormat},
		{"only blanks", " \n\t\r\n", ErrUnknownFormat},
		{"prose", "hello, world\n", ErrUnknownFormat},
		{"HTML error page", "<html><body>502 Bad Gateway</body></html>", ErrUnknownFormat},
		{"JSON array", `[{"node":{}}]`, ErrUnknownFormat},
		{"JSON object of no known shape", `{"a":1}`, ErrUnknownFormat},
		{"API server Status", `{"kind":"Status","message":"nodes \"x\" is forbidden"}`, ErrUnknownFormat},
		{"other Prometheus metrics", "# TYPE up gauge\nup 1\nprocess_cpu_seconds_total 3\n", ErrUnknownFormat},
		{"only comments", "# just a comment\n#\n", ErrUnknownFormat},
		{"truncated JSON", `{"node":{"nodeName":`, ErrMalformed},
		{"binary", "\x00\x01\x02\xff", ErrUnknownFormat},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Detect([]byte(c.input))
			if err == nil || !errors.Is(err, c.is) {
				t.Fatalf("got %q, %v; want an error wrapping %v", got, err, c.is)
			}
			if _, err := Decode([]byte(c.input), "n", time.Now()); err == nil {
				t.Fatal("Decode accepted what Detect rejected")
			}
		})
	}
}

func TestDecodeGivesWhatTheFormatsDecoderGives(t *testing.T) {
	for _, c := range captures() {
		t.Run(c.path, func(t *testing.T) {
			b := fixtures.Read(t, c.path)
			got, err := Decode(b, "ignored", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			var want *Result
			if c.format == FormatSummary {
				want, err = Summary(bytes.NewReader(b))
			} else {
				want, err = MetricsAPI(bytes.NewReader(b))
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Decode and the format's decoder differ:\n%+v\n%+v", got, want)
			}
		})
	}
	v := loadVectors(t).Decode[0]
	at := time.Unix(1.7e9, 0)
	got, err := Decode([]byte(v.Input), "node1", at)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ResourceMetrics(bytes.NewReader([]byte(v.Input)), "node1", at)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode and ResourceMetrics differ (%v):\n%+v\n%+v", err, got, want)
	}
}
