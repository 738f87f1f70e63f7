// Package influx drains the spool into InfluxDB with influxdb-client-go/v2:
// 1.8 through its /api/v2 compatibility endpoints (token "user:password",
// bucket "database/retention-policy") and 2.x/3.x (org, bucket, token).
// Write errors are sorted the way Telegraf's InfluxDB output sorts them:
// dropped and counted on 400/422, fatal on 401/403, retried with backoff that
// honours Retry-After on 429/5xx and network errors, split on 413.
//
// It must never know about Kubernetes.
package influx
