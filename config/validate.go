package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// Validate checks every setting and the rules that span settings, without
// touching the file system or the network. It returns nil or every problem
// joined with errors.Join, each a *FieldError naming its field.
func (c *Config) Validate() error {
	v := &validator{}
	v.collection("collection", c.Collection, func(string) bool { return true })
	if len(c.Clusters) == 0 {
		v.add("clusters", "at least one cluster is required")
	}
	seen := map[string]int{}
	for i, cl := range c.Clusters {
		p := fmt.Sprintf("clusters[%d]", i)
		v.cluster(p, cl)
		if cl.Name != "" {
			if j, ok := seen[cl.Name]; ok {
				v.add(p+".name", "%q is also the name of clusters[%d]; names must be unique", cl.Name, j)
			} else {
				seen[cl.Name] = i
			}
		}
		v.collection(p, cl.Effective(c.Collection), cl.Overrides.has)
	}
	v.influx(c.Influx)
	if c.Spool.Path == "" {
		v.add("spool.path", "required")
	}
	if c.Spool.MaxBytes <= 0 {
		v.add("spool.maxBytes", "must be greater than 0")
	}
	v.gatePolicy("gate.policy", c.Gate.Policy)
	v.alerting(c)
	v.leaderElection(c.LeaderElection)
	v.listen("server.listen", c.Server.Listen)
	if s := c.Server.LivenessStaleAfter; s < 0 {
		v.add("server.livenessStaleAfter", "must not be negative")
	} else if longest := c.longestInterval(); s != 0 && s.Duration() <= longest {
		v.add("server.livenessStaleAfter", "%s must be longer than the longest interval, %s (0 means 3 × it)", s, longest)
	}
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
}

// has reports whether the cluster sets the collection setting named by its
// YAML key.
func (o Overrides) has(key string) bool {
	switch key {
	case "interval":
		return o.Interval != nil
	case "timeout":
		return o.Timeout != nil
	case "concurrency":
		return o.Concurrency != nil
	case "jitter":
		return o.Jitter != nil
	case "appLabels":
		return o.AppLabels != nil
	case "poolLabels":
		return o.PoolLabels != nil
	case "podMeasurement":
		return o.PodMeasurement != nil
	}
	return false
}

// collection checks c, the settings in effect at path. own reports which
// settings are written at path; the others are inherited and were checked
// where they are written. A rule is checked here when a setting it reads is
// written here, and the error names that setting, so each problem is
// reported once, where it can be fixed.
func (v *validator) collection(path string, c Collection, own func(key string) bool) {
	check := func(key string, ok bool, msg string) {
		if own(key) && !ok {
			v.add(path+"."+key, "%s", msg)
		}
	}
	check("interval", c.Interval > 0, "must be greater than 0")
	check("timeout", c.Timeout > 0, "must be greater than 0")
	check("concurrency", c.Concurrency >= 1, "must be at least 1")
	check("jitter", c.Jitter >= 0, "must not be negative")
	if own("appLabels") {
		v.labels(path+".appLabels", c.AppLabels)
	}
	if own("poolLabels") {
		v.labels(path+".poolLabels", c.PoolLabels)
	}
	if c.Interval <= 0 || c.Timeout <= 0 || c.Jitter < 0 {
		return // the rules below would only repeat the problem
	}
	// cross reports a rule over keys once, at the first of them written here.
	cross := func(keys []string, format string, args ...any) {
		for _, k := range keys {
			if own(k) {
				v.add(path+"."+k, format, args...)
				return
			}
		}
	}
	switch {
	case c.Timeout >= c.Interval:
		cross([]string{"timeout", "interval"},
			"timeout %s must be less than interval %s", c.Timeout, c.Interval)
	case c.Jitter+c.Timeout >= c.Interval:
		cross([]string{"jitter", "timeout", "interval"},
			"jitter %s + timeout %s must be less than interval %s", c.Jitter, c.Timeout, c.Interval)
	}
}

// labels checks a list of label keys: each a valid Kubernetes label key,
// none twice. An empty list is valid.
func (v *validator) labels(path string, keys []string) {
	for i, k := range keys {
		p := fmt.Sprintf("%s[%d]", path, i)
		if msgs := content.IsLabelKey(k); len(msgs) > 0 {
			v.add(p, "%q is not a valid label key: %s", k, strings.Join(msgs, "; "))
		} else if j := slices.Index(keys[:i], k); j >= 0 {
			v.add(p, "%q is listed twice (also at %d)", k, j)
		}
	}
}

func (v *validator) cluster(p string, c Cluster) {
	switch {
	case c.Name == "":
		v.add(p+".name", "required")
	default:
		if msgs := content.IsDNS1123Label(c.Name); len(msgs) > 0 {
			v.add(p+".name", "%q is not a valid name: %s", c.Name, strings.Join(msgs, "; "))
		}
	}
	kubelet := c.Source == SourceKubelet || c.Source == SourceKubeletProxy
	if !slices.Contains(sources, c.Source) {
		v.add(p+".source", "%q is not one of %s", c.Source, joinQuoted(sources))
	}
	if !slices.Contains(endpoints, c.Endpoint) {
		v.add(p+".endpoint", "%q is not one of %s", c.Endpoint, joinQuoted(endpoints))
	} else if c.Endpoint != EndpointResource && c.Source == SourceMetricsServer {
		v.add(p+".endpoint", "%q needs a kubelet source, not %q", c.Endpoint, c.Source)
	}
	if c.KubeletPort < 0 || c.KubeletPort > 65535 {
		v.add(p+".kubeletPort", "%d is not a port (0 to 65535; 0 means the port in node status)", c.KubeletPort)
	} else if c.KubeletPort != 0 && !kubelet {
		v.add(p+".kubeletPort", "applies only to the kubelet sources, not %q", c.Source)
	}
	if c.KubeletInsecureSkipVerify && c.Source != SourceKubelet {
		v.add(p+".kubeletInsecureSkipVerify", "applies only to source %q, not %q", SourceKubelet, c.Source)
	}
	if c.KubeletCAFile != "" {
		switch {
		case c.Source != SourceKubelet:
			v.add(p+".kubeletCAFile", "applies only to source %q, not %q", SourceKubelet, c.Source)
		case c.KubeletInsecureSkipVerify:
			v.add(p+".kubeletCAFile", "set together with kubeletInsecureSkipVerify; choose one")
		}
	}
	v.scheduler(p+".scheduler", c.Scheduler)
}

// scheduler checks a cluster's kube-scheduler settings, in headroomd's
// config and in the deploy config's gate.
func (v *validator) scheduler(p string, s Scheduler) {
	if n := s.PercentageOfNodesToScore; n < 0 || n > 100 {
		v.add(p+".percentageOfNodesToScore", "%d is not a percentage (0 to 100; 0 means the scheduler's adaptive default)", n)
	}
	if n := s.Parallelism; n < 0 {
		v.add(p+".parallelism", "%d is negative (0 means the scheduler's default, 16)", n)
	}
}

func (v *validator) influx(in Influx) {
	// Never quote the URL: it may carry credentials.
	switch u, err := url.Parse(in.URL); {
	case in.URL == "":
		v.add("influx.url", "required")
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		v.add("influx.url", "not a valid URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		v.add("influx.url", "scheme must be http or https")
	case u.Host == "":
		v.add("influx.url", "has no host")
	case u.User != nil:
		v.add("influx.url", "must not hold credentials; use influx.token or influx.tokenFile")
	}
	if in.Token != "" && in.TokenFile != "" {
		v.add("influx.tokenFile", "set together with influx.token; choose one")
	}
	if in.Bucket == "" {
		v.add("influx.bucket", `required (for InfluxDB 1.8, "database/retention-policy")`)
	}
	if in.BatchPoints < 1 {
		v.add("influx.batchPoints", "must be at least 1")
	}
	if in.Timeout <= 0 {
		v.add("influx.timeout", "must be greater than 0")
	}
	if in.MaxRetryBackoff <= 0 {
		v.add("influx.maxRetryBackoff", "must be greater than 0")
	}
}

// gatePolicy checks the gate's default policy.
func (v *validator) gatePolicy(path string, p GatePolicy) {
	if p.NPlusOne != "" && !slices.Contains(nPlusOnes, p.NPlusOne) {
		v.add(path+".nPlusOne", "%q is not one of %s (or empty for off)", p.NPlusOne, joinQuoted(nPlusOnes))
	}
	for _, name := range slices.Sorted(maps.Keys(p.MaxShare)) {
		field := path + ".maxShare." + name
		if msgs := content.IsQualifiedName(name); len(msgs) > 0 {
			v.add(field, "%q is not a resource name: %s", name, strings.Join(msgs, "; "))
		}
		// Written so that NaN fails too.
		if share := p.MaxShare[name]; !(share > 0 && share <= 1) {
			v.add(field, "%v: a share must be above 0 and at most 1", share)
		}
	}
}

// listen checks a host:port listen address without resolving anything.
func (v *validator) listen(field, addr string) {
	if addr == "" {
		v.add(field, "required, as host:port")
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err)
		}
		v.add(field, "%q is not host:port: %v", addr, err)
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || port != strconv.FormatUint(n, 10) {
		v.add(field, "port %q must be a number from 0 to 65535", port)
	}
}

func joinQuoted[T ~string](vs []T) string {
	q := make([]string, len(vs))
	for i, s := range vs {
		q[i] = strconv.Quote(string(s))
	}
	return strings.Join(q, ", ")
}
