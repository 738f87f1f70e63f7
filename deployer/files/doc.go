// Package files reads an app's deploy files from the deploy-files
// repository, as the old k8sdeploy and k8sconfig scripts did, but strictly:
// APP-rc.yaml (the workload template) and APP-svc.yaml (its Service), whose
// ${NAME} placeholders take their values from ENV.resources, and
// ENV.properties, the app's configuration, which becomes the ConfigMap
// named config. Every problem is an error naming its file and line; nothing
// is guessed.
//
// It reads and writes files only; it never talks to a cluster.
package files
