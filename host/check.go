package host

import (
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/service"
)

// plan decides what the node runs and checks the registrations against the
// manifest, so that a mismatch fails Start before anything runs.
func (n *Node) plan() (plan, error) {
	var p plan
	regs := map[string]Service{}
	for _, r := range n.cfg.Services {
		switch {
		case r.Name == "":
			return p, fmt.Errorf("host: a registered service has no Name")
		case r.New == nil:
			return p, fmt.Errorf("host: registered service %q has no New function", r.Name)
		case regs[r.Name].Name != "":
			return p, fmt.Errorf("host: service %q is registered twice", r.Name)
		}
		regs[r.Name] = r
	}
	declared := func() string {
		var names []string
		for _, d := range n.cfg.App.Services {
			names = append(names, d.Name)
		}
		return list(names)
	}
	for name := range regs {
		if n.cfg.App.Service(name) == nil {
			return p, fmt.Errorf("host: this binary registers service %q, but %s declares no such service (it declares %s); add it to the manifest or drop the registration",
				name, n.manifestName(), declared())
		}
	}
	only := map[string]bool{}
	for _, name := range n.cfg.Only {
		if name != troupe.GatewayService && n.cfg.App.Service(name) == nil {
			return p, fmt.Errorf("host: -only %q: %s declares no such service (it declares %s)", name, n.manifestName(), declared())
		}
		only[name] = true
	}
	selected := func(name string) bool { return len(only) == 0 || only[name] }
	p.gateway = selected(troupe.GatewayService)
	for _, decl := range n.cfg.App.Services {
		if decl.Name == troupe.GatewayService || !selected(decl.Name) {
			continue
		}
		if len(decl.Command) > 0 {
			if n.cfg.InProc {
				return p, fmt.Errorf("host: service %q runs a command, which needs NATS; drop -inproc (or run the service elsewhere with -only)", decl.Name)
			}
			if err := findCommand(decl.Command[0]); err != nil {
				return p, fmt.Errorf("host: service %q: %s gives the command %q: %w", decl.Name, n.manifestName(), decl.Command[0], err)
			}
			p.commands = append(p.commands, decl)
			continue
		}
		reg, ok := regs[decl.Name]
		if !ok {
			return p, fmt.Errorf("host: %s declares service %q, but this binary registers no constructor for it (it registers %s); register it in main (host.Program.Services), give it a command in the manifest, or run it elsewhere (-only)",
				n.manifestName(), decl.Name, list(slices.Sorted(maps.Keys(regs))))
		}
		p.services = append(p.services, planned{decl: decl, reg: reg})
	}
	return p, nil
}

// manifestName names the manifest in errors.
func (n *Node) manifestName() string {
	if n.cfg.ManifestFile != "" {
		return "the manifest " + n.cfg.ManifestFile
	}
	return fmt.Sprintf("the manifest of app %q", n.cfg.App.Name)
}

// findCommand checks that a command can be started: a path that exists and
// is executable, or a name on $PATH.
func findCommand(name string) error {
	_, err := exec.LookPath(name)
	return err
}

// checkHandlers refuses a service that handles a name its declaration does
// not receive (after the manifest's translations): its messages would never
// be routed to it. The service's own Check (typed endpoints against the
// manifest's schemas and replies) runs in Start.
func checkHandlers(app *troupe.App, decl troupe.ServiceDecl, s *service.Service) error {
	for _, local := range s.Handles() {
		if name := decl.AppName(local); !slices.Contains(decl.Receives, name) {
			return fmt.Errorf("host: service %q has a handler for %q, but the manifest of app %q does not say it receives it (it receives %s); add %q to its receives",
				decl.Name, name, app.Name, list(decl.Receives), name)
		}
	}
	return nil
}

// unhandled returns the names decl receives that s has no handler for.
func unhandled(decl troupe.ServiceDecl, s *service.Service) []string {
	handles := s.Handles()
	var out []string
	for _, name := range decl.Receives {
		if !slices.Contains(handles, decl.LocalName(name)) {
			out = append(out, name)
		}
	}
	return out
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
