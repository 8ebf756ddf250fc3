package k8scheck

import (
	"strings"
	"testing"
)

const job = `apiVersion: batch/v1
kind: Job
metadata: {name: setup, namespace: demo}
spec:
  template:
    spec:
      restartPolicy: RESTART
      securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: setup
          image: example/setup:v1
          resources: {requests: {cpu: 10m, memory: 10Mi}, limits: {cpu: 100m, memory: 100Mi}}
          securityContext:
            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
`

// TestJob: a job's pods are checked as any workload's (security, resources,
// image) but need no selector, probes or budget, and must not restart for
// ever.
func TestJob(t *testing.T) {
	for _, tt := range []struct {
		policy, want string
	}{
		{"OnFailure", ""},
		{"Never", ""},
		{"Always", `restartPolicy "Always": a job's pods need Never or OnFailure`},
	} {
		objs, err := Decode("job.yaml", []byte(strings.Replace(job, "RESTART", tt.policy, 1)))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range Check(&Bundle{Objects: objs}) {
			got = append(got, p.Msg)
		}
		if tt.want == "" && len(got) != 0 || tt.want != "" && (len(got) != 1 || got[0] != tt.want) {
			t.Errorf("restartPolicy %s: problems %q, want %q", tt.policy, got, tt.want)
		}
	}
}
