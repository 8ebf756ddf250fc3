package k8scheck

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// MaxSize is the largest manifest file Decode reads.
const MaxSize = 4 << 20

// Object is one Kubernetes object read from a manifest.
type Object struct {
	File string // the file name given to Decode
	Line int    // the line of the file the object's document starts on

	APIVersion string
	Kind       string
	Namespace  string
	Name       string

	// Value is a pointer to the object's k8s.io/api type, such as
	// *appsv1.Deployment.
	Value any
}

// String names the object as "Kind namespace/name" (or "Kind name" for an
// object without a namespace).
func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// types maps "apiVersion kind" to a constructor of the API type. It holds the
// kinds a troupe deployment uses; anything else is refused, so that a typo'd
// or removed apiVersion cannot pass unchecked.
var types = map[string]func() any{
	"v1 Namespace":                           func() any { return new(corev1.Namespace) },
	"v1 ServiceAccount":                      func() any { return new(corev1.ServiceAccount) },
	"v1 ConfigMap":                           func() any { return new(corev1.ConfigMap) },
	"v1 Secret":                              func() any { return new(corev1.Secret) },
	"v1 Service":                             func() any { return new(corev1.Service) },
	"v1 PersistentVolumeClaim":               func() any { return new(corev1.PersistentVolumeClaim) },
	"apps/v1 Deployment":                     func() any { return new(appsv1.Deployment) },
	"apps/v1 StatefulSet":                    func() any { return new(appsv1.StatefulSet) },
	"batch/v1 Job":                           func() any { return new(batchv1.Job) },
	"policy/v1 PodDisruptionBudget":          func() any { return new(policyv1.PodDisruptionBudget) },
	"autoscaling/v2 HorizontalPodAutoscaler": func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"networking.k8s.io/v1 NetworkPolicy":     func() any { return new(networkingv1.NetworkPolicy) },
	"networking.k8s.io/v1 Ingress":           func() any { return new(networkingv1.Ingress) },
}

// Kinds returns the "apiVersion kind" pairs Decode knows.
func Kinds() []string {
	out := make([]string, 0, len(types))
	for k := range types {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// document is one YAML document of a file and the line it starts on.
type document struct {
	line int
	data []byte
}

// splitDocuments splits a YAML stream at its "---" lines. Documents holding
// only comments and blank lines are dropped.
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine := 0, 1
	line := 1
	flush := func(end int) {
		d := data[start:end]
		if !onlyComments(d) {
			docs = append(docs, document{line: startLine, data: d})
		}
	}
	for i := 0; i <= len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		var l []byte
		next := len(data) + 1
		if j >= 0 {
			l = data[i : i+j]
			next = i + j + 1
		} else {
			l = data[i:]
		}
		if isSeparator(l) {
			flush(i)
			start, startLine = min(next, len(data)), line+1
		}
		line++
		i = next
	}
	flush(len(data))
	return docs
}

func isSeparator(l []byte) bool {
	l = bytes.TrimRight(l, " \t\r")
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	rest := l[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '#'
}

func onlyComments(d []byte) bool {
	for _, l := range bytes.Split(d, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' {
			return false
		}
	}
	return true
}

// Decode reads the Kubernetes objects of one YAML file, strictly: see the
// package documentation. It returns the objects it could decode and an error
// naming every document it could not (file, line, what is wrong).
func Decode(file string, data []byte) ([]Object, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("k8scheck: %s: %d bytes, more than %d", file, len(data), MaxSize)
	}
	var objs []Object
	var errs []error
	for _, d := range splitDocuments(data) {
		o, err := decodeDocument(d.data)
		if err != nil {
			errs = append(errs, fmt.Errorf("k8scheck: %s:%d: %w", file, d.line, err))
			continue
		}
		o.File, o.Line = file, d.line
		objs = append(objs, o)
	}
	return objs, errors.Join(errs...)
}

func decodeDocument(data []byte) (Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return Object{}, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return Object{}, errors.New("not a Kubernetes object: apiVersion and kind are required")
	}
	newValue, ok := types[tm.APIVersion+" "+tm.Kind]
	if !ok {
		return Object{}, fmt.Errorf("apiVersion %q kind %q is not a known API type (known: %s)", tm.APIVersion, tm.Kind, strings.Join(Kinds(), ", "))
	}
	// Decode as the API server does: YAML to JSON, then JSON into the type
	// with field names matched case-sensitively (encoding/json alone would
	// take "readOnlyRootFileSystem" for readOnlyRootFilesystem).
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return Object{}, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	v := newValue()
	strict, err := sigsjson.UnmarshalStrict(j, v)
	if err != nil {
		return Object{}, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return Object{}, fmt.Errorf("%s: %s", tm.Kind, strings.Join(msgs, "; "))
	}
	meta := v.(metav1.Object)
	return Object{
		APIVersion: tm.APIVersion,
		Kind:       tm.Kind,
		Namespace:  meta.GetNamespace(),
		Name:       meta.GetName(),
		Value:      v,
	}, nil
}
