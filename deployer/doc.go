// Package deployer rolls an app out to one datacenter after another: it
// reads the deploy-files repository (properties, resources, templates),
// applies with server-side apply, waits like `kubectl rollout status`, rolls
// back a failed cluster and writes the deployed image back.
//
// It asks package capacity before each cluster; it must never decide
// capacity itself.
package deployer
