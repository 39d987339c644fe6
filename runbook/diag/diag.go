// Package diag holds the positioned errors every loader of runbook reports:
// `file:line:col: message`, collected so that one run shows all the problems
// of a file, with a "did you mean" hint for misspelt names.
package diag

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem at a position of a file. Line and Col are 1-based;
// zero means unknown (the position is then left out of the message).
type Error struct {
	File    string
	Line    int
	Col     int
	Msg     string
	Warning bool
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, "%d:", e.Col)
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// At builds an Error at the position of node (which may be nil).
func At(file string, node *yaml.Node, format string, args ...any) *Error {
	e := &Error{File: file, Msg: fmt.Sprintf(format, args...)}
	if node != nil {
		e.Line, e.Col = node.Line, node.Column
	}
	return e
}

// List collects errors and warnings in the order they were found.
type List struct {
	errs     []error
	warnings []*Error
}

// Add records err; nil is ignored. An *Error with Warning set is kept apart.
func (l *List) Add(err error) {
	if err == nil {
		return
	}
	var d *Error
	if errors.As(err, &d) && d.Warning {
		l.warnings = append(l.warnings, d)
		return
	}
	l.errs = append(l.errs, err)
}

// Addf records a new Error at node.
func (l *List) Addf(file string, node *yaml.Node, format string, args ...any) {
	l.Add(At(file, node, format, args...))
}

// Warnf records a warning at node.
func (l *List) Warnf(file string, node *yaml.Node, format string, args ...any) {
	e := At(file, node, format, args...)
	e.Warning = true
	l.Add(e)
}

// Warnings returns the warnings recorded so far.
func (l *List) Warnings() []*Error { return l.warnings }

// Len is the number of errors (not warnings).
func (l *List) Len() int { return len(l.errs) }

// Err returns the errors as one error whose message has one line per error,
// sorted by position (errors.Join of them), or nil when there are none.
func (l *List) Err() error {
	sortErrors(l.errs)
	return errors.Join(l.errs...)
}

func sortErrors(es []error) {
	pos := func(e error) (string, int, int) {
		var d *Error
		if errors.As(e, &d) {
			return d.File, d.Line, d.Col
		}
		return "", 0, 0
	}
	sort.SliceStable(es, func(i, j int) bool {
		fi, li, ci := pos(es[i])
		fj, lj, cj := pos(es[j])
		if fi != fj {
			return fi < fj
		}
		if li != lj {
			return li < lj
		}
		return ci < cj
	})
}

// Errors flattens err into its parts (errors.Join's, as Err returns, or a
// single error).
func Errors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Suggest returns ` (did you mean "x"?)` for the candidate nearest to word,
// or "" when none is near enough to be a plausible typo.
func Suggest(word string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := distance(strings.ToLower(word), strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := len(word) / 3
	if limit < 2 {
		limit = 2
	}
	if best == "" || bestDist > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the optimal-string-alignment edit distance (Levenshtein plus
// transpositions), so "serail" is one edit from "serial".
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
