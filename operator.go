package troupe

import (
	"fmt"
	"slices"
)

// OperatorService is the bus identity of the operator's tools (troupe send,
// tap, top). Every node declares it beside the manifest's services with
// WithOperator: it may send every name some service receives and receives
// nothing. A manifest may not declare a service of this name.
const OperatorService = "troupe-cli"

// WithOperator returns a copy of a with OperatorService declared, allowed to
// send every name that some service receives. a itself is not changed. It is
// an error for a to declare OperatorService itself.
func (a *App) WithOperator() (*App, error) {
	if a.Service(OperatorService) != nil {
		return nil, fmt.Errorf("the manifest declares %q, a name troupe reserves for its operator tools", OperatorService)
	}
	var sends []string
	for _, s := range a.Services {
		for _, name := range s.Receives {
			if !slices.Contains(sends, name) {
				sends = append(sends, name)
			}
		}
	}
	slices.Sort(sends)
	out := *a
	out.Services = append(slices.Clone(a.Services), ServiceDecl{Name: OperatorService, Sends: sends})
	return &out, nil
}
