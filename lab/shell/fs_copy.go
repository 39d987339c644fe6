package shell

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

func init() {
	register(map[string]Program{
		"cp":      runCp,
		"mv":      runMv,
		"install": runInstall,
	})
}

const cpUsage = "cp [-rRapPdLfnvT] [-t dir] source ... dest"

// runCp is cp: files, and with -r/-R/-a whole trees, inside the node.
func runCp(c *Call) int {
	opts, args, ok := c.parse(c.Args[1:], optSpec{
		short: "rRapPdLfnvTt:uH",
		long: map[string]string{"recursive": "R", "archive": "a", "preserve": "preserve:", "no-dereference": "P", "dereference": "L",
			"force": "f", "no-clobber": "n", "verbose": "v", "no-target-directory": "T", "target-directory": "t", "update": "u"},
		usage: cpUsage,
	})
	if !ok {
		return 1
	}
	cp := copier{
		c:         c,
		recursive: opts.has("r") || opts.has("R") || opts.has("a"),
		preserve:  opts.has("p") || opts.has("a") || opts.has("preserve"),
		noDeref:   opts.has("P") || opts.has("d") || opts.has("a"),
		noClobber: opts.has("n"),
		verbose:   opts.has("v"),
	}
	if opts.has("L") {
		cp.noDeref = false
	}
	return moveOrCopy(c, opts, args, cpUsage, func(src, dst string, shownSrc, shownDst string) error {
		return cp.copy(src, dst, shownSrc, shownDst, true)
	})
}

// moveOrCopy resolves the operands of cp and mv (SOURCE DEST, SOURCE...
// DIR, -t DIR, -T) and calls do for each source.
func moveOrCopy(c *Call, opts options, args []string, usage string, do func(src, dst, shownSrc, shownDst string) error) int {
	target := opts.get("t", "")
	if target == "" {
		if len(args) < 2 {
			if len(args) == 0 {
				c.usageErr(usage, "missing file operand")
			} else {
				c.usageErr(usage, "missing destination file operand after '%s'", args[0])
			}
			return 1
		}
		target, args = args[len(args)-1], args[:len(args)-1]
	}
	info, err := c.fsys().Stat(c.abs(target))
	intoDir := err == nil && info.IsDir() && !opts.has("T")
	if opts.has("t") && !intoDir {
		return c.fail("target '%s' is not a directory", target)
	}
	if len(args) > 1 && !intoDir {
		return c.fail("target '%s' is not a directory", target)
	}
	status := 0
	for _, src := range args {
		dst := target
		if intoDir {
			dst = path.Join(target, baseName(src))
		}
		if err := do(c.abs(src), c.abs(dst), src, dst); err != nil {
			c.errf("%v", err)
			status = 1
		}
	}
	return status
}

type copier struct {
	c                            *Call
	recursive, preserve, noDeref bool
	noClobber, verbose           bool
}

func (cp copier) copy(src, dst, shownSrc, shownDst string, top bool) error {
	fsys := cp.c.fsys()
	var info fs.FileInfo
	var err error
	if cp.noDeref || !top && cp.recursive {
		info, err = fsys.Lstat(src)
	} else {
		info, err = fsys.Stat(src)
	}
	if err != nil {
		return fmt.Errorf("cannot stat '%s': %s", shownSrc, errText(err))
	}
	if top && info.IsDir() && inside(fsys, src, dst) {
		return fmt.Errorf("cannot copy a directory, '%s', into itself, '%s'", shownSrc, shownDst)
	}
	if dinfo, err := fsys.Stat(dst); err == nil {
		if os.SameFile(info, dinfo) && !info.IsDir() {
			return fmt.Errorf("'%s' and '%s' are the same file", shownSrc, shownDst)
		}
		if cp.noClobber && !info.IsDir() {
			return nil
		}
	}
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		t, err := fsys.Readlink(src)
		if err != nil {
			return fmt.Errorf("cannot read symbolic link '%s': %s", shownSrc, errText(err))
		}
		if old, err := fsys.Lstat(dst); err == nil && !old.IsDir() {
			_ = fsys.Remove(dst)
		}
		if err := fsys.Symlink(t, dst); err != nil {
			return fmt.Errorf("cannot create symbolic link '%s': %s", shownDst, errText(err))
		}
	case info.IsDir():
		if !cp.recursive {
			return fmt.Errorf("-r not specified; omitting directory '%s'", shownSrc)
		}
		if dinfo, err := fsys.Stat(dst); err == nil && !dinfo.IsDir() {
			return fmt.Errorf("cannot overwrite non-directory '%s' with directory '%s'", shownDst, shownSrc)
		} else if err != nil {
			if err := fsys.Mkdir(dst, info.Mode().Perm()|0o700); err != nil {
				return fmt.Errorf("cannot create directory '%s': %s", shownDst, errText(err))
			}
		}
		entries, err := fsys.ReadDir(src)
		if err != nil {
			return fmt.Errorf("cannot access '%s': %s", shownSrc, errText(err))
		}
		var firstErr error
		for _, e := range entries {
			err := cp.copy(path.Join(src, e.Name()), path.Join(dst, e.Name()), path.Join(shownSrc, e.Name()), path.Join(shownDst, e.Name()), false)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if err := fsys.Chmod(dst, info.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil && firstErr == nil {
			firstErr = err
		}
		if cp.preserve {
			_ = fsys.Chtimes(dst, info.ModTime(), info.ModTime())
		}
		if firstErr != nil {
			return firstErr
		}
	case info.Mode().IsRegular():
		if err := copyFile(fsys, src, dst, info, cp.preserve); err != nil {
			return fmt.Errorf("cannot copy '%s' to '%s': %s", shownSrc, shownDst, errText(err))
		}
	default:
		return fmt.Errorf("cannot copy special file '%s'", shownSrc)
	}
	if cp.verbose {
		fmt.Fprintf(cp.c.Stdout, "'%s' -> '%s'\n", shownSrc, shownDst)
	}
	return nil
}

// inside reports whether dst is src or lies under it, once symbolic links
// are followed.
func inside(fsys *FS, src, dst string) bool {
	rs, err := fsys.RealPath(src)
	if err != nil {
		rs = src
	}
	rd, err := fsys.Resolve(dst, true)
	if err != nil {
		rd = dst
	}
	return rd == rs || rs == "/" || strings.HasPrefix(rd, rs+"/")
}

// copyFile copies the regular file src to dst inside one node.
func copyFile(fsys *FS, src, dst string, info fs.FileInfo, preserve bool) error {
	in, err := fsys.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_, existed := fsys.Stat(dst)
	out, err := fsys.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	// A new file gets the source's mode less the umask (done by OpenFile
	// when the tree knows the command's umask); -p keeps it exactly.
	if preserve || existed != nil && fsys.umask == nil {
		if err := fsys.Chmod(dst, info.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
	}
	if preserve {
		return fsys.Chtimes(dst, info.ModTime(), info.ModTime())
	}
	return nil
}

const mvUsage = "mv [-fnvT] [-t dir] source ... dest"

// runMv is mv: rename inside the node.
func runMv(c *Call) int {
	opts, args, ok := c.parse(c.Args[1:], optSpec{
		short: "fnvTt:ui",
		long:  map[string]string{"force": "f", "no-clobber": "n", "verbose": "v", "no-target-directory": "T", "target-directory": "t", "update": "u"},
		usage: mvUsage,
	})
	if !ok {
		return 1
	}
	fsys := c.fsys()
	return moveOrCopy(c, opts, args, mvUsage, func(src, dst, shownSrc, shownDst string) error {
		info, err := fsys.Lstat(src)
		if err != nil {
			return fmt.Errorf("cannot stat '%s': %s", shownSrc, errText(err))
		}
		if info.IsDir() && inside(fsys, src, dst) {
			return fmt.Errorf("cannot move '%s' to a subdirectory of itself, '%s'", shownSrc, shownDst)
		}
		if dinfo, err := fsys.Lstat(dst); err == nil {
			if opts.has("n") {
				return nil
			}
			if dinfo.IsDir() && !info.IsDir() {
				return fmt.Errorf("cannot overwrite directory '%s' with non-directory", shownDst)
			}
		}
		if err := fsys.Rename(src, dst); err != nil {
			return fmt.Errorf("cannot move '%s' to '%s': %s", shownSrc, shownDst, errText(err))
		}
		if opts.has("v") {
			fmt.Fprintf(c.Stdout, "renamed '%s' -> '%s'\n", shownSrc, shownDst)
		}
		return nil
	})
}

const installUsage = "install [-d] [-m mode] [-o owner] [-g group] source ... dest"

// runInstall is install: copy files with a mode, or create directories (-d).
func runInstall(c *Call) int {
	opts, args, ok := c.parse(c.Args[1:], optSpec{short: "dDm:o:g:vCcpTt:", long: map[string]string{"directory": "d", "mode": "m", "owner": "o", "group": "g", "verbose": "v"}, usage: installUsage})
	if !ok {
		return 1
	}
	mode := fs.FileMode(0o755)
	if m := opts.get("m", ""); m != "" {
		v, err := parseMode(m, 0o755, false)
		if err != nil {
			return c.fail("invalid mode '%s'", m)
		}
		mode = v
	}
	if o := opts.get("o", ""); o != "" && !userExists(c, o) {
		return c.fail("invalid user '%s'", o)
	}
	if g := opts.get("g", ""); g != "" && !groupExists(c, g) {
		return c.fail("invalid group '%s'", g)
	}
	fsys := c.fsys()
	if opts.has("d") {
		status := 0
		for _, d := range args {
			if err := fsys.MkdirAll(c.abs(d), mode); err != nil {
				status = c.fail("cannot create directory '%s': %s", d, errText(err))
				continue
			}
			_ = fsys.Chmod(c.abs(d), mode)
		}
		return status
	}
	return moveOrCopy(c, opts, args, installUsage, func(src, dst, shownSrc, shownDst string) error {
		info, err := fsys.Stat(src)
		if err != nil {
			return fmt.Errorf("cannot stat '%s': %s", shownSrc, errText(err))
		}
		if opts.has("D") {
			if err := fsys.MkdirAll(path.Dir(dst), 0o755); err != nil {
				return fmt.Errorf("cannot create directory '%s': %s", path.Dir(shownDst), errText(err))
			}
		}
		if err := copyFile(fsys, src, dst, info, false); err != nil {
			return fmt.Errorf("cannot install '%s' to '%s': %s", shownSrc, shownDst, errText(err))
		}
		return fsys.Chmod(dst, mode)
	})
}
