package schema

import "slices"

// Quick reports whether v has a quick reading and, if so, whether its
// walk of payload's bytes accepts it.
func (v *Validator) Quick(payload []byte) (read, ok bool) {
	if v.quick == nil {
		return false, false
	}
	return true, v.quick.okJSON(payload)
}

// Library validates payload with the library alone.
func (v *Validator) Library(payload []byte) error {
	doc, err := decodeDoc(payload)
	if err != nil {
		return err
	}
	return v.sch.Validate(doc)
}

// Names returns the names of the messages with a validator, sorted.
func (s *Set) Names() []string {
	var names []string
	for name := range s.byName {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
