package actor

import (
	"fmt"
	"strings"
)

// frameworkPrefix is the import path of troupe's own packages; its examples
// are a program's code like any user's.
const (
	frameworkPrefix = "github.com/troupe-go/troupe"
	examplesPrefix  = "github.com/troupe-go/troupe/examples/"
)

// FoldStack rewrites a goroutine stack as runtime/debug.Stack prints it so
// that a person finds the cause at once: the frames that led to the panic
// (the recovery's own frames above it are dropped), the program's frames
// first, in their order, and then one line that names the frames of troupe
// itself and of the Go runtime that were folded away. A stack without any
// frame of the program (a panic inside troupe) is kept whole below the
// panic. Test files count as the program's.
func FoldStack(stack string) string {
	header, frames := parseStack(stack)
	if len(frames) == 0 {
		return stack
	}
	// Drop what ran after the panic: debug.Stack, the crash report, the
	// deferred recovery, the runtime's panic.
	for i := len(frames) - 1; i >= 0; i-- {
		if strings.HasPrefix(frames[i].fn, "panic(") {
			frames = frames[i+1:]
			break
		}
	}
	var user, folded []frame
	for _, f := range frames {
		if f.framework() {
			folded = append(folded, f)
		} else {
			user = append(user, f)
		}
	}
	var b strings.Builder
	if header != "" {
		b.WriteString(header)
		b.WriteByte('\n')
	}
	if len(user) == 0 {
		for _, f := range frames {
			f.write(&b)
		}
		return strings.TrimRight(b.String(), "\n")
	}
	for _, f := range user {
		f.write(&b)
	}
	if len(folded) > 0 {
		names := make([]string, 0, 4)
		for _, f := range folded {
			if len(names) == cap(names) {
				names = append(names, "…")
				break
			}
			names = append(names, f.short())
		}
		noun := "frames"
		if len(folded) == 1 {
			noun = "frame"
		}
		fmt.Fprintf(&b, "… %d %s of troupe and the Go runtime folded: %s\n", len(folded), noun, strings.Join(names, ", "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// frame is one call of a printed stack: its function line and its file line.
type frame struct {
	fn, file string
}

func (f frame) write(b *strings.Builder) {
	b.WriteString(f.fn)
	b.WriteByte('\n')
	if f.file != "" {
		b.WriteString(f.file)
		b.WriteByte('\n')
	}
}

// framework reports whether f is troupe's or the Go runtime's.
func (f frame) framework() bool {
	fn := strings.TrimPrefix(f.fn, "created by ")
	file, _, _ := strings.Cut(strings.TrimSpace(f.file), ":")
	if strings.HasSuffix(file, "_test.go") {
		return false
	}
	switch {
	case strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "runtime/"):
		return true
	case strings.HasPrefix(fn, examplesPrefix):
		return false
	case strings.HasPrefix(fn, frameworkPrefix+".") || strings.HasPrefix(fn, frameworkPrefix+"/"):
		return true
	}
	return false
}

// short names f's function without troupe's import path and arguments.
func (f frame) short() string {
	fn := strings.TrimPrefix(f.fn, "created by ")
	if i := strings.Index(fn, " in goroutine"); i >= 0 {
		fn = fn[:i]
	}
	fn = strings.TrimPrefix(fn, frameworkPrefix+"/")
	if strings.HasSuffix(fn, ")") {
		// Cut the argument list: the last '(' whose ')' ends the line.
		depth := 0
		for i := len(fn) - 1; i >= 0; i-- {
			switch fn[i] {
			case ')':
				depth++
			case '(':
				depth--
				if depth == 0 {
					return fn[:i]
				}
			}
		}
	}
	return fn
}

// parseStack splits a printed stack into its header line ("goroutine 7
// [running]:") and frames.
func parseStack(stack string) (header string, frames []frame) {
	lines := strings.Split(strings.TrimRight(stack, "\n"), "\n")
	if len(lines) > 0 && strings.HasPrefix(lines[0], "goroutine ") {
		header, lines = lines[0], lines[1:]
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		f := frame{fn: l}
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
			f.file = lines[i+1]
			i++
		}
		frames = append(frames, f)
	}
	return header, frames
}
