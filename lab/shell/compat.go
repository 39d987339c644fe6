package shell

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"
)

// mvdan.cc/sh runs standard input, output and error only (fds 0-2), and its
// trap knows EXIT and ERR only. Scripts that save a stream on a spare fd
// (`exec 3<&0; cmd <&3 3<&-`, runbook's own become wrapper) or trap
// signals are common, so the lab meets them half way:
//
//   - a spare fd 3-9 duplicated from 0, 1 or 2 becomes an alias of it, and
//     redirections from the alias are redirections from the original;
//   - traps on signals are accepted and never fire: in the lab a signal
//     cancels the whole command (its context), so there is nothing to trap.

// detachBackground makes `nohup CMD &` and `setsid CMD &` detach at once,
// as a forked job does, instead of as a background statement of the
// interpreter (which the end of the script cancels, possibly before the job
// has even started): the statement runs in the foreground, its
// redirections applied, and hands the job to the machine (internalDetach).
// $! is not set for it.
func detachBackground(file *syntax.File) {
	syntax.Walk(file, func(n syntax.Node) bool {
		st, ok := n.(*syntax.Stmt)
		if !ok || !st.Background || st.Coprocess {
			return true
		}
		call, ok := st.Cmd.(*syntax.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		if name, ok := literalWord(call.Args[0]); !ok || name != "nohup" && name != "setsid" {
			return true
		}
		st.Background = false
		marker := &syntax.Word{Parts: []syntax.WordPart{&syntax.SglQuoted{Value: internalDetach}}}
		call.Args = append([]*syntax.Word{marker}, call.Args...)
		return true
	})
}

// aliasFDs rewrites, in source order, the fd duplications of file.
func aliasFDs(file *syntax.File) {
	alias := map[string]string{}
	syntax.Walk(file, func(n syntax.Node) bool {
		st, ok := n.(*syntax.Stmt)
		if !ok || len(st.Redirs) == 0 {
			return true
		}
		kept := st.Redirs[:0]
		for _, rd := range st.Redirs {
			if rewriteRedir(rd, alias) {
				kept = append(kept, rd)
			}
		}
		st.Redirs = kept
		return true
	})
}

func spareFD(s string) bool { return len(s) == 1 && s[0] >= '3' && s[0] <= '9' }

func stdFD(s string) bool { return s == "0" || s == "1" || s == "2" }

// rewriteRedir rewrites one redirection and reports whether it stays.
func rewriteRedir(rd *syntax.Redirect, alias map[string]string) bool {
	if rd.Op != syntax.DplIn && rd.Op != syntax.DplOut {
		return true
	}
	target, ok := literalWord(rd.Word)
	if !ok {
		return true
	}
	fd := "1"
	if rd.Op == syntax.DplIn {
		fd = "0"
	}
	if rd.N != nil {
		fd = rd.N.Value
	}
	if t, ok := alias[target]; ok {
		target = t
	}
	switch {
	case spareFD(fd) && target == "-":
		delete(alias, fd)
		return false
	case spareFD(fd) && stdFD(target):
		alias[fd] = target
		return false
	case spareFD(fd) || spareFD(target):
		return true // not an alias we know: left as written, to fail
	case target == fd:
		return false // 0<&0, 1>&1: nothing to do
	}
	rd.Word = &syntax.Word{Parts: []syntax.WordPart{&syntax.Lit{Value: target}}}
	return true
}

func literalWord(w *syntax.Word) (string, bool) {
	if w == nil || len(w.Parts) != 1 {
		return "", false
	}
	lit, ok := w.Parts[0].(*syntax.Lit)
	if !ok {
		return "", false
	}
	return lit.Value, true
}

// trapArgs keeps the conditions mvdan.cc/sh can trap (EXIT, ERR) and
// drops signals; a trap left with nothing to set becomes `true`.
func trapArgs(args []string) []string {
	rest := args[1:]
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	if len(rest) == 0 || strings.HasPrefix(rest[0], "-") && rest[0] != "-" {
		return args // listing (trap, trap -p, trap -l)
	}
	var action []string
	sigs := rest
	if len(rest) > 1 {
		action, sigs = rest[:1], rest[1:]
	}
	var kept []string
	for _, s := range sigs {
		switch strings.TrimPrefix(strings.ToUpper(s), "SIG") {
		case "EXIT", "0":
			kept = append(kept, "EXIT")
		case "ERR":
			kept = append(kept, "ERR")
		}
	}
	if len(kept) == 0 {
		return []string{"true"}
	}
	return append(append([]string{"trap"}, action...), kept...)
}

// killBuiltin is the lab's kill: the lab's programs are not processes, so
// only `kill -l` does something.
func killBuiltin(c *Call) int {
	if len(c.Args) > 1 && c.Args[1] == "-l" {
		fmt.Fprintln(c.Stdout, "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM")
		return 0
	}
	fmt.Fprintln(c.Stderr, "lab: kill is not simulated (a signal to the command cancels it as a whole)")
	return 1
}

// quoteEscapes works around mvdan.cc/sh v3.14.1 keeping the backslash of an
// escaped character in words it expands as one string (assignments,
// redirection targets, case words): `X='it'\”s'` gave `it\'s`. Every
// unquoted `\c` outside double quotes and here-documents becomes the
// single-quoted 'c', which means the same thing everywhere.
func quoteEscapes(file *syntax.File) {
	skip := map[*syntax.Word]bool{}
	syntax.Walk(file, func(n syntax.Node) bool {
		var inner syntax.Node
		switch x := n.(type) {
		case *syntax.DblQuoted:
			inner = x
		case *syntax.Redirect:
			if x.Hdoc != nil {
				inner = x.Hdoc
			}
		}
		if inner != nil {
			syntax.Walk(inner, func(m syntax.Node) bool {
				if w, ok := m.(*syntax.Word); ok {
					skip[w] = true
				}
				return true
			})
		}
		return true
	})
	syntax.Walk(file, func(n syntax.Node) bool {
		w, ok := n.(*syntax.Word)
		if !ok || skip[w] {
			return true
		}
		var parts []syntax.WordPart
		changed := false
		for _, p := range w.Parts {
			lit, ok := p.(*syntax.Lit)
			if !ok || !strings.Contains(lit.Value, `\`) {
				parts = append(parts, p)
				continue
			}
			changed = true
			parts = append(parts, splitEscapes(lit)...)
		}
		if changed {
			w.Parts = parts
		}
		return true
	})
}

// splitEscapes turns a literal with backslash escapes into literal and
// single-quoted parts; a trailing backslash stays as it is.
func splitEscapes(lit *syntax.Lit) []syntax.WordPart {
	var out []syntax.WordPart
	s := lit.Value
	for {
		i := strings.IndexByte(s, '\\')
		if i < 0 || i == len(s)-1 {
			break
		}
		if i > 0 {
			out = append(out, &syntax.Lit{ValuePos: lit.ValuePos, ValueEnd: lit.ValueEnd, Value: s[:i]})
		}
		_, size := utf8.DecodeRuneInString(s[i+1:])
		out = append(out, &syntax.SglQuoted{Left: lit.ValuePos, Right: lit.ValueEnd, Value: s[i+1 : i+1+size]})
		s = s[i+1+size:]
	}
	if s != "" {
		out = append(out, &syntax.Lit{ValuePos: lit.ValuePos, ValueEnd: lit.ValueEnd, Value: s})
	}
	return out
}
