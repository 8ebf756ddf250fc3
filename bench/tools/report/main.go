// Command report turns the raw output of issue 13's benchmarks into one
// table of ratios: bench/run.sh calls it. It has two subcommands.
//
//	report parse -kind gobench|wrk|burst|actor|kv -prefix KEY -round N [FILE]
//
// reads one tool's output (FILE or stdin) and prints results lines
// (key, round, value, unit, tab-separated), which run.sh appends to the
// run's results file. It fails when the input holds no result, so that a
// benchmark that did not run stops the script instead of leaving a hole.
//
//	report table -results FILE [-load FILE] [-machine FILE] [-groups "a b"]
//	             [-extra TITLE=FILE]... [-title S] [-rounds N] [-md FILE] [-doc FILE]
//
// prints the markdown section: the machine, then per group its load average
// and a table of every row with troupe's median [min–max], the baseline's,
// their ratio and the goal. -md also writes it to a file; -doc
// replaces the generated section of a document (docs/benchmarks.md) between
// its markers. It exits 1 when a row of a selected group has no data.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: report parse|table [flags]")
	}
	switch args[0] {
	case "parse":
		return parseCmd(args[1:], stdin, stdout)
	case "table":
		return tableCmd(args[1:], stdout)
	default:
		return fmt.Errorf("unknown subcommand %q (want parse or table)", args[0])
	}
}

func parseCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("parse", flag.ContinueOnError)
	kind := fs.String("kind", "gobench", "the tool's output: gobench, wrk, burst, actor or kv")
	prefix := fs.String("prefix", "", "key prefix, e.g. service")
	round := fs.Int("round", 0, "the round these results belong to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, ok := parsers[*kind]
	if !ok {
		return fmt.Errorf("parse: unknown kind %q", *kind)
	}
	in := stdin
	name := "stdin"
	if fs.NArg() > 0 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, fs.Arg(0)
	}
	samples, err := p(in, *prefix, *round)
	if err != nil {
		return fmt.Errorf("parse %s (%s): %w", name, *kind, err)
	}
	var b bytes.Buffer
	for _, s := range samples {
		fmt.Fprintln(&b, s)
	}
	_, err = stdout.Write(b.Bytes())
	return err
}

// extras is a repeatable -extra TITLE=FILE flag.
type extras []extra

func (e *extras) String() string { return fmt.Sprint(*e) }
func (e *extras) Set(v string) error {
	t, p, ok := strings.Cut(v, "=")
	if !ok || t == "" || p == "" {
		return fmt.Errorf("want TITLE=FILE, got %q", v)
	}
	*e = append(*e, extra{Title: t, Path: p})
	return nil
}

func tableCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	results := fs.String("results", "", "the run's results file (required)")
	loadFile := fs.String("load", "", "the run's load file: group, step, round, load before, load after, seconds[, steal %]")
	machineFile := fs.String("machine", "", "the machine file: key<TAB>value lines")
	groupList := fs.String("groups", "", "the groups that ran, in order (default: every group)")
	title := fs.String("title", "Results", "the section's heading")
	rounds := fs.Int("rounds", 5, "rounds per benchmark in this run")
	mdOut := fs.String("md", "", "also write the section to this file")
	doc := fs.String("doc", "", "replace the generated section of this document")
	var ex extras
	fs.Var(&ex, "extra", "TITLE=FILE: include FILE verbatim under TITLE (repeatable; missing files are skipped)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *results == "" {
		return errors.New("table: -results is required")
	}
	data, err := os.ReadFile(*results)
	if err != nil {
		return err
	}
	samples, err := parseTSV(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("table: %s: %w", *results, err)
	}
	p := page{Title: *title, Rounds: *rounds, Extras: ex}
	if *loadFile != "" {
		f, err := os.ReadFile(*loadFile)
		if err != nil {
			return err
		}
		if p.Load, err = parseLoad(bytes.NewReader(f)); err != nil {
			return fmt.Errorf("table: %s: %w", *loadFile, err)
		}
	}
	if *machineFile != "" {
		f, err := os.ReadFile(*machineFile)
		if err != nil {
			return err
		}
		if p.Machine, err = parseMachine(bytes.NewReader(f)); err != nil {
			return fmt.Errorf("table: %s: %w", *machineFile, err)
		}
	}
	p.Groups = strings.Fields(*groupList)
	if len(p.Groups) == 0 {
		p.Groups = allGroups()
	}
	sums := summarize(samples)
	var missing []string
	for _, r := range rows {
		if !slices.Contains(p.Groups, r.Group) {
			continue
		}
		res := evaluate(r, sums)
		if res.Status == "no data" {
			missing = append(missing, fmt.Sprintf("%s: %s (%s)", r.Group, r.What, r.Unit))
		}
		p.Results = append(p.Results, res)
	}
	var section bytes.Buffer
	if err := p.write(&section); err != nil {
		return err
	}
	if _, err := stdout.Write(section.Bytes()); err != nil {
		return err
	}
	if *mdOut != "" {
		if err := os.WriteFile(*mdOut, section.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if *doc != "" {
		old, err := os.ReadFile(*doc)
		if err != nil {
			return err
		}
		updated, err := splice(old, section.Bytes())
		if err != nil {
			return err
		}
		if err := os.WriteFile(*doc, updated, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "report: replaced the generated section of %s\n", *doc)
	}
	if len(missing) > 0 {
		return fmt.Errorf("table: rows without data:\n  %s", strings.Join(missing, "\n  "))
	}
	return nil
}

// allGroups lists the rows' groups in order.
func allGroups() []string {
	var gs []string
	for _, r := range rows {
		if !slices.Contains(gs, r.Group) {
			gs = append(gs, r.Group)
		}
	}
	return gs
}
