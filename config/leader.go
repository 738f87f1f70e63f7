package config

import (
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// LeaderElection lets two or more headroomd replicas share one
// datacenter: every replica collects and writes (cycles are stamped on
// the interval's boundaries, so InfluxDB keeps one point of each), and the
// holder of a Lease alone sends alerts and the report.
type LeaderElection struct {
	// Enabled turns it on. Default false: this headroomd alerts.
	Enabled bool `yaml:"enabled"`
	// Namespace and Name are the Lease's. Default: the namespace headroomd
	// runs in ($POD_NAMESPACE), and "headroomd".
	Namespace string `yaml:"namespace"`
	Name      string `yaml:"name"`
	// Kubeconfig and Context are the cluster holding the Lease; empty
	// means the in-cluster service account.
	Kubeconfig string `yaml:"kubeconfig"`
	Context    string `yaml:"context"`
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's
	// (15s, 10s, 2s): a replica takes over at most LeaseDuration after the
	// leader stopped renewing.
	LeaseDuration Duration `yaml:"leaseDuration"`
	RenewDeadline Duration `yaml:"renewDeadline"`
	RetryPeriod   Duration `yaml:"retryPeriod"`
	// ReleaseOnShutdown gives the Lease up on a clean shutdown, so that
	// another replica takes over at once. Default true.
	ReleaseOnShutdown *bool `yaml:"releaseOnShutdown"`
}

func defaultLeaderElection() LeaderElection {
	return LeaderElection{Name: "headroomd", LeaseDuration: Duration(15 * time.Second),
		RenewDeadline: Duration(10 * time.Second), RetryPeriod: Duration(2 * time.Second)}
}

// Release says whether the Lease is given up on shutdown.
func (l LeaderElection) Release() bool { return l.ReleaseOnShutdown == nil || *l.ReleaseOnShutdown }

func (v *validator) leaderElection(l LeaderElection) {
	if !l.Enabled {
		return
	}
	if msgs := validation.IsDNS1123Subdomain(l.Name); len(msgs) > 0 {
		v.add("leaderElection.name", "%q: %v", l.Name, msgs)
	}
	if l.Namespace != "" {
		if msgs := validation.IsDNS1123Label(l.Namespace); len(msgs) > 0 {
			v.add("leaderElection.namespace", "%q: %v", l.Namespace, msgs)
		}
	}
	if l.RetryPeriod <= 0 || l.RenewDeadline <= l.RetryPeriod || l.LeaseDuration <= l.RenewDeadline {
		v.add("leaderElection", "want leaseDuration (%s) > renewDeadline (%s) > retryPeriod (%s) > 0",
			l.LeaseDuration, l.RenewDeadline, l.RetryPeriod)
	}
}
