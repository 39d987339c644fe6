package shell

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

func init() {
	register(map[string]Program{
		"hostname": runHostname,
		"uname":    runUname,
		"id":       runID,
		"whoami":   func(c *Call) int { fmt.Fprintln(c.Stdout, currentUser(c).name); return 0 },
		"nproc":    runNproc,
		"xargs":    runXargs,
	})
}

// nodeFile reads a small node file, trimmed, or returns def.
func nodeFile(c *Call, p, def string) string {
	data, err := c.fsys().ReadFile(p)
	if err != nil {
		return def
	}
	if s := strings.TrimSpace(string(data)); s != "" {
		return s
	}
	return def
}

func hostname(c *Call) string { return nodeFile(c, "/etc/hostname", c.Machine.Name) }

// runHostname is hostname [-s|-f|-i|-I]; it cannot set the name.
func runHostname(c *Call) int {
	name := hostname(c)
	if len(c.Args) == 1 {
		fmt.Fprintln(c.Stdout, name)
		return 0
	}
	switch c.Args[1] {
	case "-s", "--short":
		short, _, _ := strings.Cut(name, ".")
		fmt.Fprintln(c.Stdout, short)
	case "-f", "--fqdn", "--long", "-A", "--all-fqdns":
		fmt.Fprintln(c.Stdout, name)
	case "-i", "--ip-address", "-I", "--all-ip-addresses":
		fmt.Fprintln(c.Stdout, nodeFile(c, "/etc/lab/ip", "127.0.0.1"))
	default:
		if strings.HasPrefix(c.Args[1], "-") {
			return c.usageErr("hostname [-s|-f|-i|-I]", "invalid option -- '%s'", strings.TrimLeft(c.Args[1], "-"))
		}
		return c.fail("you must be root to change the host name")
	}
	return 0
}

// runUname is uname [-asnrvmpio]. The kernel release is the node's
// /proc/sys/kernel/osrelease when present.
func runUname(c *Call) int {
	opts, rest, ok := c.parse(c.Args[1:], optSpec{
		short: "asnrvmpio",
		long:  map[string]string{"all": "a", "kernel-name": "s", "nodename": "n", "kernel-release": "r", "kernel-version": "v", "machine": "m", "processor": "p", "hardware-platform": "i", "operating-system": "o"},
		usage: "uname [-asnrvmpio]",
	})
	if !ok {
		return 1
	}
	if len(rest) > 0 {
		return c.usageErr("uname [-asnrvmpio]", "extra operand '%s'", rest[0])
	}
	arch := nodeFile(c, "/proc/sys/kernel/arch", "x86_64")
	fields := []struct {
		flag, value string
	}{
		{"s", "Linux"},
		{"n", hostname(c)},
		{"r", nodeFile(c, "/proc/sys/kernel/osrelease", "5.15.0-91-generic")},
		{"v", nodeFile(c, "/proc/sys/kernel/version", "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023")},
		{"m", arch},
		{"p", arch},
		{"i", arch},
		{"o", "GNU/Linux"},
	}
	var out []string
	all := opts.has("a")
	for _, f := range fields {
		if opts.has(f.flag) || all && f.flag != "p" && f.flag != "i" {
			out = append(out, f.value)
		}
	}
	if len(out) == 0 {
		out = []string{"Linux"}
	}
	fmt.Fprintln(c.Stdout, strings.Join(out, " "))
	return 0
}

// runID is id [-u|-g|-G] [-n] [-r] [USER].
func runID(c *Call) int {
	opts, args, ok := c.parse(c.Args[1:], optSpec{short: "ugGnrz", long: map[string]string{"user": "u", "group": "g", "groups": "G", "name": "n", "real": "r"}, usage: "id [-u|-g|-G] [-n] [user]"})
	if !ok {
		return 1
	}
	cur := currentUser(c)
	name, uid, gid := cur.name, cur.uid, cur.gid
	if len(args) > 0 {
		found := false
		for _, p := range readPasswd(c.fsys()) {
			if p.name == args[0] || p.uid == args[0] {
				name, uid, gid, found = p.name, p.uid, p.gid, true
				break
			}
		}
		if !found && args[0] != "root" && args[0] != "0" {
			return c.fail("'%s': no such user", args[0])
		}
	}
	group := "root"
	if gid != "0" {
		group = name
	}
	switch {
	case opts.has("u") && opts.has("n"):
		fmt.Fprintln(c.Stdout, name)
	case opts.has("u"):
		fmt.Fprintln(c.Stdout, uid)
	case (opts.has("g") || opts.has("G")) && opts.has("n"):
		fmt.Fprintln(c.Stdout, group)
	case opts.has("g") || opts.has("G"):
		fmt.Fprintln(c.Stdout, gid)
	default:
		fmt.Fprintf(c.Stdout, "uid=%s(%s) gid=%s(%s) groups=%s(%s)\n", uid, name, gid, group, gid, group)
	}
	return 0
}

// runNproc prints the node's processor count (its /proc/cpuinfo, else 2).
func runNproc(c *Call) int {
	n := 0
	if data, err := c.fsys().ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "processor") {
				n++
			}
		}
	}
	if n == 0 {
		n = 2
	}
	fmt.Fprintln(c.Stdout, n)
	return 0
}

const xargsUsage = "xargs [-0rt] [-d delim] [-n max-args] [-L max-lines] [-I replace] [command [initial-arguments]]"

// runXargs is xargs: build command lines from standard input and run them.
// Exit 123 when a command failed, 127 when it is not found.
func runXargs(c *Call) int {
	opts, cmd, ok := c.parse(c.Args[1:], optSpec{
		short: "0rtd:n:L:I:i:s:P:E:a:x",
		long:  map[string]string{"null": "0", "no-run-if-empty": "r", "verbose": "t", "delimiter": "d", "max-args": "n", "max-lines": "L", "replace": "I", "max-procs": "P", "arg-file": "a"},
		posix: true, usage: xargsUsage,
	})
	if !ok {
		return 1
	}
	if len(cmd) == 0 {
		cmd = []string{"echo"}
	}
	in := c.Stdin
	if f := opts.get("a", ""); f != "" {
		r, err := c.open(f)
		if err != nil {
			return c.fileErr(f, err)
		}
		defer r.Close()
		in = r
	}
	data, err := readAll(in)
	if err != nil {
		return c.fail("read error: %v", err)
	}
	var items []string
	var lines [][]string
	switch {
	case opts.has("0"):
		items = strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
		if len(data) == 0 {
			items = nil
		}
	case opts.has("d"):
		d := unescapeC(opts.get("d", ""))
		if d == "" {
			return c.fail("invalid delimiter")
		}
		items = strings.Split(strings.TrimSuffix(string(data), "\n"), d[:1])
		if len(data) == 0 {
			items = nil
		}
	default:
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			words, err := xargsWords(sc.Text())
			if err != nil {
				return c.fail("%v", err)
			}
			if len(words) > 0 {
				lines = append(lines, words)
				items = append(items, words...)
			}
		}
	}
	replace := opts.get("I", opts.get("i", ""))
	if opts.has("i") && replace == "" {
		replace = "{}"
	}
	var batches [][]string
	switch {
	case replace != "":
		// one command per input line (whole line, leading blanks removed)
		src := items
		if !opts.has("0") && !opts.has("d") {
			src = nil
			for _, l := range strings.Split(string(data), "\n") {
				if l = strings.TrimLeft(l, " \t"); l != "" {
					src = append(src, l)
				}
			}
		}
		for _, it := range src {
			var argv []string
			for _, a := range cmd {
				argv = append(argv, strings.ReplaceAll(a, replace, it))
			}
			batches = append(batches, argv)
		}
	case opts.has("L"):
		n, err := strconv.Atoi(opts.get("L", ""))
		if err != nil || n < 1 {
			return c.fail("invalid number for -L option")
		}
		for i := 0; i < len(lines); i += n {
			var argv []string
			for _, l := range lines[i:min(len(lines), i+n)] {
				argv = append(argv, l...)
			}
			batches = append(batches, append(append([]string{}, cmd...), argv...))
		}
	default:
		n := len(items)
		if v := opts.get("n", ""); v != "" {
			if n, err = strconv.Atoi(v); err != nil || n < 1 {
				return c.fail("invalid number for -n option")
			}
		}
		if n == 0 {
			n = 1
		}
		for i := 0; i < len(items); i += n {
			batches = append(batches, append(append([]string{}, cmd...), items[i:min(len(items), i+n)]...))
		}
		if len(items) == 0 && !opts.has("r") {
			batches = [][]string{cmd}
		}
	}
	status := 0
	for _, argv := range batches {
		if c.Ctx.Err() != nil {
			return 130
		}
		if opts.has("t") {
			fmt.Fprintln(c.Stderr, strings.Join(argv, " "))
		}
		sub := *c
		sub.Args = argv
		sub.Stdin = strings.NewReader("")
		switch code := Exec(&sub); {
		case code == 0:
		case code == 127 || code == 126:
			return code
		case code == 255:
			c.errf("%s: exited with status 255; aborting", argv[0])
			return 124
		default:
			status = 123
		}
	}
	return status
}

// xargsWords splits one input line as xargs does: blanks separate, quotes
// and backslashes protect.
func xargsWords(line string) ([]string, error) {
	var out []string
	var b strings.Builder
	inWord := false
	quote := byte(0)
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				b.WriteByte(ch)
			}
		case ch == '\'' || ch == '"':
			quote, inWord = ch, true
		case ch == '\\' && i+1 < len(line):
			i++
			b.WriteByte(line[i])
			inWord = true
		case ch == ' ' || ch == '\t':
			if inWord {
				out = append(out, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteByte(ch)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unmatched %s quote; by default quotes are special to xargs unless you use the -0 option", map[byte]string{'\'': "single", '"': "double"}[quote])
	}
	if inWord {
		out = append(out, b.String())
	}
	return out, nil
}
