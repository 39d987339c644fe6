package shell

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// gzipMagic starts every gzip stream.
var gzipMagic = []byte{0x1f, 0x8b}

func tarRead(c *Call, t *tarOpts) int {
	var in io.ReadCloser
	if t.file == "-" {
		in = io.NopCloser(c.Stdin)
	} else {
		f, err := c.open(t.file)
		if err != nil {
			c.errf("%s: Cannot open: %s", t.file, errText(err))
			return 2
		}
		in = f
	}
	defer in.Close()
	br := bufio.NewReaderSize(in, 64<<10)
	var r io.Reader = br
	if head, _ := br.Peek(2); t.gzip || (len(head) == 2 && head[0] == gzipMagic[0] && head[1] == gzipMagic[1]) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			c.errf("This does not look like a gzip archive: %v", err)
			return 2
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	base := c.Dir
	if t.dir != "" {
		base = c.abs(t.dir)
	}
	status := 0
	var written int64
	for {
		if c.Ctx.Err() != nil {
			return 2
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.errf("Error reading the archive: %v", err)
			return 2
		}
		name, ok := t.memberName(c, hdr.Name)
		if !ok {
			status = 2
			continue
		}
		if name == "" || !t.selected(name) {
			continue
		}
		if t.mode == 't' {
			tarList(c, t, hdr, name)
			continue
		}
		if t.verbose {
			fmt.Fprintln(c.Stdout, name)
		}
		n, err := tarExtract(c, t, tr, hdr, base, name, maxExtract-written)
		written += n
		if err != nil {
			c.errf("%s: %v", name, err)
			status = 2
		}
	}
	return status
}

// memberName checks and rewrites an archive member's name for extraction.
func (t *tarOpts) memberName(c *Call, name string) (string, bool) {
	if strings.IndexByte(name, 0) >= 0 {
		c.errf("%s: Member name contains a NUL byte", strings.ReplaceAll(name, "\x00", "\\0"))
		return "", false
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			c.errf("%s: Member name contains '..'", name)
			return "", false
		}
	}
	if strings.HasPrefix(name, "/") && !t.absolute {
		name = strings.TrimLeft(name, "/")
		if !t.warnedSlash {
			c.errf("Removing leading `/' from member names")
			t.warnedSlash = true
		}
	}
	if t.strip > 0 {
		parts := strings.Split(strings.Trim(path.Clean(name), "/"), "/")
		if len(parts) <= t.strip {
			return "", true
		}
		name = strings.Join(parts[t.strip:], "/")
	}
	return name, true
}

func (t *tarOpts) selected(name string) bool {
	if t.excluded(strings.TrimSuffix(name, "/")) {
		return false
	}
	if len(t.operands) == 0 {
		return true
	}
	clean := strings.TrimSuffix(path.Clean(name), "/")
	for _, op := range t.operands {
		op = strings.TrimSuffix(path.Clean(op), "/")
		if clean == op || strings.HasPrefix(clean, op+"/") {
			return true
		}
		if ok, _ := path.Match(op, clean); ok {
			return true
		}
	}
	return false
}

func tarList(c *Call, t *tarOpts, hdr *tar.Header, name string) {
	if !t.verbose {
		fmt.Fprintln(c.Stdout, name)
		return
	}
	line := fmt.Sprintf("%s %s/%s %8d %s %s", modeString(hdr.FileInfo().Mode()), orDefault(hdr.Uname, "root"), orDefault(hdr.Gname, "root"),
		hdr.Size, hdr.ModTime.Format("2006-01-02 15:04"), name)
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		line += " -> " + hdr.Linkname
	case tar.TypeLink:
		line += " link to " + hdr.Linkname
	}
	fmt.Fprintln(c.Stdout, line)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// tarExtract writes one member under base (or at its absolute node path
// with -P); it returns the bytes written.
func tarExtract(c *Call, t *tarOpts, r io.Reader, hdr *tar.Header, base, name string, budget int64) (int64, error) {
	fsys := c.fsys()
	dest := Clean(base, name)
	if t.absolute && strings.HasPrefix(name, "/") {
		dest = Clean("/", name)
	}
	mode := fs.FileMode(hdr.Mode).Perm()
	if t.toStdout {
		if hdr.Typeflag == tar.TypeReg {
			return io.Copy(c.Stdout, r)
		}
		return 0, nil
	}
	existing, statErr := fsys.Lstat(dest)
	if t.keep && statErr == nil && hdr.Typeflag != tar.TypeDir {
		return 0, nil
	}
	if err := fsys.MkdirAll(path.Dir(dest), 0o755); err != nil {
		return 0, messagef("Cannot mkdir: %s", errText(err))
	}
	// Replace what is there rather than writing through it.
	replace := func() error {
		if statErr == nil && !existing.IsDir() {
			return fsys.Remove(dest)
		}
		if statErr == nil && existing.IsDir() {
			return fsys.Remove(dest) // only an empty directory goes
		}
		return nil
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if statErr == nil && !existing.IsDir() {
			_ = fsys.Remove(dest)
		}
		if err := fsys.MkdirAll(dest, mode|0o700); err != nil {
			return 0, messagef("Cannot mkdir: %s", errText(err))
		}
		_ = fsys.Chmod(dest, mode)
		_ = fsys.Chtimes(dest, hdr.ModTime, hdr.ModTime)
	case tar.TypeReg:
		if err := replace(); err != nil {
			return 0, messagef("Cannot open: %s", errText(err))
		}
		f, err := fsys.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return 0, messagef("Cannot open: %s", errText(err))
		}
		if hdr.Size > budget {
			f.Close()
			return 0, messagef("Cannot write: the archive is larger than the lab allows")
		}
		n, err := io.CopyN(f, r, hdr.Size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return n, messagef("Cannot write: %v", err)
		}
		_ = fsys.Chmod(dest, mode)
		_ = fsys.Chtimes(dest, hdr.ModTime, hdr.ModTime)
		return n, nil
	case tar.TypeSymlink:
		if err := replace(); err != nil {
			return 0, messagef("Cannot create symlink: %s", errText(err))
		}
		if err := fsys.Symlink(hdr.Linkname, dest); err != nil {
			return 0, messagef("Cannot create symlink to '%s': %s", hdr.Linkname, errText(err))
		}
	case tar.TypeLink:
		target, ok := t.memberName(c, hdr.Linkname)
		if !ok {
			return 0, messagef("Cannot hard link to '%s'", hdr.Linkname)
		}
		if err := replace(); err != nil {
			return 0, messagef("Cannot hard link: %s", errText(err))
		}
		if err := fsys.Link(Clean(base, target), dest); err != nil {
			return 0, messagef("Cannot hard link to '%s': %s", hdr.Linkname, errText(err))
		}
	case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
	default:
		return 0, messagef("Cannot mknod: Operation not permitted")
	}
	return 0, nil
}
