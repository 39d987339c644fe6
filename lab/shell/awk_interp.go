package shell

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand"
	"regexp"
	"strings"
)

// awkFatal carries a run-time error up to runAwk (panic/recover inside the
// interpreter only).
type awkFatal struct{ msg string }

func fatalf(format string, a ...any) { panic(awkFatal{fmt.Sprintf(format, a...)}) }

type ctl int

const (
	ctlNone ctl = iota
	ctlNext
	ctlNextFile
	ctlExit
	ctlReturn
	ctlBreak
	ctlContinue
)

type awkFrame struct {
	params map[string]bool
	vars   map[string]awkValue
	arrs   map[string]map[string]awkValue
}

type awkInterp struct {
	c       *Call
	prog    *awkProgram
	globals map[string]awkValue
	arrays  map[string]map[string]awkValue
	frames  []*awkFrame
	retVal  awkValue

	record string
	fields []string
	nf     int

	out      *bufio.Writer
	outFiles map[string]io.WriteCloser
	inFiles  map[string]*awkReader

	// main input
	argIndex  int
	cur       *awkReader
	usedFiles bool
	inputErr  bool

	regexes  map[string]*regexp.Regexp
	exitCode int
	rnd      *rand.Rand
	seed     float64
	steps    int
}

// awkReader reads records from one input.
type awkReader struct {
	br      *bufio.Reader
	closer  io.Closer
	pending []string // records already split by a regular-expression RS
	split   bool
}

func (in *awkInterp) convfmt() string { return in.globals["CONVFMT"].str("%.6g") }

func (in *awkInterp) tick() {
	in.steps++
	if in.steps%1024 == 0 && in.c.Ctx.Err() != nil {
		fatalf("interrupted")
	}
}

// regex compiles a dynamic regular expression (ERE), cached.
func (in *awkInterp) regex(s string) *regexp.Regexp {
	if re, ok := in.regexes[s]; ok {
		return re
	}
	re, err := posixRegexp(s, true, false)
	if err != nil {
		fatalf("%v", err)
	}
	if len(in.regexes) > 256 {
		clear(in.regexes)
	}
	in.regexes[s] = re
	return re
}

// regexOf is the regex an operand stands for: a /literal/ or a string.
func (in *awkInterp) regexOf(e awkExpr) *regexp.Regexp {
	if r, ok := e.(*regexLit); ok {
		return r.re
	}
	return in.regex(in.eval(e).str(in.convfmt()))
}

func (in *awkInterp) frame() *awkFrame {
	if len(in.frames) == 0 {
		return nil
	}
	return in.frames[len(in.frames)-1]
}

func (in *awkInterp) getVar(name string) awkValue {
	if f := in.frame(); f != nil && f.params[name] {
		return f.vars[name]
	}
	if name == "NF" {
		return numVal(float64(in.nf))
	}
	return in.globals[name]
}

func (in *awkInterp) setVar(name string, v awkValue) {
	if f := in.frame(); f != nil && f.params[name] {
		f.vars[name] = v
		return
	}
	if name == "NF" {
		in.setNF(int(v.num()))
		return
	}
	in.globals[name] = v
}

func (in *awkInterp) getArray(name string) map[string]awkValue {
	if f := in.frame(); f != nil && f.params[name] {
		a, ok := f.arrs[name]
		if !ok {
			a = map[string]awkValue{}
			f.arrs[name] = a
		}
		return a
	}
	a, ok := in.arrays[name]
	if !ok {
		a = map[string]awkValue{}
		in.arrays[name] = a
	}
	return a
}

func (in *awkInterp) subscript(subs []awkExpr) string {
	if len(subs) == 1 {
		return in.eval(subs[0]).str(in.convfmt())
	}
	parts := make([]string, len(subs))
	for i, s := range subs {
		parts[i] = in.eval(s).str(in.convfmt())
	}
	return strings.Join(parts, in.globals["SUBSEP"].str(""))
}

// setRecord sets $0 and splits it into fields.
func (in *awkInterp) setRecord(s string) {
	in.record = s
	in.fields = in.splitFields(s, in.globals["FS"].str(in.convfmt()), in.globals["RS"].str("") == "")
	in.nf = len(in.fields)
}

func (in *awkInterp) splitFields(s, fs string, paragraph bool) []string {
	if s == "" {
		return nil
	}
	switch {
	case fs == " ":
		return strings.Fields(s)
	case len(fs) == 1 && fs != "\\":
		if paragraph {
			return strings.FieldsFunc(s, func(r rune) bool { return r == rune(fs[0]) || r == '\n' })
		}
		return strings.Split(s, fs)
	}
	re := in.regex(fs)
	if paragraph {
		re = in.regex("(" + fs + ")|\n")
	}
	return re.Split(s, -1)
}

func (in *awkInterp) getField(i int) awkValue {
	switch {
	case i < 0:
		fatalf("trying to access out of range field %d", i)
	case i == 0:
		return strNumVal(in.record)
	case i <= in.nf:
		return strNumVal(in.fields[i-1])
	}
	return awkValue{}
}

func (in *awkInterp) setField(i int, v string) {
	switch {
	case i < 0:
		fatalf("trying to access out of range field %d", i)
	case i == 0:
		in.setRecord(v)
		return
	case i > 100000:
		fatalf("field index %d too large", i)
	}
	if i > in.nf {
		in.setNF(i)
	}
	in.fields[i-1] = v
	in.rebuild()
}

func (in *awkInterp) setNF(n int) {
	if n < 0 || n > 100000 {
		fatalf("NF set to an invalid value %d", n)
	}
	for len(in.fields) < n {
		in.fields = append(in.fields, "")
	}
	in.fields = in.fields[:n]
	in.nf = n
	in.rebuild()
}

func (in *awkInterp) rebuild() {
	in.record = strings.Join(in.fields, in.globals["OFS"].str(in.convfmt()))
}

// assign stores v into an lvalue.
func (in *awkInterp) assign(lv awkExpr, v awkValue) {
	switch x := lv.(type) {
	case *varRef:
		in.setVar(x.name, v)
	case *fieldRef:
		in.setField(int(in.eval(x.idx).num()), v.str(in.convfmt()))
	case *indexRef:
		in.getArray(x.name)[in.subscript(x.subs)] = v
	case *groupExpr:
		in.assign(x.x, v)
	default:
		fatalf("assignment to a non-variable")
	}
}

func (in *awkInterp) eval(e awkExpr) awkValue {
	switch x := e.(type) {
	case *numLit:
		return numVal(x.v)
	case *strLit:
		return strVal(x.v)
	case *regexLit:
		return boolVal(x.re.MatchString(in.record))
	case *varRef:
		return in.getVar(x.name)
	case *fieldRef:
		return in.getField(int(in.eval(x.idx).num()))
	case *indexRef:
		arr := in.getArray(x.name)
		key := in.subscript(x.subs)
		v, ok := arr[key]
		if !ok {
			arr[key] = awkValue{}
		}
		return v
	case *groupExpr:
		if list, ok := x.x.(*exprListGroup); ok {
			return strVal(in.subscript(list.items))
		}
		return in.eval(x.x)
	case *assignExpr:
		v := in.eval(x.rhs)
		if x.op != "=" {
			v = numVal(arith(x.op[:1], in.eval(x.lhs).num(), v.num()))
		}
		in.assign(x.lhs, v)
		return v
	case *condExpr:
		if in.eval(x.c).bool() {
			return in.eval(x.a)
		}
		return in.eval(x.b)
	case *binaryExpr:
		return in.binary(x)
	case *matchExpr:
		s := in.eval(x.l).str(in.convfmt())
		return boolVal(in.regexOf(x.re).MatchString(s) != x.neg)
	case *unaryExpr:
		v := in.eval(x.x)
		switch x.op {
		case "!":
			return boolVal(!v.bool())
		case "-":
			return numVal(-v.num())
		}
		return numVal(v.num())
	case *incDec:
		old := in.eval(x.lv).num()
		n := old + 1
		if x.op == "--" {
			n = old - 1
		}
		in.assign(x.lv, numVal(n))
		if x.pre {
			return numVal(n)
		}
		return numVal(old)
	case *inExpr:
		_, ok := in.getArray(x.arr)[in.subscript(x.subs)]
		return boolVal(ok)
	case *callExpr:
		if x.builtin {
			return in.builtin(x)
		}
		return in.callUser(x)
	case *getlineExpr:
		return in.getline(x)
	}
	fatalf("unsupported expression")
	return awkValue{}
}

func arith(op string, a, b float64) float64 {
	switch op {
	case "+":
		return a + b
	case "-":
		return a - b
	case "*":
		return a * b
	case "/":
		if b == 0 {
			fatalf("division by zero")
		}
		return a / b
	case "%":
		if b == 0 {
			fatalf("division by zero in %%")
		}
		return math.Mod(a, b)
	case "^":
		return math.Pow(a, b)
	}
	fatalf("unknown operator %s", op)
	return 0
}

func (in *awkInterp) binary(x *binaryExpr) awkValue {
	switch x.op {
	case "&&":
		return boolVal(in.eval(x.l).bool() && in.eval(x.r).bool())
	case "||":
		return boolVal(in.eval(x.l).bool() || in.eval(x.r).bool())
	case " ":
		return strVal(in.eval(x.l).str(in.convfmt()) + in.eval(x.r).str(in.convfmt()))
	case "<", "<=", "==", "!=", ">=", ">":
		r := compareValues(in.eval(x.l), in.eval(x.r), in.convfmt())
		switch x.op {
		case "<":
			return boolVal(r < 0)
		case "<=":
			return boolVal(r <= 0)
		case "==":
			return boolVal(r == 0)
		case "!=":
			return boolVal(r != 0)
		case ">=":
			return boolVal(r >= 0)
		}
		return boolVal(r > 0)
	}
	return numVal(arith(x.op, in.eval(x.l).num(), in.eval(x.r).num()))
}

func (in *awkInterp) callUser(x *callExpr) awkValue {
	fn, ok := in.prog.funcs[x.name]
	if !ok {
		fatalf("calling undefined function %s", x.name)
	}
	if len(x.args) > len(fn.params) {
		fatalf("function %s called with %d args, accepts only %d", x.name, len(x.args), len(fn.params))
	}
	if len(in.frames) >= 1000 {
		fatalf("function call nesting too deep")
	}
	f := &awkFrame{params: map[string]bool{}, vars: map[string]awkValue{}, arrs: map[string]map[string]awkValue{}}
	for i, p := range fn.params {
		f.params[p] = true
		if i >= len(x.args) {
			continue
		}
		if ref, ok := x.args[i].(*varRef); ok && in.isArrayName(ref.name) {
			f.arrs[p] = in.getArray(ref.name)
			continue
		}
		f.vars[p] = in.eval(x.args[i])
	}
	in.frames = append(in.frames, f)
	in.retVal = awkValue{}
	c := in.execBlock(fn.body)
	in.frames = in.frames[:len(in.frames)-1]
	if c == ctlExit {
		panic(awkExit{})
	}
	if c == ctlNext || c == ctlNextFile {
		panic(awkNext{c})
	}
	ret := in.retVal
	in.retVal = awkValue{}
	return ret
}

// awkExit and awkNext unwind function calls for exit and next.
type awkExit struct{}
type awkNext struct{ c ctl }

// isArrayName reports whether name currently denotes an array (passed by
// reference to functions).
func (in *awkInterp) isArrayName(name string) bool {
	if f := in.frame(); f != nil && f.params[name] {
		_, ok := f.arrs[name]
		return ok
	}
	if _, ok := in.arrays[name]; ok {
		return true
	}
	_, scalar := in.globals[name]
	if !scalar && name != "NF" {
		in.arrays[name] = map[string]awkValue{}
		return true
	}
	return false
}
