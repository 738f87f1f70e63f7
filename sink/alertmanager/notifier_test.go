package alertmanager

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headroomhq/headroom/capacity/alert"
)

type fakeAM struct {
	mu     sync.Mutex
	posts  [][]map[string]any
	paths  []string
	users  []string
	status int
}

func (f *fakeAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body []map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	user, _, _ := r.BasicAuth()
	f.posts, f.paths, f.users = append(f.posts, body), append(f.paths, r.Method+" "+r.URL.Path), append(f.users, user)
	if f.status != 0 {
		http.Error(w, "down for maintenance", f.status)
		return
	}
	w.WriteHeader(http.StatusOK)
}

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func sample() []alert.Alert {
	return []alert.Alert{{
		Labels:      map[string]string{"alertname": "HeadroomExhaustionForecast", "cluster": "osl2", "severity": "critical"},
		Annotations: map[string]string{"summary": "memory use in pool general of osl2 reaches 90% in 1d2h"},
		StartsAt:    t0, EndsAt: t0.Add(4 * time.Minute), GeneratorURL: "http://headroomd:8080/api/v1/forecast?cluster=osl2",
	}}
}

func TestNotifyPostsToEveryAlertmanager(t *testing.T) {
	a, b := &fakeAM{}, &fakeAM{}
	sa, sb := httptest.NewServer(a), httptest.NewServer(b)
	defer sa.Close()
	defer sb.Close()
	// b runs under a route prefix and wants basic auth.
	bURL := strings.Replace(sb.URL, "http://", "http://ops:s3cret@", 1) + "/alertmanager/"
	n, err := New(Options{URLs: []string{sa.URL, bURL}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]*fakeAM{"a": a, "b": b} {
		if len(f.posts) != 1 || len(f.posts[0]) != 1 {
			t.Fatalf("%s received %v", name, f.posts)
		}
		got := f.posts[0][0]
		labels := got["labels"].(map[string]any)
		if labels["alertname"] != "HeadroomExhaustionForecast" || labels["severity"] != "critical" ||
			got["startsAt"] != "2026-11-02T09:00:00.000Z" || got["endsAt"] != "2026-11-02T09:04:00.000Z" ||
			got["generatorURL"] != "http://headroomd:8080/api/v1/forecast?cluster=osl2" ||
			got["annotations"].(map[string]any)["summary"] == "" {
			t.Errorf("%s received %v", name, got)
		}
	}
	if a.paths[0] != "POST /api/v2/alerts" || b.paths[0] != "POST /alertmanager/api/v2/alerts" || b.users[0] != "ops" {
		t.Errorf("paths %v %v, user %q", a.paths, b.paths, b.users[0])
	}
	for _, tg := range n.targets {
		if strings.Contains(tg.url, "s3cret") {
			t.Errorf("password kept in the target's name %q", tg.url)
		}
	}
}

func TestNotifyFailsOnlyWhenNoneAccepts(t *testing.T) {
	up, down := &fakeAM{}, &fakeAM{status: http.StatusServiceUnavailable}
	su, sd := httptest.NewServer(up), httptest.NewServer(down)
	defer su.Close()
	defer sd.Close()
	n, err := New(Options{URLs: []string{sd.URL, su.URL}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), sample()); err != nil {
		t.Fatalf("one Alertmanager up: %v", err)
	}
	if len(up.posts) != 1 || len(down.posts) != 1 {
		t.Fatalf("posts: up %d, down %d", len(up.posts), len(down.posts))
	}
	n, _ = New(Options{URLs: []string{sd.URL, "http://127.0.0.1:1"}, Timeout: 2 * time.Second})
	err = n.Notify(context.Background(), sample())
	if err == nil || !strings.Contains(err.Error(), sd.URL) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("all down: %v", err)
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "am:9093", "ftp://am:9093", "http://"} {
		if _, err := New(Options{URLs: []string{u}}); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
	if _, err := New(Options{}); err == nil {
		t.Error("no URLs: no error")
	}
}
