package steps

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[LineInFile]("lineinfile") }

// LineInFile makes sure one line is in a text file on the host, or is not:
// `lineinfile: {path, line, regexp, state, insertafter, insertbefore,
// create, mode, owner, group}`, as Ansible's lineinfile does.
//
// With state: present (the default) the last line matching regexp is
// replaced by line; when no line matches (or there is no regexp) and line
// is not in the file, it is inserted after the last line matching
// insertafter (EOF, the default, for the end), or before the last line
// matching insertbefore (BOF for the beginning), or at the end when they
// match nothing. With state: absent every line matching regexp (or equal
// to line) goes. Regular expressions are Go's (RE2), matched against each
// line without its line ending. A missing file is made only with
// create: true. The file is written in one rename, and only when it
// changed.
type LineInFile struct {
	Path         string `yaml:"path" desc:"The file on the host." required:"true"`
	Line         string `yaml:"line" desc:"The line the file must hold (present), or must not (absent, without regexp)."`
	Regexp       string `yaml:"regexp" desc:"Regular expression (RE2) of the line to replace (present) or the lines to remove (absent)."`
	State        string `yaml:"state" desc:"present (default) or absent." enum:"present,absent"`
	InsertAfter  string `yaml:"insertafter" desc:"Insert after the last line matching this regular expression, or EOF (default)."`
	InsertBefore string `yaml:"insertbefore" desc:"Insert before the last line matching this regular expression, or BOF."`
	Create       bool   `yaml:"create" desc:"Make the file when it is missing (default false: a missing file fails the step)."`
	Mode         string `yaml:"mode" desc:"Permissions in octal, like \"0644\" (default: kept; 0644 for a new file)."`
	Owner        string `yaml:"owner" desc:"Owner: a user name or uid."`
	Group        string `yaml:"group" desc:"Group: a group name or gid."`
}

// Validate implements runbook.StepSpec.
func (l *LineInFile) Validate(c *runbook.Check) {
	validateEditPath(c, "lineinfile", l.Path, fileAttrs{l.Mode, l.Owner, l.Group})
	switch l.State {
	case "", "present":
		if l.Line == "" {
			c.Errorf("", "lineinfile: needs line: (the line the file must hold)")
		}
	case "absent":
		if l.Line == "" && l.Regexp == "" {
			c.Errorf("", "lineinfile: state: absent needs regexp: or line: (what to remove)")
		}
		if l.InsertAfter != "" || l.InsertBefore != "" {
			c.Errorf("state", "lineinfile: state: absent takes no insertafter or insertbefore")
		}
	default:
		c.Errorf("state", "lineinfile: state %q: use present or absent", l.State)
	}
	if strings.ContainsAny(l.Line, "\r\n") {
		c.Errorf("line", "lineinfile: line: one line only")
	}
	if l.InsertAfter != "" && l.InsertBefore != "" {
		c.Errorf("insertbefore", "lineinfile: give insertafter or insertbefore, not both")
	}
	for _, f := range []struct{ name, re, keyword string }{
		{"regexp", l.Regexp, ""}, {"insertafter", l.InsertAfter, "EOF"}, {"insertbefore", l.InsertBefore, "BOF"},
	} {
		if f.re == "" || f.re == f.keyword || runbook.HasTemplate(f.re) {
			continue
		}
		if _, err := regexp.Compile(f.re); err != nil {
			c.Errorf(f.name, "lineinfile: %s: %v", f.name, err)
		}
	}
}

// Describe implements Kind.
func (l *LineInFile) Describe() string {
	s := "lineinfile: " + l.Path + ": "
	switch {
	case l.State == "absent" && l.Regexp != "":
		s += "remove lines matching /" + l.Regexp + "/"
	case l.State == "absent":
		s += fmt.Sprintf("remove %q", l.Line)
	case l.Regexp != "":
		s += fmt.Sprintf("%q in place of /%s/", l.Line, l.Regexp)
	default:
		s += fmt.Sprintf("%q", l.Line)
	}
	return s + fileAttrs{l.Mode, l.Owner, l.Group}.describe()
}

// Run implements Kind.
func (l *LineInFile) Run(ctx context.Context, x *Exec) Result {
	return l.fileEdit().apply(ctx, x, false)
}

// Predict implements Predictor.
func (l *LineInFile) Predict(ctx context.Context, x *Exec) Result {
	return l.fileEdit().apply(ctx, x, true)
}

func (l *LineInFile) fileEdit() fileEdit {
	return fileEdit{kind: "lineinfile", path: l.Path, create: l.Create, attrs: fileAttrs{l.Mode, l.Owner, l.Group},
		edit: func(old []byte, _ bool) ([]byte, error) {
			out, err := l.edit(string(old))
			return []byte(out), err
		}}
}

// compileOpt compiles a rendered regular expression of the step (nil when
// not given, or when it is the keyword).
func compileOpt(name, re, keyword string) (*regexp.Regexp, error) {
	if re == "" || re == keyword {
		return nil, nil
	}
	r, err := regexp.Compile(re)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return r, nil
}

// edit returns content with the step applied.
func (l *LineInFile) edit(content string) (string, error) {
	if strings.ContainsAny(l.Line, "\r\n") {
		return "", fmt.Errorf("line: one line only, got %q", l.Line)
	}
	re, err := compileOpt("regexp", l.Regexp, "")
	if err != nil {
		return "", err
	}
	after, err := compileOpt("insertafter", l.InsertAfter, "EOF")
	if err != nil {
		return "", err
	}
	before, err := compileOpt("insertbefore", l.InsertBefore, "BOF")
	if err != nil {
		return "", err
	}
	lines := splitLines(content)
	matches := func(ln string) bool {
		if re != nil {
			return re.MatchString(ln)
		}
		return ln == l.Line
	}
	if l.State == "absent" {
		kept := lines[:0:0]
		for _, ln := range lines {
			if !matches(lineText(ln)) {
				kept = append(kept, ln)
			}
		}
		return strings.Join(kept, ""), nil
	}
	nl := lineEnding(lines)
	if re != nil {
		if i := lastIndex(lines, re.MatchString); i >= 0 {
			lines[i] = l.Line + lineEndOf(lines[i], nl, i == len(lines)-1)
			return strings.Join(lines, ""), nil
		}
	}
	if lastIndex(lines, func(s string) bool { return s == l.Line }) >= 0 {
		return content, nil
	}
	at := len(lines)
	switch {
	case l.InsertBefore == "BOF":
		at = 0
	case before != nil:
		if i := lastIndex(lines, before.MatchString); i >= 0 {
			at = i
		}
	case after != nil:
		if i := lastIndex(lines, after.MatchString); i >= 0 {
			at = i + 1
		}
	}
	if at == len(lines) && at > 0 && !strings.HasSuffix(lines[at-1], "\n") {
		lines[at-1] += nl
	}
	lines = append(lines[:at], append([]string{l.Line + nl}, lines[at:]...)...)
	return strings.Join(lines, ""), nil
}

// splitLines cuts s into lines, each keeping its line ending.
func splitLines(s string) []string {
	return strings.SplitAfter(s, "\n")[:strings.Count(s, "\n")+boolInt(!strings.HasSuffix(s, "\n") && s != "")]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lineText is a line without its line ending.
func lineText(ln string) string {
	return strings.TrimSuffix(strings.TrimSuffix(ln, "\n"), "\r")
}

// lineEnding is the line ending of the file's first line ("\n" when it
// has none).
func lineEnding(lines []string) string {
	if len(lines) > 0 && strings.HasSuffix(lines[0], "\r\n") {
		return "\r\n"
	}
	return "\n"
}

// lineEndOf is the ending a replacement of ln takes: ln's own, or nl
// for a last line that had none but is not the last any more.
func lineEndOf(ln, nl string, last bool) string {
	switch {
	case strings.HasSuffix(ln, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(ln, "\n"):
		return "\n"
	case last:
		return ""
	}
	return nl
}

// lastIndex is the index of the last line whose text satisfies f, or -1.
func lastIndex(lines []string, f func(string) bool) int {
	for i := len(lines) - 1; i >= 0; i-- {
		if f(lineText(lines[i])) {
			return i
		}
	}
	return -1
}
