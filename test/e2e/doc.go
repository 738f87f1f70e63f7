// Package e2e holds end-to-end tests that run against the local stack
// (test/localstack): real kube-apiservers, schedulers, kwok nodes,
// metrics-server, InfluxDB and Alertmanager on 127.0.0.1.
package e2e
