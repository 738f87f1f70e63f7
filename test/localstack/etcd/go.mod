// Module etcdbuild builds etcd for the local stack. go install cannot build
// go.etcd.io/etcd/server/v3 at a version (its go.mod has replace directives),
// so it is built from this module instead.
module headroom.local/etcdbuild

go 1.26.0

require go.etcd.io/etcd/server/v3 v3.6.16
