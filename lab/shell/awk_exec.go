package shell

import (
	"io"
	"slices"
	"strconv"
	"strings"
)

func (in *awkInterp) execBlock(b blockStmt) ctl {
	for _, s := range b {
		if c := in.exec(s); c != ctlNone {
			return c
		}
	}
	return ctlNone
}

func (in *awkInterp) exec(s awkStmt) ctl {
	in.tick()
	switch x := s.(type) {
	case blockStmt:
		return in.execBlock(x)
	case *exprStmt:
		in.eval(x.x)
	case *printStmt:
		in.print(x)
	case *ifStmt:
		if in.eval(x.cond).bool() {
			return in.exec(x.then)
		} else if x.els != nil {
			return in.exec(x.els)
		}
	case *whileStmt:
		for first := true; ; first = false {
			if !(x.do && first) && !in.eval(x.cond).bool() {
				break
			}
			c := in.exec(x.body)
			if c == ctlBreak {
				break
			}
			if c != ctlNone && c != ctlContinue {
				return c
			}
			in.tick()
		}
	case *forStmt:
		if x.init != nil {
			in.exec(x.init)
		}
		for x.cond == nil || in.eval(x.cond).bool() {
			c := in.exec(x.body)
			if c == ctlBreak {
				break
			}
			if c != ctlNone && c != ctlContinue {
				return c
			}
			if x.post != nil {
				in.exec(x.post)
			}
			in.tick()
		}
	case *forInStmt:
		arr := in.getArray(x.arr)
		keys := make([]string, 0, len(arr))
		for k := range arr {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, awkKeyOrder)
		for _, k := range keys {
			if _, ok := arr[k]; !ok {
				continue
			}
			in.setVar(x.v, strNumVal(k))
			c := in.exec(x.body)
			if c == ctlBreak {
				break
			}
			if c != ctlNone && c != ctlContinue {
				return c
			}
		}
	case *ctlStmt:
		switch x.kind {
		case "next":
			return ctlNext
		case "nextfile":
			return ctlNextFile
		case "break":
			return ctlBreak
		}
		return ctlContinue
	case *exitStmt:
		if x.code != nil {
			in.exitCode = int(in.eval(x.code).num())
		}
		return ctlExit
	case *returnStmt:
		if x.x != nil {
			in.retVal = in.eval(x.x)
		}
		return ctlReturn
	case *deleteStmt:
		arr := in.getArray(x.arr)
		if x.subs == nil {
			clear(arr)
		} else {
			delete(arr, in.subscript(x.subs))
		}
	}
	return ctlNone
}

// awkKeyOrder orders for-in keys: numbers numerically first, then strings.
func awkKeyOrder(a, b string) int {
	na, ea := strconv.ParseFloat(a, 64)
	nb, eb := strconv.ParseFloat(b, 64)
	switch {
	case ea == nil && eb == nil:
		switch {
		case na < nb:
			return -1
		case na > nb:
			return 1
		}
		return strings.Compare(a, b)
	case ea == nil:
		return -1
	case eb == nil:
		return 1
	}
	return strings.Compare(a, b)
}

func (in *awkInterp) print(x *printStmt) {
	w := io.Writer(in.out)
	if x.dest != nil {
		w = in.outFile(in.eval(x.dest).str(in.convfmt()), x.redir == ">>")
	}
	var s string
	if x.printf {
		vals := make([]awkValue, len(x.args)-1)
		for i, a := range x.args[1:] {
			vals[i] = in.eval(a)
		}
		s = awkSprintf(in.eval(x.args[0]).str(in.convfmt()), vals, in.convfmt())
	} else {
		ofmt := in.globals["OFMT"].str("%.6g")
		if len(x.args) == 0 {
			s = in.record
		} else {
			parts := make([]string, len(x.args))
			for i, a := range x.args {
				v := in.eval(a)
				if v.kind == kNum {
					parts[i] = formatNum(v.n, ofmt)
				} else {
					parts[i] = v.str(in.convfmt())
				}
			}
			s = strings.Join(parts, in.globals["OFS"].str(in.convfmt()))
		}
		s += in.globals["ORS"].str(in.convfmt())
	}
	if _, err := io.WriteString(w, s); err != nil {
		fatalf("write error: %v", err)
	}
}

func (in *awkInterp) outFile(name string, appendTo bool) io.Writer {
	if w, ok := in.outFiles[name]; ok {
		return w
	}
	if name == "/dev/stdout" || name == "-" {
		return in.out
	}
	in.out.Flush()
	w, err := in.c.create(name, appendTo)
	if err != nil {
		fatalf("can't redirect to %s (%s)", name, errText(err))
	}
	in.outFiles[name] = w
	return w
}
