// Package k8s holds the Kubernetes manifests of the troupe demo application
// (hello, and the todo app's web and todo services) as files for kubectl and
// as an embedded file system for tools and tests:
//
//	kubectl apply -k deploy/k8s
//
// kustomization.yaml lists the resources, all in the namespace troupe:
//
//   - namespace.yaml: the namespace, with the restricted Pod Security
//     Standard enforced, and the pods' ServiceAccount;
//   - secret.yaml: placeholders for the PostgreSQL and store secrets, one
//     Secret per NATS user holding that user's nkey seed alone, and the NATS
//     servers' Secret with every user's public key;
//   - config.yaml: the application's troupe.yaml;
//   - nats.yaml: a three-server NATS cluster with JetStream on persistent
//     volumes; nats-auth.conf, generated from troupe.yaml by this package's
//     tests with -update, gives it one nkey user per service with exactly
//     that service's permissions;
//   - streams.yaml: a Job that creates the JetStream streams and consumers
//     with the admin's credential (troupe provision);
//   - postgres.yaml: PostgreSQL on a persistent volume;
//   - gateway.yaml, web.yaml, todo.yaml: one Deployment per service, run with
//     troupe run --only, each with its Service, PodDisruptionBudget and
//     HorizontalPodAutoscaler, mounting the NATS credential of its own
//     services and no other's, its metrics on the admin port 9090;
//   - networkpolicy.yaml: who may connect to NATS and PostgreSQL.
//
// The tests of this package check every manifest offline against the
// Kubernetes API types and the rules of internal/k8scheck, keep the list of
// objects in testdata/objects.golden, parse the NATS configuration with
// nats-server's own parser, check the repository's Dockerfile and
// .dockerignore, build the binary as the Dockerfile does (static, stamped)
// and run it with the Job's and each Deployment's arguments and Secrets
// against a nats-server configured as the cluster's and a real PostgreSQL.
// docs/operations.md ("Kubernetes") explains how to deploy.
package k8s

import "embed"

// Files holds kustomization.yaml and the files it lists.
//
//go:embed *.yaml *.conf
var Files embed.FS
