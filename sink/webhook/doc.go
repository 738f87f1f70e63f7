// Package webhook posts JSON to a webhook: the capacity report (headroomd)
// and the deploy summary (headroom deploy). A webhook URL often holds its
// secret (Slack's and Teams' do), so no error this package returns names
// the URL.
package webhook
