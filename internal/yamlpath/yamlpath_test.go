package yamlpath

import "testing"

func TestLine(t *testing.T) {
	doc := []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
spec:
  replica: 3
  template:
    spec:
      containers:
      - name: web
        image: web:1
      - name: sidecar
        imagePullPolicyy: Always
`)
	for _, tt := range []struct {
		path  string
		line  int
		found bool
	}{
		{"spec.replica", 8, true},
		{"metadata.labels", 5, true},
		{"metadata.labels.app.kubernetes.io/name", 6, true},
		{"spec.template.spec.containers[0].image", 13, true},
		{"spec.template.spec.containers[1].imagePullPolicyy", 15, true},
		{"spec.template.spec.containers[1]", 14, true},
		{"spec.selector", 7, false},
		{"spec.template.spec.containers[5].image", 11, false},
		{"nothing", 0, false},
	} {
		line, found := Line(doc, tt.path)
		if line != tt.line || found != tt.found {
			t.Errorf("%s: line %d found %v, want %d %v", tt.path, line, found, tt.line, tt.found)
		}
	}
	if line, found := Line([]byte("a: [unclosed"), "a"); line != 0 || found {
		t.Error("bad YAML gave a line")
	}
}
