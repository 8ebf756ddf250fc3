package k8scheck

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

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
