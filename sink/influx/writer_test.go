package influx

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/headroomhq/headroom/sink/spool"
)

// fakeInflux answers /api/v2/write with the statuses a test scripts, and
// records the lines it accepted.
type fakeInflux struct {
	mu       sync.Mutex
	script   []func(body string) (int, http.Header) // consumed in order; then 204
	accepted []string
	requests int
}

func (f *fakeInflux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v2/write" {
		http.NotFound(w, r)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	status, hdr := http.StatusNoContent, http.Header{}
	if len(f.script) > 0 {
		status, hdr = f.script[0](string(b))
		f.script = f.script[1:]
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	if status == http.StatusNoContent {
		f.accepted = append(f.accepted, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	w.WriteHeader(status)
	if status >= 400 {
		_, _ = io.WriteString(w, `{"code":"err","message":"scripted"}`)
	}
}

func (f *fakeInflux) lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.accepted...)
}

func status(code int) func(string) (int, http.Header) {
	return func(string) (int, http.Header) { return code, nil }
}

func newTestWriter(t *testing.T, url string, batch int) (*Writer, *spool.Spool, *prometheus.Registry) {
	t.Helper()
	sp, err := spool.Open(spool.Options{Path: filepath.Join(t.TempDir(), "spool.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	reg := prometheus.NewRegistry()
	w, err := New(sp, Options{URL: url, Bucket: "headroom/autogen", BatchPoints: batch, Gzip: true,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w, sp, reg
}

func appendLines(t *testing.T, sp *spool.Spool, lines ...string) {
	t.Helper()
	if _, err := sp.Append(len(lines), []byte(strings.Join(lines, "\n")+"\n")); err != nil {
		t.Fatal(err)
	}
}

// runUntil runs the writer until cond holds or the deadline passes.
func runUntil(t *testing.T, w *Writer, cond func() bool) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if cond() {
				cancel()
				return <-done
			}
		case <-ctx.Done():
			t.Fatal("condition not met within 10s")
		}
	}
}

func TestWriterSortsErrorsLikeTelegraf(t *testing.T) {
	tests := []struct {
		name        string
		script      []func(string) (int, http.Header)
		wantLines   []string
		wantDropped float64
		wantErr     error
	}{
		{name: "accepted first time", wantLines: []string{"m v=1 1", "m v=2 2", "m v=3 3"}},
		{name: "503 then accepted: retried, nothing lost",
			script:    []func(string) (int, http.Header){status(503), status(503)},
			wantLines: []string{"m v=1 1", "m v=2 2", "m v=3 3"}},
		{name: "429 with Retry-After then accepted",
			script: []func(string) (int, http.Header){func(string) (int, http.Header) {
				return 429, http.Header{"Retry-After": {"1"}}
			}},
			wantLines: []string{"m v=1 1", "m v=2 2", "m v=3 3"}},
		{name: "400 drops the record and counts it",
			script:      []func(string) (int, http.Header){status(400)},
			wantDropped: 3},
		{name: "413 splits the request in halves",
			script:    []func(string) (int, http.Header){status(413)},
			wantLines: []string{"m v=1 1", "m v=2 2", "m v=3 3"}},
		{name: "401 stops with ErrUnauthorized and keeps the points",
			script:  []func(string) (int, http.Header){status(401)},
			wantErr: ErrUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeInflux{script: tc.script}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			w, sp, reg := newTestWriter(t, srv.URL, 5000)
			appendLines(t, sp, "m v=1 1", "m v=2 2", "m v=3 3")
			err := runUntil(t, w, func() bool { return sp.Stats().Records == 0 })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run = %v, want %v", err, tc.wantErr)
			}
			if got := fake.lines(); strings.Join(got, "|") != strings.Join(tc.wantLines, "|") {
				t.Errorf("InfluxDB accepted %q, want %q", got, tc.wantLines)
			}
			dropped := testutil.ToFloat64(w.m.requests.WithLabelValues("dropped"))
			if tc.wantDropped > 0 && dropped != 1 {
				t.Errorf("dropped requests = %v, want 1", dropped)
			}
			if tc.wantErr != nil && sp.Stats().Points != 3 {
				t.Errorf("spool holds %d points after a fatal error, want all 3 kept", sp.Stats().Points)
			}
			if tc.wantErr == nil && tc.wantDropped == 0 && testutil.ToFloat64(w.m.written) != 3 {
				t.Errorf("written = %v, want 3", testutil.ToFloat64(w.m.written))
			}
			_ = reg
		})
	}
}

func TestWriterHonoursRetryAfter(t *testing.T) {
	fake := &fakeInflux{script: []func(string) (int, http.Header){func(string) (int, http.Header) {
		return 429, http.Header{"Retry-After": {"1"}}
	}}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	w, sp, _ := newTestWriter(t, srv.URL, 5000)
	appendLines(t, sp, "m v=1 1")
	start := time.Now()
	if err := runUntil(t, w, func() bool { return sp.Stats().Records == 0 }); err != nil {
		t.Fatal(err)
	}
	// The backoff alone would retry after at most 50ms.
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("retried after %s, Retry-After asked for 1s", waited)
	}
}

func TestWriterBatchesAndKeepsOrder(t *testing.T) {
	fake := &fakeInflux{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	w, sp, _ := newTestWriter(t, srv.URL, 2)
	var want []string
	for r := range 3 {
		var lines []string
		for i := range 3 {
			lines = append(lines, "m,r="+string(rune('a'+r))+" v="+string(rune('0'+i))+" 1")
		}
		appendLines(t, sp, lines...)
		want = append(want, lines...)
	}
	if err := runUntil(t, w, func() bool { return sp.Stats().Records == 0 }); err != nil {
		t.Fatal(err)
	}
	if got := fake.lines(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q want %q", got, want)
	}
	if fake.requests != 6 { // 3 records × (2 + 1) lines per request
		t.Fatalf("%d requests, want 6 with 2 points per request", fake.requests)
	}
}

func TestFirstLines(t *testing.T) {
	data := []byte("a\nb\nc\n")
	for n, want := range map[int]string{0: "", 1: "a\n", 2: "a\nb\n", 3: "a\nb\nc\n", 9: "a\nb\nc\n"} {
		if got := firstLines(data, n); !bytes.Equal(got, []byte(want)) {
			t.Errorf("firstLines(%d) = %q, want %q", n, got, want)
		}
	}
}
