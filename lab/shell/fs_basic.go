package shell

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

func init() {
	register(map[string]Program{
		"cat":      runCat,
		"mkdir":    runMkdir,
		"rmdir":    runRmdir,
		"rm":       runRm,
		"touch":    runTouch,
		"ln":       runLn,
		"readlink": runReadlink,
		"realpath": runRealpath,
		"mktemp":   runMktemp,
		"basename": runBasename,
		"dirname":  runDirname,
	})
}

// runCat is cat [-n] [FILE...].
func runCat(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{short: "nbsuAETve", long: map[string]string{"number": "n"}, usage: "cat [-n] [file ...]"})
	if !ok {
		return 2
	}
	number := opts.has("n") || opts.has("b")
	line := 0
	atStart := true
	return c.eachInput(files, func(_ string, r io.Reader) error {
		if !number {
			if _, err := io.Copy(c.Stdout, r); err != nil {
				return classifyCopyErr(err)
			}
			return nil
		}
		br := bufio.NewReader(r)
		for {
			s, err := readLine(br)
			if s != "" {
				if atStart {
					line++
					if _, werr := fmt.Fprintf(c.Stdout, "%6d\t", line); werr != nil {
						return writeErr{werr}
					}
				}
				if _, werr := io.WriteString(c.Stdout, s); werr != nil {
					return writeErr{werr}
				}
				atStart = strings.HasSuffix(s, "\n")
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	})
}

// classifyCopyErr tells a read error (reported against the file) from a
// write error (the output went away).
func classifyCopyErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return writeErr{err}
}

// runMkdir is mkdir [-p] [-m MODE] [-v] DIR...
func runMkdir(c *Call) int {
	const usage = "mkdir [-pv] [-m mode] directory ..."
	opts, dirs, ok := c.parse(c.Args[1:], optSpec{short: "pvm:", long: map[string]string{"parents": "p", "verbose": "v", "mode": "m"}, usage: usage})
	if !ok {
		return 2
	}
	if len(dirs) == 0 {
		return c.usageErr(usage, "missing operand")
	}
	mode := fs.FileMode(0o777) // less the umask
	if m := opts.get("m", ""); m != "" {
		v, err := parseMode(m, 0o777, true)
		if err != nil {
			return c.usageErr(usage, "invalid mode '%s'", m)
		}
		mode = v
	}
	status := 0
	for _, d := range dirs {
		p := c.abs(d)
		var err error
		if opts.has("p") {
			err = c.fsys().MkdirAll(p, mode)
		} else {
			err = c.fsys().Mkdir(p, mode)
		}
		if err == nil && opts.has("m") {
			err = c.fsys().Chmod(p, mode)
		}
		if err != nil {
			status = c.fail("cannot create directory '%s': %s", d, errText(err))
			continue
		}
		if opts.has("v") {
			fmt.Fprintf(c.Stdout, "mkdir: created directory '%s'\n", d)
		}
	}
	return status
}

// runRmdir is rmdir [-p] DIR...
func runRmdir(c *Call) int {
	opts, dirs, ok := c.parse(c.Args[1:], optSpec{short: "pv", long: map[string]string{"parents": "p", "ignore-fail-on-non-empty": "ignore"}, usage: "rmdir [-p] directory ..."})
	if !ok {
		return 2
	}
	status := 0
	for _, d := range dirs {
		for p := d; ; {
			info, err := c.fsys().Lstat(c.abs(p))
			if err == nil && !info.IsDir() {
				status = c.fail("failed to remove '%s': Not a directory", p)
				break
			}
			if err == nil {
				err = c.fsys().Remove(c.abs(p))
			}
			if err != nil {
				if !opts.has("ignore") {
					status = c.fail("failed to remove '%s': %s", p, errText(err))
				}
				break
			}
			if !opts.has("p") {
				break
			}
			p = path.Dir(p)
			if p == "." || p == "/" {
				break
			}
		}
	}
	return status
}

// runRm is rm [-rRfdv] FILE...
func runRm(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{
		short: "rRfdvi", long: map[string]string{"recursive": "r", "force": "f", "dir": "d", "verbose": "v", "no-preserve-root": "npr", "preserve-root": "pr"},
		usage: "rm [-rfdv] file ...",
	})
	if !ok {
		return 2
	}
	recursive := opts.has("r") || opts.has("R")
	force := opts.has("f")
	if len(files) == 0 && !force {
		return c.usageErr("rm [-rfdv] file ...", "missing operand")
	}
	status := 0
	for _, f := range files {
		p := c.abs(f)
		if r, err := c.fsys().Resolve(p, false); err == nil && r == "/" && !opts.has("npr") {
			status = c.fail("it is dangerous to operate recursively on '/'")
			continue
		}
		if base := path.Base(f); base == "." || base == ".." {
			status = c.fail("refusing to remove '.' or '..' directory: skipping '%s'", f)
			continue
		}
		info, err := c.fsys().Lstat(p)
		if err != nil {
			if !force {
				status = c.fail("cannot remove '%s': %s", f, errText(err))
			}
			continue
		}
		switch {
		case info.IsDir() && recursive:
			err = c.fsys().RemoveAll(p)
		case info.IsDir() && !opts.has("d"):
			status = c.fail("cannot remove '%s': Is a directory", f)
			continue
		default:
			err = c.fsys().Remove(p)
		}
		if err != nil {
			status = c.fail("cannot remove '%s': %s", f, errText(err))
			continue
		}
		if opts.has("v") {
			fmt.Fprintf(c.Stdout, "removed '%s'\n", f)
		}
	}
	return status
}

// runTouch is touch [-c] [-d DATE] [-r REF] FILE...
func runTouch(c *Call) int {
	const usage = "touch [-acm] [-d date] [-r file] file ..."
	opts, files, ok := c.parse(c.Args[1:], optSpec{short: "acmd:r:t:h", long: map[string]string{"no-create": "c", "date": "d", "reference": "r"}, usage: usage})
	if !ok {
		return 2
	}
	if len(files) == 0 {
		return c.usageErr(usage, "missing file operand")
	}
	when := time.Now()
	if d := opts.get("d", ""); d != "" {
		t, err := parseDate(d, time.Now())
		if err != nil {
			return c.fail("invalid date format '%s'", d)
		}
		when = t
	}
	if ref := opts.get("r", ""); ref != "" {
		info, err := c.fsys().Stat(c.abs(ref))
		if err != nil {
			return c.fail("failed to get attributes of '%s': %s", ref, errText(err))
		}
		when = info.ModTime()
	}
	status := 0
	for _, f := range files {
		p := c.abs(f)
		if isDevice(Clean("/", p)) {
			continue
		}
		if _, err := c.fsys().Stat(p); err != nil {
			if opts.has("c") {
				continue
			}
			w, err := c.fsys().OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o666)
			if err != nil {
				status = c.fail("cannot touch '%s': %s", f, errText(err))
				continue
			}
			w.Close()
		}
		if err := c.fsys().Chtimes(p, when, when); err != nil {
			status = c.fail("setting times of '%s': %s", f, errText(err))
		}
	}
	return status
}

// runLn is ln [-s] [-f] [-n] TARGET LINK_NAME, or ln [-sf] TARGET... DIR.
func runLn(c *Call) int {
	const usage = "ln [-sfnTv] target [link_name] | ln [-sf] target ... directory"
	opts, args, ok := c.parse(c.Args[1:], optSpec{short: "sfnTvr", long: map[string]string{"symbolic": "s", "force": "f", "no-dereference": "n", "no-target-directory": "T", "verbose": "v"}, usage: usage})
	if !ok {
		return 2
	}
	if len(args) == 0 {
		return c.usageErr(usage, "missing file operand")
	}
	if len(args) == 1 {
		args = append(args, path.Base(args[0]))
	}
	dest := args[len(args)-1]
	targets := args[:len(args)-1]
	destIsDir := false
	if !opts.has("T") {
		statFn := c.fsys().Stat
		if opts.has("n") {
			statFn = c.fsys().Lstat
		}
		if info, err := statFn(c.abs(dest)); err == nil && info.IsDir() {
			destIsDir = true
		}
	}
	if len(targets) > 1 && !destIsDir {
		return c.fail("target '%s' is not a directory", dest)
	}
	status := 0
	for _, t := range targets {
		name := dest
		if destIsDir {
			name = path.Join(dest, path.Base(t))
		}
		p := c.abs(name)
		if opts.has("f") {
			if info, err := c.fsys().Lstat(p); err == nil && !info.IsDir() {
				_ = c.fsys().Remove(p)
			}
		}
		var err error
		if opts.has("s") {
			err = c.fsys().Symlink(t, p)
		} else {
			err = c.fsys().Link(c.abs(t), p)
		}
		if err != nil {
			kind := "hard link"
			if opts.has("s") {
				kind = "symbolic link"
			}
			status = c.fail("failed to create %s '%s': %s", kind, name, errText(err))
			continue
		}
		if opts.has("v") {
			fmt.Fprintf(c.Stdout, "'%s' -> '%s'\n", name, t)
		}
	}
	return status
}

// runReadlink is readlink [-f|-e|-m] [-n] FILE...
func runReadlink(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{short: "femnqsvz", long: map[string]string{"canonicalize": "f", "canonicalize-existing": "e", "canonicalize-missing": "m", "no-newline": "n"}, usage: "readlink [-fem] [-n] file ..."})
	if !ok {
		return 2
	}
	end := "\n"
	if opts.has("n") {
		end = ""
	}
	status := 0
	for _, f := range files {
		var out string
		var err error
		switch {
		case opts.has("e"):
			out, err = c.fsys().RealPath(c.abs(f))
		case opts.has("f"), opts.has("m"):
			out, err = c.fsys().Resolve(c.abs(f), true)
			if err == nil && opts.has("f") {
				if _, serr := c.fsys().Lstat(path.Dir(out)); serr != nil {
					err = serr
				}
			}
		default:
			out, err = c.fsys().Readlink(c.abs(f))
		}
		if err != nil {
			status = 1
			continue
		}
		fmt.Fprint(c.Stdout, out+end)
	}
	return status
}

// runRealpath is realpath [-e|-m] FILE...
func runRealpath(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{short: "emsqz", long: map[string]string{"canonicalize-existing": "e", "canonicalize-missing": "m", "quiet": "q"}, usage: "realpath [-em] file ..."})
	if !ok {
		return 2
	}
	status := 0
	for _, f := range files {
		var out string
		var err error
		if opts.has("m") {
			out, err = c.fsys().Resolve(c.abs(f), true)
		} else {
			out, err = c.fsys().RealPath(c.abs(f))
			if err != nil && !opts.has("e") {
				// the last component may be missing
				if dir, derr := c.fsys().RealPath(path.Dir(c.abs(f))); derr == nil {
					out, err = path.Join(dir, path.Base(c.abs(f))), nil
				}
			}
		}
		if err != nil {
			if !opts.has("q") {
				status = c.fileErr(f, err)
			} else {
				status = 1
			}
			continue
		}
		fmt.Fprintln(c.Stdout, out)
	}
	return status
}

// runMktemp is mktemp [-d] [-u] [-q] [-p DIR] [-t] [TEMPLATE].
func runMktemp(c *Call) int {
	const usage = "mktemp [-dqtu] [-p dir] [template]"
	opts, args, ok := c.parse(c.Args[1:], optSpec{short: "dqtup:", long: map[string]string{"directory": "d", "quiet": "q", "dry-run": "u", "tmpdir": "p:", "suffix": "suffix:"}, usage: usage})
	if !ok {
		return 1
	}
	if len(args) > 1 {
		return c.usageErr(usage, "too many templates")
	}
	template := "tmp.XXXXXXXXXX"
	explicit := len(args) == 1
	if explicit {
		template = args[0]
	}
	template += opts.get("suffix", "")
	dir := ""
	if !explicit || opts.has("t") || opts.has("p") {
		dir = opts.get("p", "")
		if dir == "" {
			dir = c.env("TMPDIR")
		}
		if dir == "" {
			dir = "/tmp"
		}
	}
	full := template
	if dir != "" {
		full = path.Join(dir, template)
	}
	suffix := opts.get("suffix", "")
	stem := strings.TrimSuffix(full, suffix)
	n := len(stem) - len(strings.TrimRight(stem, "X"))
	if n < 3 {
		if !opts.has("q") {
			c.errf("too few X's in template '%s'", template)
		}
		return 1
	}
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for try := 0; try < 100; try++ {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = letters[int(b[i])%len(letters)]
		}
		name := stem[:len(stem)-n] + string(b) + suffix
		p := c.abs(name)
		var err error
		switch {
		case opts.has("u"):
			_, err = c.fsys().Lstat(p)
			if err == nil {
				continue
			}
			err = nil
		case opts.has("d"):
			err = c.fsys().Mkdir(p, 0o700)
		default:
			var f io.Closer
			f, err = c.fsys().OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err == nil {
				f.Close()
			}
		}
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			if !opts.has("q") {
				kind := "file"
				if opts.has("d") {
					kind = "directory"
				}
				c.errf("failed to create %s via template '%s': %s", kind, full, errText(err))
			}
			return 1
		}
		fmt.Fprintln(c.Stdout, name)
		return 0
	}
	return c.fail("failed to create a unique name from '%s'", full)
}

// runBasename is basename NAME [SUFFIX], or basename -a [-s SUFFIX] NAME...
func runBasename(c *Call) int {
	const usage = "basename name [suffix] | basename -a [-s suffix] name ..."
	opts, args, ok := c.parse(c.Args[1:], optSpec{short: "as:z", long: map[string]string{"multiple": "a", "suffix": "s"}, usage: usage})
	if !ok {
		return 2
	}
	if len(args) == 0 {
		return c.usageErr(usage, "missing operand")
	}
	suffix := opts.get("s", "")
	names := args
	if !opts.has("a") && !opts.has("s") {
		if len(args) > 2 {
			return c.usageErr(usage, "extra operand '%s'", args[2])
		}
		names = args[:1]
		if len(args) == 2 {
			suffix = args[1]
		}
	}
	end := "\n"
	if opts.has("z") {
		end = "\x00"
	}
	for _, n := range names {
		b := baseName(n)
		if suffix != "" && b != suffix {
			b = strings.TrimSuffix(b, suffix)
		}
		fmt.Fprint(c.Stdout, b+end)
	}
	return 0
}

// baseName is POSIX basename: trailing slashes ignored, "/" stays "/".
func baseName(s string) string {
	if s == "" {
		return ""
	}
	t := strings.TrimRight(s, "/")
	if t == "" {
		return "/"
	}
	return t[strings.LastIndexByte(t, '/')+1:]
}

// runDirname is dirname NAME...
func runDirname(c *Call) int {
	const usage = "dirname [-z] name ..."
	opts, args, ok := c.parse(c.Args[1:], optSpec{short: "z", long: map[string]string{"zero": "z"}, usage: usage})
	if !ok {
		return 2
	}
	if len(args) == 0 {
		return c.usageErr(usage, "missing operand")
	}
	end := "\n"
	if opts.has("z") {
		end = "\x00"
	}
	for _, n := range args {
		fmt.Fprint(c.Stdout, dirName(n)+end)
	}
	return 0
}

// dirName is POSIX dirname.
func dirName(s string) string {
	t := strings.TrimRight(s, "/")
	if t == "" {
		if s == "" {
			return "."
		}
		return "/"
	}
	i := strings.LastIndexByte(t, '/')
	if i < 0 {
		return "."
	}
	d := strings.TrimRight(t[:i], "/")
	if d == "" {
		return "/"
	}
	return d
}
