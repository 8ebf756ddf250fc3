package k8s_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/troupe-go/troupe/natsbus"
)

// secretsOf returns the Secrets a pod can read: those it mounts, whole or
// projected, and those its containers' environment names.
func secretsOf(ps *corev1.PodSpec) []string {
	var out []string
	for _, v := range ps.Volumes {
		if v.Secret != nil {
			out = append(out, v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					out = append(out, src.Secret.Name)
				}
			}
		}
	}
	for _, ct := range append(slices.Clone(ps.InitContainers), ps.Containers...) {
		for _, e := range ct.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				out = append(out, e.ValueFrom.SecretKeyRef.Name)
			}
		}
		for _, ef := range ct.EnvFrom {
			if ef.SecretRef != nil {
				out = append(out, ef.SecretRef.Name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestEachPodHasOnlyItsOwnCredential: every troupe pod can read the NATS
// credential of the services it runs (--only) and of no other service; only
// the streams job reads the admin's; only the NATS servers read the public
// keys and the routes' password.
func TestEachPodHasOnlyItsOwnCredential(t *testing.T) {
	b, _ := bundle(t)
	seen := 0
	for _, o := range b.Objects {
		var ps *corev1.PodSpec
		switch v := o.Value.(type) {
		case *appsv1.Deployment:
			ps = &v.Spec.Template.Spec
		case *appsv1.StatefulSet:
			ps = &v.Spec.Template.Spec
		case *batchv1.Job:
			ps = &v.Spec.Template.Spec
		default:
			continue
		}
		var want []string
		troupe := false
		for _, ct := range ps.Containers {
			if !strings.Contains(ct.Image, "troupe-go/troupe") {
				continue
			}
			troupe = true
			if slices.Contains(ct.Args, "provision") {
				want = append(want, secretOf(natsbus.AdminUser))
			}
			for _, name := range onlyOf(ct.Args) {
				want = append(want, secretOf(name))
			}
		}
		var got []string
		for _, s := range secretsOf(ps) {
			if strings.HasPrefix(s, "troupe-nats-") || s == "nats" {
				got = append(got, s)
			}
		}
		if o.Kind == "StatefulSet" && o.Name == "nats" {
			want = []string{"nats"}
		} else if !troupe {
			want = nil
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s reads the NATS Secrets %v, want %v", o, got, want)
		}
		if troupe {
			seen++
		}
	}
	if seen != 4 {
		t.Errorf("%d troupe pods checked, want 4 (gateway, web, todo, the streams job)", seen)
	}
}

// onlyOf returns the services of a troupe run's --only flag.
func onlyOf(args []string) []string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--only="); ok {
			return strings.Split(v, ",")
		}
	}
	return nil
}
