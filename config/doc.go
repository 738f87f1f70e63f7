// Package config parses, defaults and validates headroom's YAML file:
// clusters, sink, alerting, policies and deploy environments. Errors name the
// offending field; secrets come only from the environment or files.
//
// It must never import a runtime package or open a connection.
package config
