package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/headroomhq/headroom/capacity/alert"
	"github.com/headroomhq/headroom/config"
)

// leader says whether this headroomd holds the datacenter's Lease. Without
// leader election it always does.
type leader struct {
	cfg      config.LeaderElection
	identity string
	leading  atomic.Bool
	gauge    prometheus.Gauge
	log      *slog.Logger
}

func newLeader(cfg config.LeaderElection, reg prometheus.Registerer, log *slog.Logger) *leader {
	l := &leader{cfg: cfg, identity: identity(), log: log,
		gauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "headroom_leader",
			Help: "1 while this headroomd holds the Lease and sends alerts and reports (always 1 without leader election)."})}
	reg.MustRegister(l.gauge)
	if !cfg.Enabled {
		l.set(true)
	}
	return l
}

// Leading says whether this headroomd sends alerts and reports now.
func (l *leader) Leading() bool { return l.leading.Load() }

func (l *leader) set(v bool) {
	l.leading.Store(v)
	if v {
		l.gauge.Set(1)
	} else {
		l.gauge.Set(0)
	}
}

// Run campaigns for the Lease until ctx ends, again after each loss.
func (l *leader) Run(ctx context.Context) error {
	if !l.cfg.Enabled {
		<-ctx.Done()
		return nil
	}
	rc, err := restConfig(config.Cluster{Kubeconfig: l.cfg.Kubeconfig, Context: l.cfg.Context})
	if err != nil {
		return fmt.Errorf("leaderElection: %w", err)
	}
	rc.UserAgent = "headroomd-leader-election"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("leaderElection: %w", err)
	}
	ns := l.cfg.Namespace
	if ns == "" {
		if ns = os.Getenv("POD_NAMESPACE"); ns == "" {
			return fmt.Errorf("leaderElection.namespace: not set, and neither is $POD_NAMESPACE")
		}
	}
	el, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: ns, Name: l.cfg.Name},
			Client:     cs.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: l.identity},
		},
		LeaseDuration:   l.cfg.LeaseDuration.Duration(),
		RenewDeadline:   l.cfg.RenewDeadline.Duration(),
		RetryPeriod:     l.cfg.RetryPeriod.Duration(),
		ReleaseOnCancel: l.cfg.Release(),
		Name:            "headroomd",
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) {
				l.set(true)
				l.log.Info("leading: this headroomd sends alerts and reports", "identity", l.identity, "lease", ns+"/"+l.cfg.Name)
			},
			OnStoppedLeading: func() {
				l.set(false)
				l.log.Info("not leading: alerts and reports are another replica's", "identity", l.identity)
			},
			OnNewLeader: func(id string) {
				if id != l.identity {
					l.log.Info("leader", "identity", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leaderElection: %w", err)
	}
	for ctx.Err() == nil {
		el.Run(ctx) // returns when leadership is lost or ctx ends
	}
	return nil
}

// identity is $POD_NAME, else the host name, with a random suffix so that
// two processes on one host differ.
func identity() string {
	name := os.Getenv("POD_NAME")
	if name == "" {
		name, _ = os.Hostname()
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return name + "_" + hex.EncodeToString(b)
}

// leaderOnly sends alerts only while this headroomd leads. The rules run
// on every replica, so that a new leader knows which alerts are pending
// and firing.
type leaderOnly struct {
	next   alert.Notifier
	leader *leader
}

func (n leaderOnly) Notify(ctx context.Context, alerts []alert.Alert) error {
	if !n.leader.Leading() {
		return nil
	}
	return n.next.Notify(ctx, alerts)
}
