package k8scheck

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/manifest"
)

// Problem is one thing Check found wrong with an object.
type Problem struct {
	File   string // where the object was read
	Line   int    // the line its document starts on
	Object string // as Object.String: "Deployment troupe/web"
	Msg    string
}

// String formats the problem as "file:line: Object: message".
func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Object, p.Msg)
}

// ManifestKey is the ConfigMap key that holds a troupe manifest; Check parses
// and lints every ConfigMap value under it.
const ManifestKey = "troupe.yaml"

// checker holds the bundle's objects indexed for the cross-object checks.
type checker struct {
	b         *Bundle
	problems  []Problem
	workloads []workload
	byKey     map[string]*Object      // "Kind namespace/name"
	apps      map[*Object]*troupe.App // parsed manifests by ConfigMap
}

// workload is a Deployment or StatefulSet reduced to what the checks need.
type workload struct {
	obj         *Object
	replicas    int32
	selector    *metav1.LabelSelector
	template    *corev1.PodTemplateSpec
	claims      []string // volumeClaimTemplates' names
	serviceName string   // a StatefulSet's governing Service
}

func (c *checker) addf(o *Object, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: o.File, Line: o.Line, Object: o.String(), Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) lookup(kind, namespace, name string) *Object {
	return c.byKey[Object{Kind: kind, Namespace: namespace, Name: name}.String()]
}

// Check returns every problem of the bundle's objects, alone and together,
// in the order of the objects; see the package documentation for the list.
// An empty result means the bundle passed.
func Check(b *Bundle) []Problem {
	c := &checker{b: b, byKey: map[string]*Object{}}
	for i := range b.Objects {
		o := &b.Objects[i]
		key := o.String()
		if first, dup := c.byKey[key]; dup {
			c.addf(o, "declared twice (first at %s:%d)", first.File, first.Line)
			continue
		}
		c.byKey[key] = o
		switch v := o.Value.(type) {
		case *appsv1.Deployment:
			c.workloads = append(c.workloads, workload{obj: o, replicas: replicas(v.Spec.Replicas), selector: v.Spec.Selector, template: &v.Spec.Template})
		case *appsv1.StatefulSet:
			w := workload{obj: o, replicas: replicas(v.Spec.Replicas), selector: v.Spec.Selector, template: &v.Spec.Template, serviceName: v.Spec.ServiceName}
			for _, t := range v.Spec.VolumeClaimTemplates {
				w.claims = append(w.claims, t.Name)
			}
			c.workloads = append(c.workloads, w)
		case *batchv1.Job:
			// A job's pods run to completion: no selector of its own
			// (Kubernetes makes one), no probes, no budget.
			c.workloads = append(c.workloads, workload{obj: o, replicas: 1, template: &v.Spec.Template})
		}
	}
	c.checkNames()
	if b.Kustomization != nil {
		c.checkImages()
	}
	for i := range c.workloads {
		c.checkWorkload(&c.workloads[i])
	}
	c.checkTroupe()
	for i := range b.Objects {
		o := &b.Objects[i]
		switch v := o.Value.(type) {
		case *corev1.Service:
			c.checkService(o, v)
		case *policyv1.PodDisruptionBudget:
			c.checkPDB(o, v)
		case *autoscalingv2.HorizontalPodAutoscaler:
			c.checkHPA(o, v)
		case *networkingv1.NetworkPolicy:
			c.checkNetworkPolicy(o, v)
		}
	}
	for i := range c.workloads {
		c.checkCoverage(&c.workloads[i])
	}
	sort.SliceStable(c.problems, func(i, j int) bool {
		a, b := c.problems[i], c.problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return c.problems
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// checkNames checks names and namespaces: valid DNS names, one namespace per
// bundle, declared if the bundle declares namespaces.
func (c *checker) checkNames() {
	namespaces := map[string]bool{}
	for _, o := range c.b.Objects {
		if o.Kind == "Namespace" {
			namespaces[o.Name] = true
		}
	}
	for i := range c.b.Objects {
		o := &c.b.Objects[i]
		check := validation.IsDNS1123Subdomain
		if o.Kind == "Service" || o.Kind == "Namespace" {
			check = validation.IsDNS1123Label
		}
		if o.Name == "" {
			c.addf(o, "metadata.name is empty")
		} else if errs := check(o.Name); len(errs) > 0 {
			c.addf(o, "metadata.name %q: %s", o.Name, strings.Join(errs, "; "))
		}
		if o.Kind == "Namespace" {
			if o.Namespace != "" {
				c.addf(o, "a Namespace has no metadata.namespace")
			}
			continue
		}
		switch {
		case o.Namespace == "":
			c.addf(o, "metadata.namespace is empty: say where it goes")
		case c.b.Kustomization != nil && c.b.Kustomization.Namespace != "" && o.Namespace != c.b.Kustomization.Namespace:
			c.addf(o, "namespace %q differs from the kustomization's %q", o.Namespace, c.b.Kustomization.Namespace)
		case len(namespaces) > 0 && !namespaces[o.Namespace]:
			c.addf(o, "namespace %q is not declared by a Namespace here", o.Namespace)
		}
	}
}

// checkImages checks that each image override of the kustomization names an
// image some container uses: otherwise the override silently does nothing.
func (c *checker) checkImages() {
	used := map[string]bool{}
	for _, w := range c.workloads {
		for _, ct := range allContainers(&w.template.Spec) {
			used[imageRepo(ct.Image)] = true
		}
	}
	for _, im := range c.b.Kustomization.Images {
		if !used[im.Name] {
			c.problems = append(c.problems, Problem{File: "kustomization.yaml", Object: "Kustomization", Msg: fmt.Sprintf("images: %q is used by no container", im.Name)})
		}
	}
}

func allContainers(ps *corev1.PodSpec) []*corev1.Container {
	var out []*corev1.Container
	for i := range ps.InitContainers {
		out = append(out, &ps.InitContainers[i])
	}
	for i := range ps.Containers {
		out = append(out, &ps.Containers[i])
	}
	return out
}

// imageRepo returns an image reference without its tag and digest.
func imageRepo(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	return image
}

// imageTag returns an image reference's tag and digest.
func imageTag(image string) (tag, digest string) {
	image, digest, _ = strings.Cut(image, "@")
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		tag = image[i+1:]
	}
	return tag, digest
}

// isTroupe reports whether a container runs troupe's own image.
func isTroupe(ct *corev1.Container) bool {
	repo := imageRepo(ct.Image)
	return repo == "troupe" || strings.HasSuffix(repo, "/troupe")
}

func (c *checker) checkWorkload(w *workload) {
	o := w.obj
	ps := &w.template.Spec
	switch {
	case o.Kind == "Job":
		if p := ps.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
			c.addf(o, "restartPolicy %q: a job's pods need Never or OnFailure", p)
		}
	case w.selector == nil:
		c.addf(o, "spec.selector is required")
	case len(w.selector.MatchLabels) == 0 && len(w.selector.MatchExpressions) == 0:
		c.addf(o, "spec.selector is empty: it would select every pod")
	default:
		sel, err := metav1.LabelSelectorAsSelector(w.selector)
		if err != nil {
			c.addf(o, "spec.selector: %v", err)
		} else if !sel.Matches(labels.Set(w.template.Labels)) {
			c.addf(o, "spec.selector %s does not match the pod template's labels %v", sel, w.template.Labels)
		}
	}
	if ps.ServiceAccountName != "" && ps.ServiceAccountName != "default" && c.lookup("ServiceAccount", o.Namespace, ps.ServiceAccountName) == nil {
		c.addf(o, "serviceAccountName %q: no such ServiceAccount", ps.ServiceAccountName)
	}
	if w.serviceName != "" {
		svc := c.lookup("Service", o.Namespace, w.serviceName)
		if svc == nil {
			c.addf(o, "serviceName %q: no such Service", w.serviceName)
		} else if s := svc.Value.(*corev1.Service); s.Spec.ClusterIP != corev1.ClusterIPNone {
			c.addf(o, "serviceName %q: the governing Service must be headless (clusterIP: None)", w.serviceName)
		}
	} else if o.Kind == "StatefulSet" {
		c.addf(o, "spec.serviceName is required (a headless Service gives each pod its DNS name)")
	}
	if len(ps.Containers) == 0 {
		c.addf(o, "the pod template has no containers")
	}
	c.checkVolumes(w)
	for _, ct := range allContainers(ps) {
		main := !slices.ContainsFunc(ps.InitContainers, func(ic corev1.Container) bool { return ic.Name == ct.Name })
		c.checkContainer(w, ct, main && o.Kind != "Job") // a job's containers need no probes
	}
	if o.Kind == "Deployment" && !spreads(w) {
		c.addf(o, "no topologySpreadConstraints or podAntiAffinity whose selector matches its own pods: all replicas may land on one node")
	}
}

// spreads reports whether the workload's pods are spread by a topology
// spread constraint or a pod anti-affinity term that selects them.
func spreads(w *workload) bool {
	own := labels.Set(w.template.Labels)
	matches := func(s *metav1.LabelSelector) bool {
		if s == nil {
			return false
		}
		sel, err := metav1.LabelSelectorAsSelector(s)
		return err == nil && !sel.Empty() && sel.Matches(own)
	}
	ps := &w.template.Spec
	for _, t := range ps.TopologySpreadConstraints {
		if matches(t.LabelSelector) {
			return true
		}
	}
	if a := ps.Affinity; a != nil && a.PodAntiAffinity != nil {
		for _, t := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			if matches(t.LabelSelector) {
				return true
			}
		}
		for _, t := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			if matches(t.PodAffinityTerm.LabelSelector) {
				return true
			}
		}
	}
	return false
}

// checkVolumes checks that the pod's ConfigMap and Secret volumes (also as
// sources of projected volumes) name objects and keys that exist.
func (c *checker) checkVolumes(w *workload) {
	o := w.obj
	for _, v := range w.template.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			var keys []string
			for _, it := range v.ConfigMap.Items {
				keys = append(keys, it.Key)
			}
			c.checkRef(o, "volume "+v.Name, "ConfigMap", v.ConfigMap.Name, keys, v.ConfigMap.Optional)
		case v.Secret != nil:
			var keys []string
			for _, it := range v.Secret.Items {
				keys = append(keys, it.Key)
			}
			c.checkRef(o, "volume "+v.Name, "Secret", v.Secret.SecretName, keys, v.Secret.Optional)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					var keys []string
					for _, it := range src.ConfigMap.Items {
						keys = append(keys, it.Key)
					}
					c.checkRef(o, "volume "+v.Name, "ConfigMap", src.ConfigMap.Name, keys, src.ConfigMap.Optional)
				}
				if src.Secret != nil {
					var keys []string
					for _, it := range src.Secret.Items {
						keys = append(keys, it.Key)
					}
					c.checkRef(o, "volume "+v.Name, "Secret", src.Secret.Name, keys, src.Secret.Optional)
				}
			}
		case v.PersistentVolumeClaim != nil:
			if c.lookup("PersistentVolumeClaim", o.Namespace, v.PersistentVolumeClaim.ClaimName) == nil {
				c.addf(o, "volume %s: no such PersistentVolumeClaim %q", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		}
	}
}

// checkRef checks that a ConfigMap or Secret exists and holds keys.
func (c *checker) checkRef(o *Object, where, kind, name string, keys []string, optional *bool) {
	if optional != nil && *optional {
		return
	}
	ref := c.lookup(kind, o.Namespace, name)
	if ref == nil {
		c.addf(o, "%s: no such %s %q", where, kind, name)
		return
	}
	have := objectKeys(ref)
	for _, k := range keys {
		if !have[k] {
			c.addf(o, "%s: %s %q has no key %q", where, kind, name, k)
		}
	}
}

func objectKeys(o *Object) map[string]bool {
	keys := map[string]bool{}
	switch v := o.Value.(type) {
	case *corev1.ConfigMap:
		for k := range v.Data {
			keys[k] = true
		}
		for k := range v.BinaryData {
			keys[k] = true
		}
	case *corev1.Secret:
		for k := range v.Data {
			keys[k] = true
		}
		for k := range v.StringData {
			keys[k] = true
		}
	}
	return keys
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func (c *checker) checkContainer(w *workload, ct *corev1.Container, main bool) {
	o := w.obj
	where := "container " + ct.Name
	if ct.Name == "" {
		c.addf(o, "a container has no name")
	}
	// The image: present and pinned.
	tag, digest := imageTag(ct.Image)
	switch {
	case ct.Image == "":
		c.addf(o, "%s: no image", where)
	case digest == "" && (tag == "" || tag == "latest"):
		c.addf(o, "%s: image %q is not pinned: give a version tag or a digest", where, ct.Image)
	}
	// Resources: requests and limits of CPU and memory.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := ct.Resources.Requests[r]
		lim, hasLim := ct.Resources.Limits[r]
		if !hasReq {
			c.addf(o, "%s: no %s request", where, r)
		}
		if !hasLim {
			c.addf(o, "%s: no %s limit", where, r)
		}
		if hasReq && hasLim && req.Cmp(lim) > 0 {
			c.addf(o, "%s: %s request %s is above its limit %s", where, r, req.String(), lim.String())
		}
	}
	c.checkSecurity(w, ct, where)
	// Environment: references to ConfigMaps and Secrets, and $(VAR) uses.
	defined := map[string]bool{}
	for _, e := range ct.Env {
		defined[e.Name] = true
		if e.ValueFrom == nil {
			continue
		}
		if r := e.ValueFrom.SecretKeyRef; r != nil {
			c.checkRef(o, where+" env "+e.Name, "Secret", r.Name, []string{r.Key}, r.Optional)
		}
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			c.checkRef(o, where+" env "+e.Name, "ConfigMap", r.Name, []string{r.Key}, r.Optional)
		}
	}
	for _, ef := range ct.EnvFrom {
		if r := ef.SecretRef; r != nil {
			c.checkRef(o, where+" envFrom", "Secret", r.Name, nil, r.Optional)
			if ref := c.lookup("Secret", o.Namespace, r.Name); ref != nil {
				for k := range objectKeys(ref) {
					defined[ef.Prefix+k] = true
				}
			}
		}
		if r := ef.ConfigMapRef; r != nil {
			c.checkRef(o, where+" envFrom", "ConfigMap", r.Name, nil, r.Optional)
			if ref := c.lookup("ConfigMap", o.Namespace, r.Name); ref != nil {
				for k := range objectKeys(ref) {
					defined[ef.Prefix+k] = true
				}
			}
		}
	}
	for _, arg := range slices.Concat(ct.Command, ct.Args) {
		for _, m := range varRef.FindAllStringSubmatch(arg, -1) {
			if !defined[m[1]] {
				c.addf(o, "%s: argument %q uses $(%s), which is not an environment variable of the container", where, arg, m[1])
			}
		}
	}
	// Volume mounts: each names a volume of the pod.
	vols := map[string]bool{}
	for _, v := range w.template.Spec.Volumes {
		vols[v.Name] = true
	}
	for _, n := range w.claims {
		vols[n] = true
	}
	for _, m := range ct.VolumeMounts {
		if !vols[m.Name] {
			c.addf(o, "%s: volumeMount %q at %s: no such volume", where, m.Name, m.MountPath)
		}
	}
	if !main {
		return
	}
	// Probes: both, each with a port the container has.
	c.checkProbe(o, ct, where, "livenessProbe", ct.LivenessProbe, "/healthz")
	c.checkProbe(o, ct, where, "readinessProbe", ct.ReadinessProbe, "/readyz")
	c.checkProbe(o, ct, where, "startupProbe", ct.StartupProbe, "")
}

func (c *checker) checkProbe(o *Object, ct *corev1.Container, where, which string, p *corev1.Probe, troupePath string) {
	if p == nil {
		if which != "startupProbe" {
			c.addf(o, "%s: no %s", where, which)
		}
		return
	}
	n := 0
	if p.Exec != nil {
		n++
		if len(p.Exec.Command) == 0 {
			c.addf(o, "%s: %s: exec without a command", where, which)
		}
	}
	if p.TCPSocket != nil {
		n++
		c.checkPort(o, ct, where+": "+which, p.TCPSocket.Port)
	}
	if p.GRPC != nil {
		n++
	}
	if p.HTTPGet != nil {
		n++
		c.checkPort(o, ct, where+": "+which, p.HTTPGet.Port)
		if isTroupe(ct) && troupePath != "" && p.HTTPGet.Path != troupePath {
			c.addf(o, "%s: %s: troupe's %s endpoint is %s, not %q", where, which, strings.TrimSuffix(which, "Probe"), troupePath, p.HTTPGet.Path)
		}
	}
	if n != 1 {
		c.addf(o, "%s: %s needs exactly one of exec, httpGet, tcpSocket, grpc; it has %d", where, which, n)
	}
}

// checkPort checks that a probe's port is one the container declares.
func (c *checker) checkPort(o *Object, ct *corev1.Container, where string, port intstr.IntOrString) {
	for _, p := range ct.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return
		}
	}
	c.addf(o, "%s: port %s is not a port of the container", where, port.String())
}

// checkSecurity checks the restricted Pod Security Standard's requirements,
// taking pod-level settings as the container's defaults.
func (c *checker) checkSecurity(w *workload, ct *corev1.Container, where string) {
	o := w.obj
	psc := w.template.Spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	sc := ct.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	nonRoot := psc.RunAsNonRoot
	if sc.RunAsNonRoot != nil {
		nonRoot = sc.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		c.addf(o, "%s: runAsNonRoot is not true", where)
	}
	uid := psc.RunAsUser
	if sc.RunAsUser != nil {
		uid = sc.RunAsUser
	}
	if uid != nil && *uid == 0 {
		c.addf(o, "%s: runAsUser is 0 (root)", where)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		c.addf(o, "%s: readOnlyRootFilesystem is not true", where)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		c.addf(o, "%s: allowPrivilegeEscalation is not false", where)
	}
	if sc.Privileged != nil && *sc.Privileged {
		c.addf(o, "%s: privileged", where)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		c.addf(o, "%s: capabilities do not drop ALL", where)
	} else if len(sc.Capabilities.Add) > 0 {
		c.addf(o, "%s: capabilities add %v", where, sc.Capabilities.Add)
	}
	seccomp := psc.SeccompProfile
	if sc.SeccompProfile != nil {
		seccomp = sc.SeccompProfile
	}
	if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
		c.addf(o, "%s: seccompProfile is not RuntimeDefault (or Localhost)", where)
	}
}

// selected returns the workloads in namespace whose pods sel matches.
func (c *checker) selected(namespace string, sel labels.Selector) []*workload {
	var out []*workload
	for i := range c.workloads {
		w := &c.workloads[i]
		if w.obj.Namespace == namespace && sel.Matches(labels.Set(w.template.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

func (c *checker) checkService(o *Object, s *corev1.Service) {
	if s.Spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	if len(s.Spec.Selector) == 0 {
		c.addf(o, "spec.selector is empty: the Service selects no pods")
		return
	}
	ws := c.selected(o.Namespace, labels.SelectorFromSet(s.Spec.Selector))
	if len(ws) == 0 {
		c.addf(o, "spec.selector %v matches the pods of no workload", s.Spec.Selector)
		return
	}
	if len(s.Spec.Ports) == 0 && s.Spec.ClusterIP != corev1.ClusterIPNone {
		c.addf(o, "no ports")
	}
	for _, p := range s.Spec.Ports {
		target := p.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(p.Port)
		}
		for _, w := range ws {
			if !hasPort(&w.template.Spec, target) {
				c.addf(o, "port %q: targetPort %s is not a container port of %s", p.Name, target.String(), w.obj)
			}
		}
	}
}

func hasPort(ps *corev1.PodSpec, port intstr.IntOrString) bool {
	for _, ct := range ps.Containers {
		for _, p := range ct.Ports {
			if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
				return true
			}
		}
	}
	return false
}

func (c *checker) checkPDB(o *Object, p *policyv1.PodDisruptionBudget) {
	if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
		c.addf(o, "set exactly one of minAvailable and maxUnavailable")
	}
	if p.Spec.Selector == nil {
		c.addf(o, "spec.selector is required")
		return
	}
	sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
	if err != nil {
		c.addf(o, "spec.selector: %v", err)
		return
	}
	if sel.Empty() {
		c.addf(o, "spec.selector is empty: it would cover every pod of the namespace")
		return
	}
	if len(c.selected(o.Namespace, sel)) == 0 {
		c.addf(o, "spec.selector %s matches the pods of no workload", sel)
	}
}

func (c *checker) checkHPA(o *Object, h *autoscalingv2.HorizontalPodAutoscaler) {
	ref := h.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || (ref.Kind != "Deployment" && ref.Kind != "StatefulSet") {
		c.addf(o, "scaleTargetRef %s %s: want apps/v1 Deployment or StatefulSet", ref.APIVersion, ref.Kind)
		return
	}
	target := c.lookup(ref.Kind, o.Namespace, ref.Name)
	if target == nil {
		c.addf(o, "scaleTargetRef: no such %s %q", ref.Kind, ref.Name)
		return
	}
	minR := int32(1)
	if h.Spec.MinReplicas != nil {
		minR = *h.Spec.MinReplicas
	}
	if minR < 1 || h.Spec.MaxReplicas < minR {
		c.addf(o, "want 1 <= minReplicas (%d) <= maxReplicas (%d)", minR, h.Spec.MaxReplicas)
	}
	if len(h.Spec.Metrics) == 0 {
		c.addf(o, "no metrics")
	}
	var w *workload
	for i := range c.workloads {
		if c.workloads[i].obj == target {
			w = &c.workloads[i]
		}
	}
	for _, m := range h.Spec.Metrics {
		if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil || m.Resource.Target.Type != autoscalingv2.UtilizationMetricType {
			continue
		}
		for _, ct := range w.template.Spec.Containers {
			if _, ok := ct.Resources.Requests[m.Resource.Name]; !ok {
				c.addf(o, "scales on %s utilization, but container %s of %s has no %s request to measure it against", m.Resource.Name, ct.Name, target, m.Resource.Name)
			}
		}
	}
}

// checkNetworkPolicy checks that a policy and each of its peers' pod
// selectors select pods of some workload (a policy that selects nothing
// protects nothing; a peer that selects nothing lets nobody in), and that its
// named ports exist on the pods it protects.
func (c *checker) checkNetworkPolicy(o *Object, p *networkingv1.NetworkPolicy) {
	sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
	if err != nil {
		c.addf(o, "spec.podSelector: %v", err)
		return
	}
	protected := c.selected(o.Namespace, sel)
	if len(protected) == 0 {
		c.addf(o, "spec.podSelector %s matches the pods of no workload", sel)
	}
	for i, rule := range p.Spec.Ingress {
		for j, peer := range rule.From {
			if peer.PodSelector == nil || peer.NamespaceSelector != nil {
				continue
			}
			ps, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
			if err != nil {
				c.addf(o, "ingress[%d].from[%d].podSelector: %v", i, j, err)
			} else if !ps.Empty() && len(c.selected(o.Namespace, ps)) == 0 {
				c.addf(o, "ingress[%d].from[%d].podSelector %s matches the pods of no workload", i, j, ps)
			}
		}
		for _, port := range rule.Ports {
			if port.Port == nil {
				continue
			}
			for _, w := range protected {
				if !hasPort(&w.template.Spec, *port.Port) {
					c.addf(o, "ingress[%d]: port %s is not a container port of %s", i, port.Port.String(), w.obj)
				}
			}
		}
	}
}

// checkCoverage checks what each Deployment needs around it: a
// PodDisruptionBudget that lets a node drain proceed, and an autoscaler.
func (c *checker) checkCoverage(w *workload) {
	o := w.obj
	if o.Kind != "Deployment" {
		return
	}
	minReplicas := w.replicas
	var hpa bool
	for _, obj := range c.b.Objects {
		h, ok := obj.Value.(*autoscalingv2.HorizontalPodAutoscaler)
		if !ok || obj.Namespace != o.Namespace || h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != o.Name {
			continue
		}
		hpa = true
		if h.Spec.MinReplicas != nil {
			minReplicas = *h.Spec.MinReplicas
		}
	}
	if !hpa {
		c.addf(o, "no HorizontalPodAutoscaler targets it")
	}
	var pdb bool
	for _, obj := range c.b.Objects {
		p, ok := obj.Value.(*policyv1.PodDisruptionBudget)
		if !ok || obj.Namespace != o.Namespace || p.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(w.template.Labels)) {
			continue
		}
		pdb = true
		if allowed := disruptionsAllowed(p, int(minReplicas)); allowed < 1 {
			c.addf(o, "%s allows no disruption at %d replicas: node drains would hang", obj, minReplicas)
		}
	}
	if !pdb {
		c.addf(o, "no PodDisruptionBudget covers its pods")
	}
}

// disruptionsAllowed returns how many of n healthy pods a budget lets go.
func disruptionsAllowed(p *policyv1.PodDisruptionBudget, n int) int {
	switch {
	case p.Spec.MaxUnavailable != nil:
		v, err := intstr.GetScaledValueFromIntOrPercent(p.Spec.MaxUnavailable, n, true)
		if err != nil {
			return 0
		}
		return v
	case p.Spec.MinAvailable != nil:
		v, err := intstr.GetScaledValueFromIntOrPercent(p.Spec.MinAvailable, n, true)
		if err != nil {
			return 0
		}
		return n - v
	}
	return 0
}

// checkTroupe checks the troupe manifests in ConfigMaps and the troupe
// containers that run them.
func (c *checker) checkTroupe() {
	for i := range c.b.Objects {
		o := &c.b.Objects[i]
		cm, ok := o.Value.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		if text, ok := cm.Data[ManifestKey]; ok {
			if _, err := c.manifest(o, cm, ManifestKey, text); err != nil {
				c.addf(o, "%s", err)
			}
		}
	}
	run := map[string]bool{}
	from := map[*troupe.App]*Object{} // the ConfigMap each manifest came from
	var apps []*troupe.App
	for i := range c.workloads {
		w := &c.workloads[i]
		for j := range w.template.Spec.Containers {
			ct := &w.template.Spec.Containers[j]
			if !isTroupe(ct) {
				continue
			}
			app, cm := c.containerManifest(w, ct)
			if app == nil {
				continue
			}
			if _, ok := from[app]; !ok {
				from[app] = cm
				apps = append(apps, app)
			}
			only := onlyFlags(ct.Args)
			if len(only) == 0 {
				for _, s := range app.Services {
					run[s.Name] = true
				}
			}
			for _, name := range only {
				run[name] = true
				if !slices.ContainsFunc(app.Services, func(s troupe.ServiceDecl) bool { return s.Name == name }) {
					c.addf(w.obj, "container %s: --only %s: the manifest declares no such service", ct.Name, name)
				}
			}
		}
	}
	for _, app := range apps {
		for _, s := range app.Services {
			if !run[s.Name] {
				c.addf(from[app], "service %q of the manifest is run by no troupe container", s.Name)
			}
		}
	}
}

// manifest parses and lints a troupe manifest held in a ConfigMap and
// remembers it for the containers that use it.
func (c *checker) manifest(o *Object, cm *corev1.ConfigMap, key, text string) (*troupe.App, error) {
	app, err := manifest.Parse(cm.Name+"/"+key, []byte(text))
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", key, err)
	}
	if ws := manifest.Lint(app); len(ws) > 0 {
		var msgs []string
		for _, w := range ws {
			msgs = append(msgs, fmt.Sprint(w))
		}
		return nil, fmt.Errorf("data %s: lint: %s", key, strings.Join(msgs, "; "))
	}
	if c.apps == nil {
		c.apps = map[*Object]*troupe.App{}
	}
	c.apps[o] = app
	return app, nil
}

// containerManifest returns the manifest a troupe container is given: the
// positional .yaml argument of "run", found in the ConfigMap volume mounted at
// its directory, and that ConfigMap. It reports a problem and returns nil
// when it cannot.
func (c *checker) containerManifest(w *workload, ct *corev1.Container) (*troupe.App, *Object) {
	args := slices.Concat(ct.Command, ct.Args)
	if !slices.Contains(args, "run") {
		return nil, nil
	}
	var file string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") && (strings.HasSuffix(a, ".yaml") || strings.HasSuffix(a, ".yml")) {
			file = a
		}
	}
	if file == "" {
		c.addf(w.obj, "container %s: troupe run without a manifest argument runs the built-in demo", ct.Name)
		return nil, nil
	}
	dir, base := path.Split(file)
	dir = path.Clean(dir)
	for _, m := range ct.VolumeMounts {
		if path.Clean(m.MountPath) != dir {
			continue
		}
		for _, v := range w.template.Spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			key := base
			for _, it := range v.ConfigMap.Items {
				if it.Path == base {
					key = it.Key
				}
			}
			ref := c.lookup("ConfigMap", w.obj.Namespace, v.ConfigMap.Name)
			if ref == nil {
				return nil, nil // reported by checkVolumes
			}
			if app := c.apps[ref]; app != nil && key == ManifestKey {
				return app, ref
			}
			text, ok := ref.Value.(*corev1.ConfigMap).Data[key]
			if !ok {
				c.addf(w.obj, "container %s: manifest %s: ConfigMap %q has no key %q", ct.Name, file, v.ConfigMap.Name, key)
				return nil, nil
			}
			app, err := c.manifest(ref, ref.Value.(*corev1.ConfigMap), key, text)
			if err != nil {
				return nil, nil // reported with the ConfigMap when the key is troupe.yaml
			}
			return app, ref
		}
	}
	c.addf(w.obj, "container %s: manifest %s is not in a ConfigMap volume mounted at %s", ct.Name, file, dir)
	return nil, nil
}

// onlyFlags returns the service names of troupe run's --only flags
// ("--only=a,b", "-only a").
func onlyFlags(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(strings.TrimPrefix(args[i], "-"), "-")
		if a == args[i] {
			continue
		}
		var v string
		switch {
		case strings.HasPrefix(a, "only="):
			v = strings.TrimPrefix(a, "only=")
		case a == "only" && i+1 < len(args):
			i++
			v = args[i]
		default:
			continue
		}
		for n := range strings.SplitSeq(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}
