package k8scheck_test

import (
	"fmt"

	"github.com/troupe-go/troupe/deploy/internal/k8scheck"
)

func ExampleDecode() {
	_, err := k8scheck.Decode("web.yaml", []byte(`apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  selector: {app: web}
  ports:
    - port: 80
      targetPort: http
      protcol: TCP
`))
	fmt.Println(err)
	// Output:
	// k8scheck: web.yaml:1: Service: unknown field "spec.ports[0].protcol"
}

func ExampleCheck() {
	objs, err := k8scheck.Decode("app.yaml", []byte(`apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  selector: {app: web}
  ports:
    - port: 80
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: demo
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 4
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range k8scheck.Check(&k8scheck.Bundle{Objects: objs}) {
		fmt.Println(p)
	}
	// Output:
	// app.yaml:1: Service demo/web: spec.selector map[app:web] matches the pods of no workload
	// app.yaml:11: HorizontalPodAutoscaler demo/web: scaleTargetRef: no such Deployment "web"
}
