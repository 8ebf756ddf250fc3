package k8scheck

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Kustomization is the part of kustomization.yaml that a troupe deployment
// uses. Load decodes it strictly, so a field outside this part is an error
// here, not a silent omission.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
	Images     []Image  `json:"images,omitempty"`

	ConfigMapGenerator []Generator `json:"configMapGenerator,omitempty"`
}

// Generator is a configMapGenerator entry: a ConfigMap made from files of
// the kustomization's directory (key = file name, or "key=file") and
// literals ("key=value"). Kustomize appends a hash of the content to the
// name and rewrites the references to it, so that a change rolls the pods
// that use it; the check treats it as a ConfigMap of the given name.
type Generator struct {
	Name     string   `json:"name"`
	Files    []string `json:"files,omitempty"`
	Literals []string `json:"literals,omitempty"`
}

// Image is an image override of a kustomization.
type Image struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// Bundle is a set of objects checked together, with the kustomization that
// lists them when they were read by Load.
type Bundle struct {
	Kustomization *Kustomization
	Objects       []Object
}

// Load reads kustomization.yaml at the root of fsys and decodes every
// resource it lists, in order. Every YAML file at the root must be listed
// (a file left out would be silently not deployed), and every listed
// resource must be a local file. Load returns every problem it finds.
func Load(fsys fs.FS) (*Bundle, error) {
	data, err := fs.ReadFile(fsys, "kustomization.yaml")
	if err != nil {
		return nil, fmt.Errorf("k8scheck: %w", err)
	}
	var k Kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		return nil, fmt.Errorf("k8scheck: kustomization.yaml: %w", err)
	}
	var errs []error
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		errs = append(errs, fmt.Errorf("k8scheck: kustomization.yaml: apiVersion %q kind %q, want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind))
	}
	b := &Bundle{Kustomization: &k}
	for _, r := range k.Resources {
		if !fs.ValidPath(r) || strings.Contains(r, "://") || path.Ext(r) != ".yaml" {
			errs = append(errs, fmt.Errorf("k8scheck: kustomization.yaml: resource %q: want a .yaml file in this directory", r))
			continue
		}
		data, err := fs.ReadFile(fsys, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("k8scheck: kustomization.yaml: resource %q: %w", r, err))
			continue
		}
		objs, err := Decode(r, data)
		errs = append(errs, err)
		b.Objects = append(b.Objects, objs...)
	}
	for _, g := range k.ConfigMapGenerator {
		cm, err := generate(fsys, k.Namespace, g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b.Objects = append(b.Objects, Object{File: "kustomization.yaml", APIVersion: "v1", Kind: "ConfigMap", Namespace: cm.Namespace, Name: cm.Name, Value: cm})
	}
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("k8scheck: %w", err)
	}
	for _, f := range files {
		if f != "kustomization.yaml" && !slices.Contains(k.Resources, f) {
			errs = append(errs, fmt.Errorf("k8scheck: %s is not listed in kustomization.yaml's resources", f))
		}
	}
	return b, errors.Join(errs...)
}

// generate makes the ConfigMap of a configMapGenerator entry.
func generate(fsys fs.FS, namespace string, g Generator) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{Data: map[string]string{}}
	cm.APIVersion, cm.Kind = "v1", "ConfigMap"
	cm.Name, cm.Namespace = g.Name, namespace
	var errs []error
	for _, f := range g.Files {
		key, file, ok := strings.Cut(f, "=")
		if !ok {
			key, file = path.Base(f), f
		}
		if !fs.ValidPath(file) {
			errs = append(errs, fmt.Errorf("k8scheck: kustomization.yaml: configMapGenerator %s: file %q: want a file in this directory", g.Name, file))
			continue
		}
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			errs = append(errs, fmt.Errorf("k8scheck: kustomization.yaml: configMapGenerator %s: %w", g.Name, err))
			continue
		}
		cm.Data[key] = string(data)
	}
	for _, l := range g.Literals {
		key, value, ok := strings.Cut(l, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("k8scheck: kustomization.yaml: configMapGenerator %s: literal %q: want key=value", g.Name, l))
			continue
		}
		cm.Data[key] = value
	}
	return cm, errors.Join(errs...)
}
