// Package ui is headroomd's capacity page: static HTML, CSS and JavaScript
// embedded in the binary (no CDN, nothing fetched from elsewhere), drawn in
// the browser from headroomd's read API (/api/v1/clusters, /series, /top,
// /checks). It holds no state and reads nothing itself.
package ui
