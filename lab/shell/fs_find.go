package shell

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

func init() { register(map[string]Program{"find": runFind}) }

const findUsage = "find [-L|-P] [path ...] [expression]"

// findNode is one node of a find expression; eval reports whether it holds.
type findNode func(f *finder, p string, info fs.FileInfo, depth int) bool

type finder struct {
	c                  *Call
	maxDepth, minDepth int
	depthFirst         bool
	follow             bool
	pruned             bool
	status             int
	batches            []*execBatch
	now                time.Time
}

type execBatch struct {
	argv  []string
	paths []string
}

// runFind is find with the common tests (-name, -iname, -path, -type,
// -newer, -mtime, -mmin, -size, -empty, -perm), operators (! -not -a -o and
// parentheses) and actions (-print, -print0, -delete, -exec ... ; and +,
// -prune, -quit).
func runFind(c *Call) int {
	f := &finder{c: c, maxDepth: -1, now: time.Now()}
	args := c.Args[1:]
	for len(args) > 0 && (args[0] == "-L" || args[0] == "-P" || args[0] == "-H") {
		f.follow = args[0] == "-L"
		args = args[1:]
	}
	var starts []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") && args[0] != "(" && args[0] != "!" {
		starts = append(starts, args[0])
		args = args[1:]
	}
	if len(starts) == 0 {
		starts = []string{"."}
	}
	p := &findParser{f: f, args: args}
	var expr findNode
	if len(args) > 0 {
		e, err := p.or()
		if err == nil && p.i < len(p.args) {
			err = fmt.Errorf("unexpected argument '%s'", p.args[p.i])
		}
		if err != nil {
			c.errf("%v", err)
			fmt.Fprintf(c.Stderr, "usage: %s\n", findUsage)
			return 1
		}
		expr = e
	}
	if !p.hasAction {
		inner := expr
		expr = func(f *finder, p string, info fs.FileInfo, d int) bool {
			if inner == nil || inner(f, p, info, d) {
				fmt.Fprintln(f.c.Stdout, p)
			}
			return true
		}
	}
	for _, s := range starts {
		if f.walk(expr, s, c.abs(s), 0) {
			break
		}
	}
	for _, b := range f.batches {
		f.runExec(b.argv, b.paths)
	}
	return f.status
}

// walk visits shown (node path p); it returns true to stop everything (-quit).
func (f *finder) walk(expr findNode, shown, p string, depth int) bool {
	if f.c.Ctx.Err() != nil {
		return true
	}
	var info fs.FileInfo
	var err error
	if f.follow {
		info, err = f.c.fsys().Stat(p)
	}
	if info == nil {
		info, err = f.c.fsys().Lstat(p)
	}
	if err != nil {
		f.status = f.c.fail("'%s': %s", shown, errText(err))
		return false
	}
	visit := func() bool {
		if depth >= f.minDepth && expr != nil {
			f.pruned = false
			expr(f, shown, info, depth)
		}
		return f.pruned
	}
	if !f.depthFirst {
		pruned := visit()
		if f.quit() {
			return true
		}
		if pruned && info.IsDir() {
			return false
		}
	}
	if info.IsDir() && (f.maxDepth < 0 || depth < f.maxDepth) {
		entries, err := f.c.fsys().ReadDir(p)
		if err != nil {
			f.status = f.c.fail("'%s': %s", shown, errText(err))
		}
		for _, e := range entries {
			child := shown + "/" + e.Name()
			if strings.HasSuffix(shown, "/") {
				child = shown + e.Name()
			}
			if f.walk(expr, child, path.Join(p, e.Name()), depth+1) {
				return true
			}
		}
	}
	if f.depthFirst {
		visit()
	}
	return f.quit()
}

func (f *finder) quit() bool { return f.maxDepth == -2 }

func (f *finder) runExec(argv []string, paths []string) bool {
	var args []string
	for _, a := range argv {
		if a == "{}" && paths != nil {
			args = append(args, paths...)
			continue
		}
		args = append(args, a)
	}
	sub := *f.c
	sub.Args = args
	return Exec(&sub) == 0
}

type findParser struct {
	f         *finder
	args      []string
	i         int
	hasAction bool
}

func (p *findParser) peek() string {
	if p.i < len(p.args) {
		return p.args[p.i]
	}
	return ""
}

func (p *findParser) or() (findNode, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek() == "-o" || p.peek() == "-or" {
		p.i++
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(f *finder, s string, info fs.FileInfo, d int) bool {
			return l(f, s, info, d) || right(f, s, info, d)
		}
	}
	return left, nil
}

func (p *findParser) and() (findNode, error) {
	left, err := p.not()
	if err != nil {
		return nil, err
	}
	for {
		switch p.peek() {
		case "", "-o", "-or", ")":
			return left, nil
		case "-a", "-and":
			p.i++
		}
		right, err := p.not()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(f *finder, s string, info fs.FileInfo, d int) bool {
			return l(f, s, info, d) && right(f, s, info, d)
		}
	}
}

func (p *findParser) not() (findNode, error) {
	if p.peek() == "!" || p.peek() == "-not" {
		p.i++
		inner, err := p.not()
		if err != nil {
			return nil, err
		}
		return func(f *finder, s string, info fs.FileInfo, d int) bool { return !inner(f, s, info, d) }, nil
	}
	return p.primary()
}

func (p *findParser) value(name string) (string, error) {
	if p.i >= len(p.args) {
		return "", fmt.Errorf("missing argument to '%s'", name)
	}
	v := p.args[p.i]
	p.i++
	return v, nil
}

func always(*finder, string, fs.FileInfo, int) bool { return true }

func (p *findParser) primary() (findNode, error) {
	if p.i >= len(p.args) {
		return nil, fmt.Errorf("expected an expression")
	}
	tok := p.args[p.i]
	p.i++
	switch tok {
	case "(":
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("invalid expression; I was expecting to find a ')' somewhere but did not see one")
		}
		p.i++
		return e, nil
	case "-true":
		return always, nil
	case "-false":
		return func(*finder, string, fs.FileInfo, int) bool { return false }, nil
	case "-maxdepth", "-mindepth":
		v, err := p.value(tok)
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("invalid argument '%s' to '%s'", v, tok)
		}
		if tok == "-maxdepth" {
			p.f.maxDepth = n
		} else {
			p.f.minDepth = n
		}
		return always, nil
	case "-depth", "-d":
		p.f.depthFirst = true
		return always, nil
	case "-xdev", "-mount", "-noleaf", "-ignore_readdir_race":
		return always, nil
	case "-name", "-iname", "-path", "-ipath", "-wholename":
		pat, err := p.value(tok)
		if err != nil {
			return nil, err
		}
		fold := tok == "-iname" || tok == "-ipath"
		if fold {
			pat = strings.ToLower(pat)
		}
		whole := tok != "-name" && tok != "-iname"
		return func(_ *finder, s string, _ fs.FileInfo, _ int) bool {
			subject := baseName(s)
			if whole {
				subject = s
			}
			if fold {
				subject = strings.ToLower(subject)
			}
			ok, _ := path.Match(pat, subject)
			return ok
		}, nil
	case "-type":
		v, err := p.value(tok)
		if err != nil {
			return nil, err
		}
		types := strings.Split(v, ",")
		for _, t := range types {
			if len(t) != 1 || !strings.Contains("fdlpscb", t) {
				return nil, messagef("Unknown argument to -type: %s", v)
			}
		}
		return func(_ *finder, _ string, info fs.FileInfo, _ int) bool {
			m := info.Mode()
			for _, t := range types {
				switch {
				case t == "f" && m.IsRegular(), t == "d" && m.IsDir(), t == "l" && m&fs.ModeSymlink != 0,
					t == "p" && m&fs.ModeNamedPipe != 0, t == "s" && m&fs.ModeSocket != 0,
					t == "c" && m&fs.ModeCharDevice != 0, t == "b" && m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0:
					return true
				}
			}
			return false
		}, nil
	case "-empty":
		return func(f *finder, s string, info fs.FileInfo, _ int) bool {
			if info.IsDir() {
				entries, err := f.c.fsys().ReadDir(f.c.abs(s))
				return err == nil && len(entries) == 0
			}
			return info.Mode().IsRegular() && info.Size() == 0
		}, nil
	case "-newer":
		v, err := p.value(tok)
		if err != nil {
			return nil, err
		}
		ref, err := p.f.c.fsys().Stat(p.f.c.abs(v))
		if err != nil {
			return nil, fmt.Errorf("'%s': %s", v, errText(err))
		}
		t := ref.ModTime()
		return func(_ *finder, _ string, info fs.FileInfo, _ int) bool { return info.ModTime().After(t) }, nil
	case "-mtime", "-mmin":
		v, err := p.value(tok)
		if err != nil {
			return nil, err
		}
		cmp, n, err := numericArg(v)
		if err != nil {
			return nil, fmt.Errorf("invalid argument '%s' to '%s'", v, tok)
		}
		unit := 24 * time.Hour
		if tok == "-mmin" {
			unit = time.Minute
		}
		return func(f *finder, _ string, info fs.FileInfo, _ int) bool {
			age := int64(f.now.Sub(info.ModTime()) / unit)
			return cmp(age, n)
		}, nil
	case "-size":
		v, err := p.value(tok)
		if err != nil {
			return nil, err
		}
		unit := int64(512)
		if len(v) > 0 {
			switch v[len(v)-1] {
			case 'c':
				unit, v = 1, v[:len(v)-1]
			case 'k':
				unit, v = 1024, v[:len(v)-1]
			case 'M':
				unit, v = 1<<20, v[:len(v)-1]
			case 'G':
				unit, v = 1<<30, v[:len(v)-1]
			case 'b':
				v = v[:len(v)-1]
			}
		}
		cmp, n, err := numericArg(v)
		if err != nil {
			return nil, fmt.Errorf("invalid argument '%s' to '-size'", v)
		}
		return func(_ *finder, _ string, info fs.FileInfo, _ int) bool {
			return cmp((info.Size()+unit-1)/unit, n)
		}, nil
	case "-perm":
		v, err := p.value(tok)
		if err != nil {
			return nil, err
		}
		kind := byte(0)
		if v != "" && (v[0] == '-' || v[0] == '/') {
			kind, v = v[0], v[1:]
		}
		m, err := parseMode(v, 0, false)
		if err != nil {
			return nil, fmt.Errorf("invalid mode '%s'", v)
		}
		want := modeToOctal(m)
		return func(_ *finder, _ string, info fs.FileInfo, _ int) bool {
			have := modeToOctal(info.Mode())
			switch kind {
			case '-':
				return have&want == want
			case '/':
				return want == 0 || have&want != 0
			}
			return have == want
		}, nil
	case "-user", "-group", "-uid", "-gid":
		if _, err := p.value(tok); err != nil {
			return nil, err
		}
		return always, nil
	case "-readable", "-writable":
		return always, nil
	case "-executable":
		return func(_ *finder, _ string, info fs.FileInfo, _ int) bool {
			return info.IsDir() || info.Mode().Perm()&0o111 != 0
		}, nil
	case "-print", "-print0":
		p.hasAction = true
		end := "\n"
		if tok == "-print0" {
			end = "\x00"
		}
		return func(f *finder, s string, _ fs.FileInfo, _ int) bool {
			fmt.Fprint(f.c.Stdout, s+end)
			return true
		}, nil
	case "-prune":
		return func(f *finder, _ string, _ fs.FileInfo, _ int) bool {
			f.pruned = true
			return true
		}, nil
	case "-quit":
		return func(f *finder, _ string, _ fs.FileInfo, _ int) bool {
			f.maxDepth = -2
			return true
		}, nil
	case "-delete":
		p.hasAction = true
		p.f.depthFirst = true
		return func(f *finder, s string, info fs.FileInfo, _ int) bool {
			if s == "." {
				return true
			}
			if err := f.c.fsys().Remove(f.c.abs(s)); err != nil {
				f.status = f.c.fail("cannot delete '%s': %s", s, errText(err))
				return false
			}
			return true
		}, nil
	case "-exec", "-execdir", "-ok":
		p.hasAction = true
		var argv []string
		for {
			if p.i >= len(p.args) {
				return nil, fmt.Errorf("missing argument to '%s'", tok)
			}
			a := p.args[p.i]
			p.i++
			if a == ";" {
				break
			}
			if a == "+" && len(argv) > 0 && argv[len(argv)-1] == "{}" {
				b := &execBatch{argv: argv}
				p.f.batches = append(p.f.batches, b)
				return func(_ *finder, s string, _ fs.FileInfo, _ int) bool {
					b.paths = append(b.paths, s)
					return true
				}, nil
			}
			argv = append(argv, a)
		}
		if len(argv) == 0 {
			return nil, fmt.Errorf("missing argument to '%s'", tok)
		}
		return func(f *finder, s string, _ fs.FileInfo, _ int) bool {
			args := make([]string, len(argv))
			for i, a := range argv {
				args[i] = strings.ReplaceAll(a, "{}", s)
			}
			return f.runExec(args, nil)
		}, nil
	}
	return nil, fmt.Errorf("unknown predicate '%s'", tok)
}

// numericArg reads find's +N (more than), -N (less than) and N (exactly).
func numericArg(v string) (func(a, b int64) bool, int64, error) {
	cmp := func(a, b int64) bool { return a == b }
	switch {
	case strings.HasPrefix(v, "+"):
		cmp, v = func(a, b int64) bool { return a > b }, v[1:]
	case strings.HasPrefix(v, "-"):
		cmp, v = func(a, b int64) bool { return a < b }, v[1:]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return cmp, n, err
}
