// Package manifest reads troupe.yaml, the declaration of a troupe
// application, into a [troupe.App], and lints it.
//
// A manifest names the application, its services (what each sends, receives
// and receives durably, how many instances run, and an optional command line
// for services that run as OS processes) and the gateway's routes; the format
// is specified in docs/manifest.md:
//
//	app: demo
//	services:
//	  hello:
//	    receives: [Hello]
//	gateway:
//	  routes:
//	    - path: /
//	      types: [Hello]
//
// A manifest may also describe each message (its payload's JSON Schema,
// inline or in a file, its replies and its meaning), share schemas, and
// translate a generic service's names into the application's.
//
// [Load] reads a file, [ParseFS] a file in an fs.FS (both read schema
// files), and [Parse] reads bytes. Both check everything they
// can and return every problem at once, as an [Errors] whose items carry the
// file, line and column:
//
//	troupe.yaml:4:5: service name "Hello" may hold only lower-case letters, digits and '-'
//
// A valid manifest can still be suspicious: [Lint] reports messages that some
// service sends and no service receives, and the reverse, at the places the
// manifest names them (`troupe lint`, in package host, prints them).
//
// [Compare] and [Breaking] report the changes between two versions of an
// application, and which of them break its clients (`troupe lint -against`).
//
// The gateway joins the bus as the service [troupe.GatewayService]. Unless
// the manifest declares that service itself, Parse adds it, sending exactly
// the messages of the routes.
package manifest
