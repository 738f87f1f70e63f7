package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// valid returns a valid configuration with two clusters.
func valid() *Config {
	c := Default()
	c.Clusters = []Cluster{
		{Name: "osl2", Source: SourceKubelet, Endpoint: EndpointResource},
		{Name: "osl3", Source: SourceKubelet, Endpoint: EndpointResource},
	}
	c.Influx.URL = "http://127.0.0.1:8086"
	c.Influx.Bucket = "headroom/autogen"
	c.Spool.Path = "/var/lib/headroom/spool.db"
	return c
}

func ptr[T any](v T) *T { return &v }

// fieldErrors flattens the tree errors.Join builds.
func fieldErrors(t *testing.T, err error) []*FieldError {
	t.Helper()
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		t.Errorf("error %q (%T) is not a *FieldError", err, err)
	}
	if err != nil {
		walk(err)
	}
	return out
}

func TestValidateAcceptsValid(t *testing.T) {
	if err := valid().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestValidate has one case per rule. Each breaks one rule and expects
// exactly one error, naming the field.
func TestValidate(t *testing.T) {
	s := func(d time.Duration) *Duration { return ptr(Duration(d)) }
	tests := []struct {
		name   string
		mutate func(c *Config)
		field  string
		msg    string // part of the message
	}{
		// collection
		{"interval must be positive", func(c *Config) { c.Collection.Interval = 0 }, "collection.interval", "greater than 0"},
		{"timeout must be positive", func(c *Config) { c.Collection.Timeout = -1 }, "collection.timeout", "greater than 0"},
		{"concurrency at least 1", func(c *Config) { c.Collection.Concurrency = 0 }, "collection.concurrency", "at least 1"},
		{"jitter not negative", func(c *Config) { c.Collection.Jitter = Duration(-time.Second) }, "collection.jitter", "negative"},
		{"timeout less than interval", func(c *Config) { c.Collection.Timeout = c.Collection.Interval }, "collection.timeout", "timeout 15s must be less than interval 15s"},
		{"jitter plus timeout less than interval", func(c *Config) { c.Collection.Jitter = Duration(10 * time.Second) }, "collection.jitter", "jitter 10s + timeout 5s must be less than interval 15s"},
		{"app label key valid", func(c *Config) { c.Collection.AppLabels = []string{"app", "bad key"} }, "collection.appLabels[1]", "not a valid label key"},
		{"pool label listed once", func(c *Config) { c.Collection.PoolLabels = []string{"a", "b", "a"} }, "collection.poolLabels[2]", "listed twice"},

		// clusters
		{"at least one cluster", func(c *Config) { c.Clusters = nil }, "clusters", "at least one"},
		{"name required", func(c *Config) { c.Clusters[1].Name = "" }, "clusters[1].name", "required"},
		{"name a DNS label", func(c *Config) { c.Clusters[0].Name = "Osl_2" }, "clusters[0].name", "not a valid name"},
		{"names unique", func(c *Config) { c.Clusters[1].Name = "osl2" }, "clusters[1].name", "also the name of clusters[0]"},
		{"source known", func(c *Config) { c.Clusters[0].Source = "prometheus" }, "clusters[0].source", `"prometheus" is not one of "kubelet", "kubelet-proxy", "metrics-server"`},
		{"endpoint known", func(c *Config) { c.Clusters[0].Endpoint = "cadvisor" }, "clusters[0].endpoint", `"cadvisor" is not one of "resource", "summary"`},
		{"endpoint summary needs a kubelet source", func(c *Config) {
			c.Clusters[0].Source, c.Clusters[0].Endpoint = SourceMetricsServer, EndpointSummary
		}, "clusters[0].endpoint", "needs a kubelet source"},
		{"kubelet port in range", func(c *Config) { c.Clusters[0].KubeletPort = 70000 }, "clusters[0].kubeletPort", "not a port"},
		{"scheduler percentage in range", func(c *Config) { c.Clusters[0].Scheduler.PercentageOfNodesToScore = 101 }, "clusters[0].scheduler.percentageOfNodesToScore", "not a percentage"},
		{"scheduler parallelism not negative", func(c *Config) { c.Clusters[0].Scheduler.Parallelism = -1 }, "clusters[0].scheduler.parallelism", "negative"},
		{"kubelet port only for kubelet sources", func(c *Config) {
			c.Clusters[0].Source, c.Clusters[0].KubeletPort = SourceMetricsServer, 10250
		}, "clusters[0].kubeletPort", "only to the kubelet sources"},
		{"insecure skip verify only for source kubelet", func(c *Config) {
			c.Clusters[0].Source, c.Clusters[0].KubeletInsecureSkipVerify = SourceKubeletProxy, true
		}, "clusters[0].kubeletInsecureSkipVerify", `only to source "kubelet"`},
		{"CA file only for source kubelet", func(c *Config) {
			c.Clusters[0].Source, c.Clusters[0].KubeletCAFile = SourceMetricsServer, "/ca.pem"
		}, "clusters[0].kubeletCAFile", `only to source "kubelet"`},
		{"CA file not with insecure skip verify", func(c *Config) {
			c.Clusters[0].KubeletCAFile, c.Clusters[0].KubeletInsecureSkipVerify = "/ca.pem", true
		}, "clusters[0].kubeletCAFile", "kubeletInsecureSkipVerify"},

		// per-cluster overrides, checked against what they inherit
		{"override timeout less than inherited interval", func(c *Config) { c.Clusters[1].Overrides.Timeout = s(20 * time.Second) }, "clusters[1].timeout", "timeout 20s must be less than interval 15s"},
		{"override interval more than inherited timeout", func(c *Config) { c.Clusters[1].Overrides.Interval = s(3 * time.Second) }, "clusters[1].interval", "timeout 5s must be less than interval 3s"},
		{"override jitter within inherited interval", func(c *Config) { c.Clusters[1].Overrides.Jitter = s(10 * time.Second) }, "clusters[1].jitter", "jitter 10s + timeout 5s"},
		{"override interval must be positive", func(c *Config) { c.Clusters[0].Overrides.Interval = s(0) }, "clusters[0].interval", "greater than 0"},
		{"override concurrency at least 1", func(c *Config) { c.Clusters[1].Overrides.Concurrency = ptr(0) }, "clusters[1].concurrency", "at least 1"},
		{"override app labels valid", func(c *Config) { c.Clusters[1].Overrides.AppLabels = &[]string{"/x"} }, "clusters[1].appLabels[0]", "not a valid label key"},
		{"inherited problem reported once, where written", func(c *Config) { c.Collection.Timeout = Duration(20 * time.Second) }, "collection.timeout", "timeout 20s"},

		// influx
		{"url required", func(c *Config) { c.Influx.URL = "" }, "influx.url", "required"},
		{"url parses", func(c *Config) { c.Influx.URL = "http://h:port/" }, "influx.url", "not a valid URL"},
		{"url scheme http or https", func(c *Config) { c.Influx.URL = "udp://127.0.0.1:8089" }, "influx.url", "scheme must be http or https"},
		{"url has a host", func(c *Config) { c.Influx.URL = "http:///write" }, "influx.url", "no host"},
		{"url holds no credentials", func(c *Config) { c.Influx.URL = "http://admin:hunter2@127.0.0.1:8086" }, "influx.url", "must not hold credentials"},
		{"token and token file not both", func(c *Config) { c.Influx.Token, c.Influx.TokenFile = "t", "/run/secrets/token" }, "influx.tokenFile", "choose one"},
		{"bucket required", func(c *Config) { c.Influx.Bucket = "" }, "influx.bucket", "required"},
		{"batch points at least 1", func(c *Config) { c.Influx.BatchPoints = 0 }, "influx.batchPoints", "at least 1"},
		{"write timeout positive", func(c *Config) { c.Influx.Timeout = 0 }, "influx.timeout", "greater than 0"},
		{"max retry backoff positive", func(c *Config) { c.Influx.MaxRetryBackoff = 0 }, "influx.maxRetryBackoff", "greater than 0"},

		// spool
		{"spool path required", func(c *Config) { c.Spool.Path = "" }, "spool.path", "required"},
		{"spool max bytes positive", func(c *Config) { c.Spool.MaxBytes = 0 }, "spool.maxBytes", "greater than 0"},

		// server
		{"listen required", func(c *Config) { c.Server.Listen = "" }, "server.listen", "required"},
		{"listen is host:port", func(c *Config) { c.Server.Listen = "127.0.0.1" }, "server.listen", "not host:port"},
		{"listen port numeric", func(c *Config) { c.Server.Listen = ":http" }, "server.listen", "must be a number"},
		{"listen port in range", func(c *Config) { c.Server.Listen = "127.0.0.1:65536" }, "server.listen", "must be a number from 0 to 65535"},
		{"liveness not negative", func(c *Config) { c.Server.LivenessStaleAfter = Duration(-time.Second) }, "server.livenessStaleAfter", "negative"},
		{"liveness longer than the longest interval", func(c *Config) {
			c.Clusters[1].Overrides.Interval = s(time.Minute)
			c.Server.LivenessStaleAfter = Duration(30 * time.Second)
		}, "server.livenessStaleAfter", "longer than the longest interval, 1m0s"},

		// gate
		{"n+1 node or zone", func(c *Config) { c.Gate.Policy.NPlusOne = "rack" }, "gate.policy.nPlusOne", `"rack" is not one of "node", "zone"`},
		{"max share at most 1", func(c *Config) { c.Gate.Policy.MaxShare = map[string]float64{"cpu": 0.8, "memory": 1.2} }, "gate.policy.maxShare.memory", "above 0 and at most 1"},
		{"max share above 0", func(c *Config) { c.Gate.Policy.MaxShare = map[string]float64{"cpu": 0} }, "gate.policy.maxShare.cpu", "above 0 and at most 1"},
		{"max share of a resource name", func(c *Config) { c.Gate.Policy.MaxShare = map[string]float64{"gpu cards": 0.5} }, "gate.policy.maxShare.gpu cards", "not a resource name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			fes := fieldErrors(t, err)
			if len(fes) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(fes), err)
			}
			if fes[0].Field != tt.field {
				t.Errorf("error names field %q, want %q: %v", fes[0].Field, tt.field, err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, tt.field+": ") || !strings.Contains(msg, tt.msg) {
				t.Errorf("error %q does not read %q: ...%s...", msg, tt.field, tt.msg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q quotes a password", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := valid()
	c.Collection.Concurrency = 0
	c.Clusters[0].Source = "x"
	c.Influx.Bucket = ""
	c.Spool.Path = ""
	fes := fieldErrors(t, c.Validate())
	var got []string
	for _, fe := range fes {
		got = append(got, fe.Field)
	}
	want := []string{"collection.concurrency", "clusters[0].source", "influx.bucket", "spool.path"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("fields = %v, want %v", got, want)
	}
	var fe *FieldError
	if !errors.As(c.Validate(), &fe) {
		t.Error("errors.As(*FieldError) failed on Validate's error")
	}
}
