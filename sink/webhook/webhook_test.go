package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPost: the body is v as JSON; a refusal or an unreachable host is an
// error that never shows the URL's path, where webhooks keep their secret.
func TestPost(t *testing.T) {
	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		if strings.HasSuffix(r.URL.Path, "/refuse") {
			http.Error(w, "no", http.StatusForbidden)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := Post(ctx, nil, srv.URL+"/services/T0/B0/secret", map[string]string{"text": "hi"}); err != nil || got["text"] != "hi" {
		t.Fatalf("%v, %v", err, got)
	}
	err := Post(ctx, srv.Client(), srv.URL+"/secret/refuse", map[string]string{})
	if err == nil || !strings.Contains(err.Error(), "403 Forbidden") || strings.Contains(err.Error(), "secret") {
		t.Errorf("refused: %v", err)
	}
	srv.Close()
	err = Post(ctx, nil, srv.URL+"/secret", map[string]string{})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("unreachable: %v", err)
	}
	if err := Post(ctx, nil, "http://[::1/secret", nil); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad URL: %v", err)
	}
}
