package shell

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func init() {
	register(map[string]Program{
		"ls":   runLs,
		"stat": runStat,
	})
}

const lsUsage = "ls [-1aAdlhrRtS] [file ...]"

// runLs is ls: one name a line (as when output is not a terminal), -l long.
func runLs(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{
		short: "1aAdlhrRtSFpin",
		long:  map[string]string{"all": "a", "almost-all": "A", "directory": "d", "human-readable": "h", "reverse": "r", "recursive": "R", "color": "color:"},
		usage: lsUsage,
	})
	if !ok {
		return 2
	}
	if len(files) == 0 {
		files = []string{"."}
	}
	l := lister{c: c, opts: opts}
	status := 0
	var dirs []string
	var plain []entry
	for _, f := range files {
		p := c.abs(f)
		info, err := c.fsys().Stat(p)
		if err != nil {
			if info, err = c.fsys().Lstat(p); err != nil {
				c.errf("cannot access '%s': %s", f, errText(err))
				status = 2
				continue
			}
		}
		if info.IsDir() && !opts.has("d") {
			dirs = append(dirs, f)
			continue
		}
		plain = append(plain, entry{name: f, path: p, info: info})
	}
	l.sort(plain)
	for _, e := range plain {
		l.print(e)
	}
	for i, d := range dirs {
		if len(files) > 1 || opts.has("R") {
			if i > 0 || len(plain) > 0 {
				fmt.Fprintln(c.Stdout)
			}
			fmt.Fprintf(c.Stdout, "%s:\n", d)
		}
		if l.dir(d, c.abs(d)) != 0 {
			status = 2
		}
	}
	return status
}

type entry struct {
	name, path string
	info       fs.FileInfo
}

type lister struct {
	c    *Call
	opts options
}

func (l lister) sort(es []entry) {
	slices.SortStableFunc(es, func(a, b entry) int {
		var r int
		switch {
		case l.opts.has("t"):
			r = b.info.ModTime().Compare(a.info.ModTime())
		case l.opts.has("S"):
			r = int(b.info.Size() - a.info.Size())
		}
		if r == 0 {
			r = strings.Compare(a.name, b.name)
		}
		if l.opts.has("r") {
			r = -r
		}
		return r
	})
}

func (l lister) dir(shown, p string) int {
	entries, err := l.c.fsys().ReadDir(p)
	if err != nil {
		l.c.errf("cannot open directory '%s': %s", shown, errText(err))
		return 1
	}
	var es []entry
	if l.opts.has("a") {
		for _, n := range []string{".", ".."} {
			if info, err := l.c.fsys().Stat(path.Join(p, n)); err == nil {
				es = append(es, entry{name: n, path: path.Join(p, n), info: info})
			}
		}
	}
	for _, d := range entries {
		if strings.HasPrefix(d.Name(), ".") && !l.opts.has("a") && !l.opts.has("A") {
			continue
		}
		info, err := d.Info()
		if err != nil {
			continue
		}
		es = append(es, entry{name: d.Name(), path: path.Join(p, d.Name()), info: info})
	}
	l.sort(es)
	if l.opts.has("l") {
		var blocks int64
		for _, e := range es {
			blocks += (e.info.Size() + 4095) / 4096 * 4
		}
		fmt.Fprintf(l.c.Stdout, "total %d\n", blocks)
	}
	for _, e := range es {
		l.print(e)
	}
	if l.opts.has("R") {
		for _, e := range es {
			if e.info.IsDir() && e.name != "." && e.name != ".." {
				sub := path.Join(shown, e.name)
				fmt.Fprintf(l.c.Stdout, "\n%s:\n", sub)
				l.dir(sub, e.path)
			}
		}
	}
	return 0
}

func (l lister) print(e entry) {
	name := e.name
	if l.opts.has("F") || l.opts.has("p") {
		switch {
		case e.info.IsDir():
			name += "/"
		case l.opts.has("F") && e.info.Mode()&fs.ModeSymlink != 0:
			name += "@"
		case l.opts.has("F") && e.info.Mode().Perm()&0o111 != 0:
			name += "*"
		}
	}
	if !l.opts.has("l") {
		fmt.Fprintln(l.c.Stdout, name)
		return
	}
	size := strconv.FormatInt(e.info.Size(), 10)
	if l.opts.has("h") {
		size = humanSize(e.info.Size())
	}
	owner, group := "root", "root"
	if l.opts.has("n") {
		owner, group = "0", "0"
	}
	line := fmt.Sprintf("%s %d %s %s %s %s %s", modeString(e.info.Mode()), nlink(e.info), owner, group, size, lsTime(e.info.ModTime()), name)
	if e.info.Mode()&fs.ModeSymlink != 0 {
		if t, err := l.c.fsys().Readlink(e.path); err == nil {
			line += " -> " + t
		}
	}
	fmt.Fprintln(l.c.Stdout, line)
}

func nlink(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 0 {
		return uint64(st.Nlink)
	}
	return 1
}

func lsTime(t time.Time) string {
	if time.Since(t) > 180*24*time.Hour || time.Until(t) > time.Hour {
		return t.Format("Jan _2  2006")
	}
	return t.Format("Jan _2 15:04")
}

// humanSize prints a size as ls -h and du -h do.
func humanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10)
	}
	f := float64(n)
	for _, u := range []string{"K", "M", "G", "T", "P"} {
		f /= 1024
		if f < 1024 {
			if f < 10 {
				return fmt.Sprintf("%.1f%s", f, u)
			}
			return fmt.Sprintf("%.0f%s", f, u)
		}
	}
	return fmt.Sprintf("%.0fE", f/1024)
}

// modeString renders a mode as ls -l does ("drwxr-xr-x").
func modeString(m fs.FileMode) string {
	var b [10]byte
	switch {
	case m.IsDir():
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&fs.ModeSocket != 0:
		b[0] = 's'
	case m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	case m&fs.ModeDevice != 0:
		b[0] = 'b'
	default:
		b[0] = '-'
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if m.Perm()&(1<<uint(8-i)) != 0 {
			b[i+1] = rwx[i]
		} else {
			b[i+1] = '-'
		}
	}
	if m&fs.ModeSetuid != 0 {
		b[3] = "Ss"[b2i(b[3] == 'x')]
	}
	if m&fs.ModeSetgid != 0 {
		b[6] = "Ss"[b2i(b[6] == 'x')]
	}
	if m&fs.ModeSticky != 0 {
		b[9] = "Tt"[b2i(b[9] == 'x')]
	}
	return string(b[:])
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func fileType(m fs.FileMode, size int64) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character special file"
	case m&fs.ModeDevice != 0:
		return "block special file"
	case size == 0:
		return "regular empty file"
	}
	return "regular file"
}

const statUsage = "stat [-L] [-c format] file ..."

// runStat is stat [-L] [-c FORMAT] FILE... with the common % conversions.
func runStat(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{short: "Lc:tf", long: map[string]string{"dereference": "L", "format": "c", "printf": "printf:", "terse": "t"}, usage: statUsage})
	if !ok {
		return 1
	}
	if len(files) == 0 {
		return c.usageErr(statUsage, "missing operand")
	}
	format := opts.get("c", "")
	if pf := opts.get("printf", ""); pf != "" {
		format = unescapeC(pf)
	} else if format != "" {
		format += "\n"
	}
	status := 0
	for _, f := range files {
		p := c.abs(f)
		var info fs.FileInfo
		var err error
		switch {
		case isDevice(Clean("/", p)):
			info = deviceInfo{name: Clean("/", p)}
		case opts.has("L"):
			info, err = c.fsys().Stat(p)
		default:
			info, err = c.fsys().Lstat(p)
		}
		if err != nil {
			status = c.fail("cannot statx '%s': %s", f, errText(err))
			continue
		}
		if format == "" {
			name := f
			if info.Mode()&fs.ModeSymlink != 0 {
				if t, err := c.fsys().Readlink(p); err == nil {
					name += " -> " + t
				}
			}
			fmt.Fprintf(c.Stdout, "  File: %s\n  Size: %d\tBlocks: %d\tIO Block: 4096\t%s\nAccess: (%04o/%s)  Uid: (    0/    root)   Gid: (    0/    root)\nModify: %s\n",
				name, info.Size(), (info.Size()+511)/512, fileType(info.Mode(), info.Size()), modeToOctal(info.Mode()), modeString(info.Mode()),
				info.ModTime().Format("2006-01-02 15:04:05.000000000 -0700"))
			continue
		}
		fmt.Fprint(c.Stdout, statFormat(c, format, f, p, info))
	}
	return status
}

func statFormat(c *Call, format, name, p string, info fs.FileInfo) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 >= len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case '%':
			b.WriteByte('%')
		case 'a':
			fmt.Fprintf(&b, "%o", modeToOctal(info.Mode()))
		case 'A':
			b.WriteString(modeString(info.Mode()))
		case 's':
			fmt.Fprintf(&b, "%d", info.Size())
		case 'n':
			b.WriteString(name)
		case 'N':
			b.WriteString("'" + name + "'")
			if info.Mode()&fs.ModeSymlink != 0 {
				if t, err := c.fsys().Readlink(p); err == nil {
					b.WriteString(" -> '" + t + "'")
				}
			}
		case 'F':
			b.WriteString(fileType(info.Mode(), info.Size()))
		case 'U', 'G':
			b.WriteString("root")
		case 'u', 'g':
			b.WriteByte('0')
		case 'h':
			fmt.Fprintf(&b, "%d", nlink(info))
		case 'i':
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				fmt.Fprintf(&b, "%d", st.Ino)
			} else {
				b.WriteByte('0')
			}
		case 'b':
			fmt.Fprintf(&b, "%d", (info.Size()+511)/512)
		case 'B':
			b.WriteString("512")
		case 'Y', 'X', 'Z', 'W':
			fmt.Fprintf(&b, "%d", info.ModTime().Unix())
		case 'y', 'x', 'z', 'w':
			b.WriteString(info.ModTime().Format("2006-01-02 15:04:05.000000000 -0700"))
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

// unescapeC interprets the backslash escapes of printf-like formats.
func unescapeC(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\':
			b.WriteByte('\\')
		case '0':
			b.WriteByte(0)
		case 'a':
			b.WriteByte(7)
		case 'e':
			b.WriteByte(27)
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
