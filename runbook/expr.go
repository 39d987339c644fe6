package runbook

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/itchyny/gojq"
)

// Top-level names every expression may use. Registered results and `set`
// names are added per runbook.
const (
	NameParams    = "params"
	NameVars      = "vars"
	NameHost      = "host"
	NameFacts     = "facts"
	NameSnapshots = "snapshots"
	NameRun       = "run"
	NameResult    = "result"   // the step's own result, in until/changed_when/failed_when
	NameGroups    = "groups"   // group -> host names, inventory order
	NameHostvars  = "hostvars" // host name -> {host, facts}
)

// BuiltinNames are the names defined for every expression.
var BuiltinNames = []string{NameParams, NameVars, NameHost, NameFacts, NameSnapshots, NameRun, NameGroups, NameHostvars}

// Version is what semver() returns; expressions can read its fields and
// compare versions with semverCompare or semverMatch.
type Version struct {
	Major    int64  `expr:"major"`
	Minor    int64  `expr:"minor"`
	Patch    int64  `expr:"patch"`
	Pre      string `expr:"prerelease"`
	Original string `expr:"original"`
}

func (v Version) String() string { return v.Original }

// exprFunctions are the functions of SPEC §7, available in every expression.
var exprFunctions = []expr.Option{
	expr.Function("semver", func(p ...any) (any, error) {
		v, err := semver.NewVersion(fmt.Sprint(p[0]))
		if err != nil {
			return nil, fmt.Errorf("semver(%q): %v", p[0], err)
		}
		return Version{Major: int64(v.Major()), Minor: int64(v.Minor()), Patch: int64(v.Patch()), Pre: v.Prerelease(), Original: v.Original()}, nil
	}, new(func(string) Version)),
	expr.Function("semverMatch", func(p ...any) (any, error) {
		v, err := semver.NewVersion(strings.TrimSpace(fmt.Sprint(p[0])))
		if err != nil {
			return false, nil
		}
		c, err := semver.NewConstraint(fmt.Sprint(p[1]))
		if err != nil {
			return nil, fmt.Errorf("semverMatch: bad constraint %q: %v", p[1], err)
		}
		return c.Check(v), nil
	}, new(func(string, string) bool)),
	expr.Function("semverCompare", func(p ...any) (any, error) {
		a, err := semver.NewVersion(strings.TrimSpace(fmt.Sprint(p[0])))
		if err != nil {
			return nil, fmt.Errorf("semverCompare(%q): %v", p[0], err)
		}
		b, err := semver.NewVersion(strings.TrimSpace(fmt.Sprint(p[1])))
		if err != nil {
			return nil, fmt.Errorf("semverCompare(%q): %v", p[1], err)
		}
		return a.Compare(b), nil
	}, new(func(string, string) int)),
	expr.Function("quote", func(p ...any) (any, error) {
		return ShellQuote(Stringify(p[0])), nil
	}),
	expr.Function("fromJSON", func(p ...any) (any, error) {
		var v any
		if err := json.Unmarshal([]byte(fmt.Sprint(p[0])), &v); err != nil {
			return nil, fmt.Errorf("fromJSON: %v", err)
		}
		return v, nil
	}, new(func(string) any)),
	expr.Function("toJSON", func(p ...any) (any, error) {
		b, err := json.Marshal(p[0])
		return string(b), err
	}),
	expr.Function("lines", func(p ...any) (any, error) {
		s := strings.TrimRight(fmt.Sprint(p[0]), "\n")
		if s == "" {
			return []any{}, nil
		}
		parts := strings.Split(s, "\n")
		out := make([]any, len(parts))
		for i, l := range parts {
			out[i] = strings.TrimSuffix(l, "\r")
		}
		return out, nil
	}, new(func(string) []any)),
	expr.Function("regexMatch", func(p ...any) (any, error) {
		re, err := cachedRegexp(fmt.Sprint(p[1]))
		if err != nil {
			return nil, err
		}
		return re.MatchString(fmt.Sprint(p[0])), nil
	}, new(func(string, string) bool)),
	expr.Function("regexFind", func(p ...any) (any, error) {
		re, err := cachedRegexp(fmt.Sprint(p[1]))
		if err != nil {
			return nil, err
		}
		m := re.FindStringSubmatch(fmt.Sprint(p[0]))
		switch len(m) {
		case 0:
			return "", nil
		case 1:
			return m[0], nil
		default:
			return m[1], nil
		}
	}, new(func(string, string) string)),
	expr.Function("jq", func(p ...any) (any, error) {
		return runJQ(p[0], fmt.Sprint(p[1]))
	}),
}

var regexpCache sync.Map

func cachedRegexp(s string) (*regexp.Regexp, error) {
	if re, ok := regexpCache.Load(s); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("bad regular expression %q: %v", s, err)
	}
	regexpCache.Store(s, re)
	return re, nil
}

// runJQ runs a jq query over v (a string is parsed as JSON first). One
// result is returned as is, several as a list.
func runJQ(v any, query string) (any, error) {
	if s, ok := v.(string); ok {
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("jq: input is not JSON: %v", err)
		}
	}
	q, err := gojq.Parse(query)
	if err != nil {
		return nil, fmt.Errorf("jq: %v", err)
	}
	var out []any
	it := q.Run(normalizeJSON(v))
	for {
		x, ok := it.Next()
		if !ok {
			break
		}
		if err, ok := x.(error); ok {
			return nil, fmt.Errorf("jq: %v", err)
		}
		out = append(out, x)
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

// normalizeJSON turns v into the plain JSON values gojq accepts.
func normalizeJSON(v any) any {
	switch v.(type) {
	case nil, bool, string, float64, int, map[string]any, []any:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// ShellQuote quotes s for a POSIX shell with single quotes.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Stringify renders a value the way {{ }} inserts it: strings as they are,
// nil as "", numbers without exponent, lists and maps as JSON.
func Stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool, int, int64:
		return fmt.Sprint(x)
	case fmt.Stringer:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Expr is a compiled expression.
type Expr struct {
	Source  string
	program *vm.Program
	names   []string // top-level names it reads
}

var exprCache sync.Map // source -> *Expr

// CompileExpr compiles an expression (cached by its text).
func CompileExpr(src string) (*Expr, error) {
	if e, ok := exprCache.Load(src); ok {
		return e.(*Expr), nil
	}
	names, err := ExprNames(src)
	if err != nil {
		return nil, err
	}
	p, err := expr.Compile(src, append([]expr.Option{expr.AllowUndefinedVariables()}, exprFunctions...)...)
	if err != nil {
		return nil, fmt.Errorf("bad expression %q: %s", src, firstLine(err.Error()))
	}
	e := &Expr{Source: src, program: p, names: names}
	exprCache.Store(src, e)
	return e, nil
}

// Names lists the top-level names the expression reads.
func (e *Expr) Names() []string { return e.names }

// Eval evaluates the expression against env.
func (e *Expr) Eval(env map[string]any) (any, error) {
	v, err := expr.Run(e.program, env)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", e.Source, firstLine(err.Error()))
	}
	return v, nil
}

// EvalBool evaluates a condition. nil counts as false; a value that is not a
// bool is an error, so that a typo does not silently pass.
func (e *Expr) EvalBool(env map[string]any) (bool, error) {
	v, err := e.Eval(env)
	if err != nil {
		return false, err
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case nil:
		return false, nil
	}
	return false, fmt.Errorf("%s: expected true or false, got %s", e.Source, Stringify(v))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// FunctionNames are the functions every expression can call besides expr's
// builtins.
var FunctionNames = []string{"semver", "semverMatch", "semverCompare", "quote", "fromJSON", "toJSON", "lines", "regexMatch", "regexFind", "jq"}

// ExprNames parses src and returns the top-level variable names it reads,
// sorted (functions, builtins, closure pointers and let-bound names are not
// variables).
func ExprNames(src string) ([]string, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("bad expression %q: %s", src, firstLine(err.Error()))
	}
	c := &nameCollector{names: map[string]bool{}, bound: map[string]bool{}}
	ast.Walk(&tree.Node, c)
	for _, f := range FunctionNames {
		delete(c.names, f)
	}
	for b := range c.bound {
		delete(c.names, b)
	}
	out := make([]string, 0, len(c.names))
	for n := range c.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

type nameCollector struct {
	names map[string]bool
	bound map[string]bool
}

func (c *nameCollector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		c.names[n.Value] = true
	case *ast.VariableDeclaratorNode:
		c.bound[n.Name] = true
	}
}

// ParamRefs lists the params an expression reads as params.NAME or
// params["NAME"].
func ParamRefs(src string) []string {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	v := &paramVisitor{}
	ast.Walk(&tree.Node, v)
	return v.refs
}

type paramVisitor struct{ refs []string }

func (v *paramVisitor) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	if id, ok := m.Node.(*ast.IdentifierNode); ok && id.Value == NameParams {
		if s, ok := m.Property.(*ast.StringNode); ok {
			v.refs = append(v.refs, s.Value)
		}
	}
}

// isQuoted reports whether the whole expression is a call of quote(),
// written quote(x) or x | quote().
func isQuoted(src string) bool {
	tree, err := parser.Parse(src)
	if err != nil {
		return false
	}
	if c, ok := tree.Node.(*ast.CallNode); ok {
		if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == "quote" {
			return true
		}
	}
	return false
}
