package alertmanager

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroomhq/headroom/capacity/alert"
)

// Options configure a Notifier.
type Options struct {
	// URLs are the Alertmanagers' base URLs, e.g. http://am-0:9093, with
	// a path prefix when Alertmanager runs under one
	// (--web.route-prefix). At least one.
	URLs []string
	// Timeout bounds one POST to one Alertmanager. Default 10s.
	Timeout time.Duration
	// Client is the HTTP client (TLS, proxies); default one with Timeout.
	Client     *http.Client
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Notifier posts alerts to every Alertmanager at once.
type Notifier struct {
	targets []target
	timeout time.Duration
	log     *slog.Logger
	sent    *prometheus.CounterVec
	errs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

type target struct {
	url string
	api *amclient.AlertmanagerAPI
}

// New checks the URLs and returns a Notifier.
func New(o Options) (*Notifier, error) {
	if len(o.URLs) == 0 {
		return nil, errors.New("alertmanager: no URL")
	}
	o.Timeout = cmp.Or(o.Timeout, 10*time.Second)
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{timeout: o.Timeout, log: o.Logger,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "headroom_alertmanager_alerts_sent_total",
			Help: "Alerts Alertmanager accepted, by Alertmanager."}, []string{"alertmanager"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "headroom_alertmanager_errors_total",
			Help: "Sends to an Alertmanager that failed; its alerts are sent again at the next evaluation."}, []string{"alertmanager"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "headroom_alertmanager_latency_seconds",
			Help: "Time to post alerts to an Alertmanager.", Buckets: prometheus.DefBuckets}, []string{"alertmanager"}),
	}
	for i, raw := range o.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Not quoted: it may hold a password.
			return nil, fmt.Errorf("alertmanager URL %d: want http(s)://host[:port][/prefix]", i)
		}
		base := strings.TrimSuffix(u.Path, "/") + "/api/v2"
		rt := httptransport.NewWithClient(u.Host, base, []string{u.Scheme}, o.Client)
		if u.User != nil {
			pw, _ := u.User.Password()
			rt.DefaultAuthentication = httptransport.BasicAuth(u.User.Username(), pw)
			u.User = nil // never in logs or labels
		}
		n.targets = append(n.targets, target{url: u.String(), api: amclient.New(rt, strfmt.Default)})
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(n.sent, n.errs, n.latency)
	}
	return n, nil
}

// Notify posts alerts to every Alertmanager concurrently, each within the
// timeout. Each Alertmanager of an HA pair must receive every alert (they
// share notifications sent and silences, not alerts); one that fails is
// logged and counted and gets them again at the next evaluation. Notify
// fails only when no Alertmanager accepted them.
func (n *Notifier) Notify(ctx context.Context, alerts []alert.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	body := postable(alerts)
	var wg sync.WaitGroup
	errs := make([]error, len(n.targets))
	for i, t := range n.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			cctx, cancel := context.WithTimeout(ctx, n.timeout)
			defer cancel()
			_, err := t.api.Alert.PostAlerts(amalert.NewPostAlertsParamsWithContext(cctx).WithAlerts(body))
			n.latency.WithLabelValues(t.url).Observe(time.Since(start).Seconds())
			if err != nil && ctx.Err() != nil {
				errs[i] = ctx.Err() // shutting down: not the Alertmanager's fault
				return
			}
			if err != nil {
				n.errs.WithLabelValues(t.url).Inc()
				errs[i] = fmt.Errorf("%s: %w", t.url, err)
				n.log.Warn("alerts not delivered to an Alertmanager; sent again at the next evaluation",
					"alertmanager", t.url, "alerts", len(alerts), "err", err)
				return
			}
			n.sent.WithLabelValues(t.url).Add(float64(len(alerts)))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			return nil // on-call is told; the others are logged and counted
		}
	}
	return fmt.Errorf("no Alertmanager accepted %d alerts: %w", len(alerts), errors.Join(errs...))
}

func postable(alerts []alert.Alert) models.PostableAlerts {
	out := make(models.PostableAlerts, 0, len(alerts))
	for _, a := range alerts {
		out = append(out, &models.PostableAlert{
			Alert:       models.Alert{Labels: models.LabelSet(a.Labels), GeneratorURL: strfmt.URI(a.GeneratorURL)},
			Annotations: models.LabelSet(a.Annotations),
			StartsAt:    strfmt.DateTime(a.StartsAt),
			EndsAt:      strfmt.DateTime(a.EndsAt),
		})
	}
	return out
}
