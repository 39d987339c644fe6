package shell

import (
	"bufio"
	"errors"
	"io"
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

func init() {
	register(map[string]Program{"awk": runAwk, "gawk": runAwk, "mawk": runAwk, "nawk": runAwk})
}

const awkUsage = "awk [-F fs] [-v var=value]... [-f progfile | 'program'] [file ...]"

var awkAssignRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`) })

// runAwk is the lab's awk: the common subset of POSIX awk (see awk_*.go).
func runAwk(c *Call) int {
	opts, args, ok := c.parse(c.Args[1:], optSpec{short: "F:v:f:", long: map[string]string{"field-separator": "F", "assign": "v", "file": "f"}, posix: true, usage: awkUsage})
	if !ok {
		return 2
	}
	var src string
	if files := opts.all("f"); len(files) > 0 {
		var b strings.Builder
		for _, f := range files {
			data, err := c.fsys().ReadFile(c.abs(f))
			if err != nil {
				return c.fail("can't open source file '%s': %s", f, errText(err))
			}
			b.Write(data)
			b.WriteByte('\n')
		}
		src = b.String()
	} else {
		if len(args) == 0 {
			return c.usageErr(awkUsage, "")
		}
		src, args = args[0], args[1:]
	}
	prog, err := parseAwk(src)
	if err != nil {
		c.errf("%v", err)
		return 2
	}
	in := &awkInterp{
		c:        c,
		prog:     prog,
		globals:  map[string]awkValue{},
		arrays:   map[string]map[string]awkValue{},
		out:      bufio.NewWriter(c.Stdout),
		outFiles: map[string]io.WriteCloser{},
		inFiles:  map[string]*awkReader{},
		regexes:  map[string]*regexp.Regexp{},
		rnd:      rand.New(rand.NewSource(0)),
		argIndex: 1,
	}
	for k, v := range map[string]string{"FS": " ", "OFS": " ", "ORS": "\n", "RS": "\n", "SUBSEP": "\x1c", "CONVFMT": "%.6g", "OFMT": "%.6g", "FILENAME": ""} {
		in.globals[k] = strVal(v)
	}
	in.globals["NR"], in.globals["FNR"] = numVal(0), numVal(0)
	in.globals["RSTART"], in.globals["RLENGTH"] = numVal(0), numVal(-1)
	env := map[string]awkValue{}
	if c.Environ != nil {
		for k, v := range envMap(c.Environ()) {
			env[k] = strNumVal(v)
		}
	}
	in.arrays["ENVIRON"] = env
	argv := map[string]awkValue{"0": strVal("awk")}
	for i, a := range args {
		argv[strconv.Itoa(i+1)] = strNumVal(a)
	}
	in.arrays["ARGV"] = argv
	in.globals["ARGC"] = numVal(float64(len(args) + 1))
	if fs := opts.get("F", ""); opts.has("F") {
		if fs == "t" {
			fs = "\t"
		}
		in.globals["FS"] = strVal(unescapeAwk(fs))
	}
	for _, a := range opts.all("v") {
		name, val, ok := strings.Cut(a, "=")
		if !ok || !awkAssignRe().MatchString(name+"=") {
			return c.fail("invalid -v argument '%s'", a)
		}
		in.globals[name] = strNumVal(unescapeAwk(val))
	}
	status := in.run()
	in.out.Flush()
	for _, w := range in.outFiles {
		w.Close()
	}
	for _, r := range in.inFiles {
		if r.closer != nil {
			r.closer.Close()
		}
	}
	if in.cur != nil && in.cur.closer != nil {
		in.cur.closer.Close()
	}
	return status
}

// unescapeAwk decodes the escapes of -v and command-line assignments.
func unescapeAwk(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	lx := &awkLexer{src: `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`}
	out, err := lx.quoted('"')
	if err != nil {
		return s
	}
	return out
}

// run executes BEGIN, the main loop and END; it returns the exit status.
func (in *awkInterp) run() (status int) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(awkFatal)
			if !ok {
				if _, isExit := r.(awkExit); isExit {
					status = in.runEnd()
					return
				}
				panic(r)
			}
			in.out.Flush()
			in.c.errf("%s", f.msg)
			status = 2
		}
	}()
	for _, b := range in.prog.begins {
		if in.execTop(b) == ctlExit {
			return in.runEnd()
		}
	}
	if len(in.prog.rules) > 0 || len(in.prog.ends) > 0 {
		for {
			rec, ok := in.nextMainRecord()
			if !ok {
				break
			}
			in.setRecord(rec)
			if in.rules() == ctlExit {
				break
			}
		}
	}
	return in.runEnd()
}

// execTop runs a top-level action; next and exit inside functions unwind to it.
func (in *awkInterp) execTop(b blockStmt) (c ctl) {
	defer func() {
		if r := recover(); r != nil {
			switch x := r.(type) {
			case awkExit:
				in.frames = in.frames[:0]
				c = ctlExit
			case awkNext:
				in.frames = in.frames[:0]
				c = x.c
			default:
				panic(r)
			}
		}
	}()
	return in.execBlock(b)
}

func (in *awkInterp) rules() ctl {
	for _, r := range in.prog.rules {
		hit := false
		switch {
		case r.ranged:
			if r.inRange {
				hit = true
				if in.eval(r.pat2).bool() {
					r.inRange = false
				}
			} else if in.eval(r.pat1).bool() {
				hit = true
				r.inRange = !in.eval(r.pat2).bool()
			}
		case r.pat1 == nil:
			hit = true
		default:
			hit = in.eval(r.pat1).bool()
		}
		if !hit {
			continue
		}
		if r.body == nil {
			io.WriteString(in.out, in.record+in.globals["ORS"].str(in.convfmt()))
			continue
		}
		switch in.execTop(r.body) {
		case ctlExit:
			return ctlExit
		case ctlNext:
			return ctlNone
		case ctlNextFile:
			if in.cur != nil {
				if in.cur.closer != nil {
					in.cur.closer.Close()
				}
				in.cur = nil
			}
			return ctlNone
		}
	}
	return ctlNone
}

func (in *awkInterp) runEnd() (status int) {
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(awkFatal); ok {
				in.out.Flush()
				in.c.errf("%s", f.msg)
				status = 2
				return
			}
			if _, ok := r.(awkExit); ok {
				status = in.exitCode
				return
			}
			panic(r)
		}
	}()
	ends := in.prog.ends
	in.prog.ends = nil // exit inside END ends the program
	for _, b := range ends {
		if in.execTop(b) == ctlExit {
			break
		}
	}
	if in.inputErr && in.exitCode == 0 {
		return 2
	}
	return in.exitCode
}

// nextMainRecord reads the next record of the operands (or stdin).
func (in *awkInterp) nextMainRecord() (string, bool) {
	for {
		if in.cur != nil {
			rec, ok := in.readRecord(in.cur)
			if ok {
				in.globals["NR"] = numVal(in.globals["NR"].num() + 1)
				in.globals["FNR"] = numVal(in.globals["FNR"].num() + 1)
				return rec, true
			}
			if in.cur.closer != nil {
				in.cur.closer.Close()
			}
			in.cur = nil
		}
		argc := int(in.globals["ARGC"].num())
		if in.argIndex >= argc {
			if in.usedFiles {
				return "", false
			}
			in.usedFiles = true
			in.cur = &awkReader{br: bufio.NewReader(in.c.Stdin)}
			in.globals["FNR"] = numVal(0)
			continue
		}
		arg := in.arrays["ARGV"][strconv.Itoa(in.argIndex)].str(in.convfmt())
		in.argIndex++
		if arg == "" {
			continue
		}
		if awkAssignRe().MatchString(arg) {
			name, val, _ := strings.Cut(arg, "=")
			in.globals[name] = strNumVal(unescapeAwk(val))
			continue
		}
		in.usedFiles = true
		r, err := in.c.open(arg)
		if err != nil {
			in.c.errf("cannot open \"%s\" (%s)", arg, errText(err))
			in.inputErr = true
			continue
		}
		in.cur = &awkReader{br: bufio.NewReaderSize(r, 64<<10), closer: r}
		in.globals["FILENAME"] = strVal(arg)
		in.globals["FNR"] = numVal(0)
	}
}

// readRecord reads one record with the current RS.
func (in *awkInterp) readRecord(r *awkReader) (string, bool) {
	in.tick()
	rs := in.globals["RS"].str(in.convfmt())
	if len(r.pending) > 0 {
		rec := r.pending[0]
		r.pending = r.pending[1:]
		return rec, true
	}
	if r.split {
		return "", false
	}
	switch {
	case rs == "\n":
		line, err := readLine(r.br)
		if line == "" && err != nil {
			return "", false
		}
		if errors.Is(err, errLineTooLong) {
			fatalf("%v", err)
		}
		return strings.TrimSuffix(line, rs), true
	case len(rs) == 1:
		line, err := r.br.ReadString(rs[0])
		if line == "" && err != nil {
			return "", false
		}
		return strings.TrimSuffix(line, rs), true
	case rs == "":
		var lines []string
		for {
			line, err := readLine(r.br)
			text := strings.TrimSuffix(line, "\n")
			if text == "" {
				if len(lines) > 0 {
					return strings.Join(lines, "\n"), true
				}
				if err != nil {
					return "", false
				}
				continue
			}
			lines = append(lines, text)
			if err != nil {
				return strings.Join(lines, "\n"), true
			}
		}
	}
	data, err := io.ReadAll(io.LimitReader(r.br, 256<<20))
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false
	}
	r.split = true
	parts := in.regex(rs).Split(string(data), -1)
	if len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	r.pending = parts
	return in.readRecord(r)
}

// getline implements getline, getline var, getline < file, getline var < file.
func (in *awkInterp) getline(g *getlineExpr) awkValue {
	var rec string
	if g.file != nil {
		name := in.eval(g.file).str(in.convfmt())
		r, ok := in.inFiles[name]
		if !ok {
			f, err := in.c.open(name)
			if err != nil {
				return numVal(-1)
			}
			r = &awkReader{br: bufio.NewReader(f), closer: f}
			in.inFiles[name] = r
		}
		line, ok := in.readRecord(r)
		if !ok {
			return numVal(0)
		}
		rec = line
	} else {
		line, ok := in.nextMainRecord()
		if !ok {
			return numVal(0)
		}
		rec = line
	}
	if g.lv != nil {
		in.assign(g.lv, strNumVal(rec))
	} else {
		in.setRecord(rec)
	}
	return numVal(1)
}

func (in *awkInterp) closeStream(name string) int {
	if w, ok := in.outFiles[name]; ok {
		delete(in.outFiles, name)
		if err := w.Close(); err != nil {
			return -1
		}
		return 0
	}
	if r, ok := in.inFiles[name]; ok {
		delete(in.inFiles, name)
		if r.closer != nil {
			r.closer.Close()
		}
		return 0
	}
	return -1
}

func (in *awkInterp) srand(seed awkValue, given bool) float64 {
	prev := in.seed
	if given {
		in.seed = seed.num()
	} else {
		in.seed = float64(time.Now().Unix())
	}
	in.rnd = rand.New(rand.NewSource(int64(in.seed)))
	return prev
}

// system runs a command line through the node's shell.
func (in *awkInterp) system(cmd string) int {
	in.out.Flush()
	return nested(in.c, cmd, WithName("sh"))
}
