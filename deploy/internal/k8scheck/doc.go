// Package k8scheck checks Kubernetes manifests offline: every document
// decoded strictly into the official API type its apiVersion and kind name,
// then checked as a whole for the mistakes a schema cannot see.
//
// Decode splits a YAML file into documents and decodes each one into the Go
// type of k8s.io/api that the API server would use (a Deployment into
// apps/v1.Deployment, and so on), with the API server's JSON rules
// (sigs.k8s.io/json: field names are case-sensitive). Decoding is strict, as
// kubectl's server-side field validation is: an unknown field (a typo such as
// "readinesProbe" or "readOnlyRootFileSystem"), a duplicate key, a value of
// the wrong type or a malformed quantity is an error, as is an apiVersion and
// kind that the check does not know, such as a removed beta version.
//
// Load reads a kustomization.yaml and decodes every resource it lists,
// reporting files that are listed but missing or present but not listed; a
// configMapGenerator becomes the ConfigMap it would generate.
//
// Check looks at the objects together and returns every Problem it finds:
//
//   - workloads: selectors that match their pod template; liveness and
//     readiness probes on every container (/healthz and /readyz for troupe's
//     own image) whose ports exist; CPU and memory requests and limits; a
//     restricted security context (non-root, read-only root file system, no
//     privilege escalation, all capabilities dropped, RuntimeDefault
//     seccomp); pinned image tags; volume mounts, ConfigMaps, Secrets and
//     keys that exist; $(VAR) references to defined variables;
//   - Jobs: as workloads, but without selectors, probes or budgets, and with
//     a restartPolicy of Never or OnFailure;
//   - Deployments: spread over nodes (topology spread or pod anti-affinity), a
//     PodDisruptionBudget that allows a disruption, a HorizontalPodAutoscaler;
//   - Services, PodDisruptionBudgets, HorizontalPodAutoscalers and
//     NetworkPolicies that select or target workloads that exist, with ports
//     that exist;
//   - troupe: every ConfigMap key troupe.yaml parses with package manifest and
//     lints clean, every service a troupe container runs with --only is
//     declared in the manifest it is given, and every service of that
//     manifest is run by some container.
//
// The check needs no cluster and no network, so tests can run it: see
// deploy/k8s.
package k8scheck
