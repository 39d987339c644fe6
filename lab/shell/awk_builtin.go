package shell

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

func (in *awkInterp) builtin(x *callExpr) awkValue {
	args := x.args
	need := func(lo, hi int) {
		if len(args) < lo || len(args) > hi {
			fatalf("%s: wrong number of arguments (%d)", x.name, len(args))
		}
	}
	str := func(i int) string { return in.eval(args[i]).str(in.convfmt()) }
	num := func(i int) float64 { return in.eval(args[i]).num() }
	switch x.name {
	case "length":
		need(0, 1)
		if len(args) == 0 {
			return numVal(float64(utf8.RuneCountInString(in.record)))
		}
		if ref, ok := args[0].(*varRef); ok && in.isArrayOnly(ref.name) {
			return numVal(float64(len(in.getArray(ref.name))))
		}
		return numVal(float64(utf8.RuneCountInString(str(0))))
	case "substr":
		need(2, 3)
		rs := []rune(str(0))
		start := roundHalfEven(num(1))
		end := math.Inf(1)
		if len(args) == 3 {
			n := num(2)
			if math.IsNaN(n) {
				n = 0
			}
			end = start + roundHalfEven(n)
		}
		lo := math.Max(start, 1)
		hi := math.Min(end, float64(len(rs)+1))
		if hi <= lo {
			return strVal("")
		}
		return strVal(string(rs[int(lo)-1 : int(hi)-1]))
	case "index":
		need(2, 2)
		s, t := str(0), str(1)
		i := strings.Index(s, t)
		if i < 0 {
			return numVal(0)
		}
		return numVal(float64(utf8.RuneCountInString(s[:i]) + 1))
	case "split":
		need(2, 3)
		s := str(0)
		ref, ok := args[1].(*varRef)
		if !ok {
			fatalf("split: second argument is not an array")
		}
		arr := in.getArray(ref.name)
		clear(arr)
		var parts []string
		switch {
		case len(args) == 3:
			if r, ok := args[2].(*regexLit); ok {
				if s != "" {
					parts = r.re.Split(s, -1)
				}
			} else {
				parts = in.splitFields(s, str(2), false)
			}
		default:
			parts = in.splitFields(s, in.globals["FS"].str(in.convfmt()), false)
		}
		for i, p := range parts {
			arr[strconv.Itoa(i+1)] = strNumVal(p)
		}
		return numVal(float64(len(parts)))
	case "sub", "gsub":
		need(2, 3)
		re := in.regexOf(args[0])
		repl := str(1)
		var target awkExpr = &fieldRef{idx: &numLit{v: 0}}
		if len(args) == 3 {
			target = args[2]
			if !isLvalue(target) {
				if g, ok := target.(*groupExpr); !ok || !isLvalue(g.x) {
					fatalf("%s: third argument is not a variable", x.name)
				}
			}
		}
		s := in.eval(target).str(in.convfmt())
		out, n := awkSubstitute(re, s, repl, x.name == "gsub")
		if n > 0 {
			in.assign(target, strVal(out))
		}
		return numVal(float64(n))
	case "match":
		need(2, 3)
		s := str(0)
		re := in.regexOf(args[1])
		loc := re.FindStringSubmatchIndex(s)
		if len(args) == 3 {
			ref, ok := args[2].(*varRef)
			if !ok {
				fatalf("match: third argument is not an array")
			}
			arr := in.getArray(ref.name)
			clear(arr)
			for i := 0; loc != nil && 2*i+1 < len(loc); i++ {
				if loc[2*i] >= 0 {
					arr[strconv.Itoa(i)] = strNumVal(s[loc[2*i]:loc[2*i+1]])
				}
			}
		}
		if loc == nil {
			in.globals["RSTART"], in.globals["RLENGTH"] = numVal(0), numVal(-1)
			return numVal(0)
		}
		start := utf8.RuneCountInString(s[:loc[0]]) + 1
		in.globals["RSTART"] = numVal(float64(start))
		in.globals["RLENGTH"] = numVal(float64(utf8.RuneCountInString(s[loc[0]:loc[1]])))
		return numVal(float64(start))
	case "sprintf":
		if len(args) == 0 {
			fatalf("sprintf: no format")
		}
		vals := make([]awkValue, len(args)-1)
		for i := range vals {
			vals[i] = in.eval(args[i+1])
		}
		return strVal(awkSprintf(str(0), vals, in.convfmt()))
	case "tolower":
		need(1, 1)
		return strVal(strings.ToLower(str(0)))
	case "toupper":
		need(1, 1)
		return strVal(strings.ToUpper(str(0)))
	case "int":
		need(1, 1)
		return numVal(math.Trunc(num(0)))
	case "sqrt":
		need(1, 1)
		return numVal(math.Sqrt(num(0)))
	case "exp":
		need(1, 1)
		return numVal(math.Exp(num(0)))
	case "log":
		need(1, 1)
		return numVal(math.Log(num(0)))
	case "sin":
		need(1, 1)
		return numVal(math.Sin(num(0)))
	case "cos":
		need(1, 1)
		return numVal(math.Cos(num(0)))
	case "atan2":
		need(2, 2)
		return numVal(math.Atan2(num(0), num(1)))
	case "rand":
		need(0, 0)
		return numVal(in.rnd.Float64())
	case "srand":
		need(0, 1)
		if len(args) == 1 {
			return numVal(in.srand(in.eval(args[0]), true))
		}
		return numVal(in.srand(awkValue{}, false))
	case "system":
		need(1, 1)
		return numVal(float64(in.system(str(0))))
	case "close":
		need(1, 2)
		return numVal(float64(in.closeStream(str(0))))
	case "fflush":
		need(0, 1)
		in.out.Flush()
		return numVal(0)
	}
	fatalf("function %s is not supported", x.name)
	return awkValue{}
}

// isArrayOnly reports whether name is an existing array (for length(arr)).
func (in *awkInterp) isArrayOnly(name string) bool {
	if f := in.frame(); f != nil && f.params[name] {
		_, ok := f.arrs[name]
		return ok
	}
	_, ok := in.arrays[name]
	return ok
}

func roundHalfEven(f float64) float64 {
	if math.IsNaN(f) {
		return 0
	}
	return math.RoundToEven(f)
}

// awkSubstitute replaces the first (or every, with global) match of re in
// s; in repl "&" is the match and "\&" a literal ampersand.
func awkSubstitute(re interface {
	FindAllStringIndex(string, int) [][]int
}, s, repl string, global bool) (string, int) {
	n := 1
	if global {
		n = -1
	}
	matches := re.FindAllStringIndex(s, n)
	if len(matches) == 0 {
		return s, 0
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		b.WriteString(s[last:m[0]])
		for i := 0; i < len(repl); i++ {
			switch {
			case repl[i] == '\\' && i+1 < len(repl) && (repl[i+1] == '&' || repl[i+1] == '\\'):
				i++
				b.WriteByte(repl[i])
			case repl[i] == '&':
				b.WriteString(s[m[0]:m[1]])
			default:
				b.WriteByte(repl[i])
			}
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String(), len(matches)
}

// awkSprintf formats like awk's printf: %c %d %i %o %x %X %u %e %E %f %F
// %g %G %s %%, with flags, width and precision (also as *).
func awkSprintf(format string, args []awkValue, convfmt string) string {
	var b strings.Builder
	next := 0
	arg := func() awkValue {
		if next < len(args) {
			next++
			return args[next-1]
		}
		return awkValue{}
	}
	for i := 0; i < len(format); i++ {
		ch := format[i]
		if ch != '%' {
			b.WriteByte(ch)
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		j := i + 1
		spec := "%"
		for j < len(format) && strings.IndexByte("-+ #0", format[j]) >= 0 {
			spec += string(format[j])
			j++
		}
		readNum := func() {
			if j < len(format) && format[j] == '*' {
				spec += strconv.Itoa(int(arg().num()))
				j++
				return
			}
			for j < len(format) && isDigit(format[j]) {
				spec += string(format[j])
				j++
			}
		}
		readNum()
		hasPrec := false
		if j < len(format) && format[j] == '.' {
			hasPrec = true
			spec += "."
			j++
			readNum()
		}
		for j < len(format) && strings.IndexByte("hlLqjzt", format[j]) >= 0 {
			j++ // length modifiers mean nothing here
		}
		if j >= len(format) {
			b.WriteString(format[i:])
			break
		}
		verb := format[j]
		i = j
		switch verb {
		case 'd', 'i':
			v := arg().num()
			if math.IsNaN(v) || math.IsInf(v, 0) {
				b.WriteString(fmt.Sprintf(strings.TrimSuffix(spec, ".")+"f", v))
				continue
			}
			b.WriteString(fmt.Sprintf(spec+"d", int64(v)))
		case 'o', 'x', 'X', 'u':
			v := arg().num()
			n := uint64(int64(v))
			if verb == 'u' {
				verb = 'd'
			}
			b.WriteString(fmt.Sprintf(spec+string(verb), n))
		case 'c':
			v := arg()
			var s string
			if v.kind == kNum {
				s = string(rune(int(v.n)))
			} else if str := v.str(convfmt); str != "" {
				r, _ := utf8.DecodeRuneInString(str)
				s = string(r)
			}
			b.WriteString(fmt.Sprintf(strings.Split(spec, ".")[0]+"s", s))
		case 's':
			b.WriteString(fmt.Sprintf(spec+"s", arg().str(convfmt)))
		case 'e', 'E', 'f', 'F', 'g', 'G':
			if !hasPrec {
				spec += ".6"
			}
			if verb == 'F' {
				verb = 'f'
			}
			b.WriteString(fmt.Sprintf(spec+string(verb), arg().num()))
		default:
			b.WriteString(format[i-len(spec)+1 : j+1])
		}
	}
	return b.String()
}
