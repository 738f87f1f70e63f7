// Package report writes the daily capacity report: per cluster, the top
// apps by requests and by use, the headroom left per node pool, and the
// forecast ETAs. It formats; it never fetches or sends (headroomd's
// scheduler gathers the data and delivers the Markdown).
package report
