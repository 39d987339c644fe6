package shell

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"
)

// maxSymlinks bounds symbolic-link resolution, as Linux does (ELOOP).
const maxSymlinks = 40

// FS is a lab node's file tree as its commands see it. Every name is a path
// inside the node: absolute names start at the node's root, ".." never climbs
// above it, and symbolic links — absolute or relative — are resolved inside it
// component by component before the cleaned result is handed to os.Root,
// which refuses any escape by construction. Errors name the node path, never a
// controller path.
type FS struct {
	root *os.Root
	// umask, when set, is the file mode creation mask of the command
	// using the tree: files and directories it creates get exactly the
	// permissions asked for less these bits (the controller's own umask
	// does not show through). Without it the controller's umask
	// applies, as for files the simulated system writes itself.
	umask *fs.FileMode
}

// NewFS returns the file tree confined to root.
func NewFS(root *os.Root) *FS { return &FS{root: root} }

// WithUmask returns the same tree for a command whose file mode creation
// mask is mask.
func (f *FS) WithUmask(mask fs.FileMode) *FS {
	mask &= fs.ModePerm
	return &FS{root: f.root, umask: &mask}
}

// FS returns the machine's confined file tree.
func (m *Machine) FS() *FS { return &FS{root: m.Root} }

// Clean returns name as a clean absolute node path; a relative name is taken
// relative to dir (itself a node path).
func Clean(dir, name string) string {
	if !strings.HasPrefix(name, "/") {
		name = dir + "/" + name
	}
	return path.Clean("/" + name)
}

// join makes name absolute against dir without resolving "..", which FS
// resolves physically (after symbolic links), as the kernel does.
func join(dir, name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	return dir + "/" + name
}

// rel turns a clean absolute node path into a name for os.Root.
func rel(p string) string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "."
	}
	return p
}

// Resolve returns the node path that name designates once every symbolic link
// along it is followed (the last component only when followLast is set).
// Components that do not exist are kept as written, so the result is also the
// place where a new file would be created.
func (f *FS) Resolve(name string, followLast bool) (string, error) {
	if f == nil || f.root == nil {
		return "", &fs.PathError{Op: "resolve", Path: name, Err: errors.New("node has no file tree")}
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", &fs.PathError{Op: "resolve", Path: name, Err: syscall.EINVAL}
	}
	rest := strings.Split(name, "/")
	resolved := "/"
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, c)
		if len(rest) == 0 && !followLast {
			return next, nil
		}
		info, err := f.root.Lstat(rel(next))
		if err != nil {
			// Not there (or not a directory): the remainder is kept as written.
			return path.Join(append([]string{next}, rest...)...), nil
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		links++
		if links > maxSymlinks {
			return "", &fs.PathError{Op: "resolve", Path: name, Err: syscall.ELOOP}
		}
		target, err := f.root.Readlink(rel(next))
		if err != nil {
			return "", f.wrap("readlink", next, err)
		}
		if strings.HasPrefix(target, "/") {
			resolved = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return resolved, nil
}

// wrap renames the path of an os.Root error to the node path.
func (f *FS) wrap(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: op, Path: name, Err: pe.Err}
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return &fs.PathError{Op: op, Path: name, Err: le.Err}
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func (f *FS) resolve(op, name string, followLast bool) (string, error) {
	p, err := f.Resolve(name, followLast)
	if err != nil {
		return "", f.wrap(op, Clean("/", name), err)
	}
	return p, nil
}

// OpenFile opens name with the flags of os.OpenFile. O_EXCL and O_NOFOLLOW
// do not follow a symbolic link in the last component, as on Linux.
func (f *FS) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	follow := flag&(os.O_EXCL|syscall.O_NOFOLLOW) == 0
	p, err := f.resolve("open", name, follow)
	if err != nil {
		return nil, err
	}
	if f.umask == nil || flag&os.O_CREATE == 0 {
		file, err := f.root.OpenFile(rel(p), flag, perm)
		return file, f.wrap("open", Clean("/", name), err)
	}
	_, statErr := f.root.Lstat(rel(p))
	file, err := f.root.OpenFile(rel(p), flag, perm)
	if err != nil {
		return nil, f.wrap("open", Clean("/", name), err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := file.Chmod(f.masked(perm)); err != nil {
			file.Close()
			return nil, f.wrap("chmod", Clean("/", name), err)
		}
	}
	return file, nil
}

// masked is perm less the tree's umask, keeping the special bits.
func (f *FS) masked(perm fs.FileMode) fs.FileMode {
	if f.umask == nil {
		return perm
	}
	return perm &^ *f.umask
}

// Open opens name for reading.
func (f *FS) Open(name string) (*os.File, error) { return f.OpenFile(name, os.O_RDONLY, 0) }

// Stat describes name, following symbolic links.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	p, err := f.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	info, err := f.root.Stat(rel(p))
	return info, f.wrap("stat", Clean("/", name), err)
}

// Lstat describes name without following a symbolic link in its last component.
func (f *FS) Lstat(name string) (fs.FileInfo, error) {
	p, err := f.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	info, err := f.root.Lstat(rel(p))
	return info, f.wrap("lstat", Clean("/", name), err)
}

// ReadDir lists the directory name, sorted by file name.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	d, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, f.wrap("readdir", Clean("/", name), err)
	}
	sortEntries(entries)
	return entries, nil
}

// ReadFile reads the whole file name.
func (f *FS) ReadFile(name string) ([]byte, error) {
	p, err := f.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	b, err := f.root.ReadFile(rel(p))
	return b, f.wrap("open", Clean("/", name), err)
}

// WriteFile writes data to name, creating it with perm or truncating it.
func (f *FS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	file, err := f.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = file.Write(data)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return f.wrap("write", Clean("/", name), err)
}

// Mkdir creates the directory name.
func (f *FS) Mkdir(name string, perm fs.FileMode) error {
	p, err := f.resolve("mkdir", name, false)
	if err != nil {
		return err
	}
	if err := f.root.Mkdir(rel(p), perm); err != nil {
		return f.wrap("mkdir", Clean("/", name), err)
	}
	if f.umask != nil {
		return f.wrap("chmod", Clean("/", name), f.root.Chmod(rel(p), f.masked(perm)))
	}
	return nil
}

// MkdirAll creates the directory name and any missing parents.
func (f *FS) MkdirAll(name string, perm fs.FileMode) error {
	p, err := f.resolve("mkdir", name, true)
	if err != nil {
		return err
	}
	if p == "/" {
		return nil
	}
	if f.umask == nil {
		return f.wrap("mkdir", Clean("/", name), f.root.MkdirAll(rel(p), perm))
	}
	// Each directory made gets perm less the umask, as mkdir -p does.
	made := "/"
	for _, c := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		made = path.Join(made, c)
		info, err := f.root.Stat(rel(made))
		if err == nil {
			if !info.IsDir() {
				return &fs.PathError{Op: "mkdir", Path: Clean("/", name), Err: syscall.ENOTDIR}
			}
			continue
		}
		if err := f.root.Mkdir(rel(made), perm); err != nil && !errors.Is(err, fs.ErrExist) {
			return f.wrap("mkdir", Clean("/", name), err)
		}
		if err := f.root.Chmod(rel(made), f.masked(perm)); err != nil {
			return f.wrap("chmod", Clean("/", name), err)
		}
	}
	return nil
}

// Remove removes the file or empty directory name (a symbolic link itself,
// not its target).
func (f *FS) Remove(name string) error {
	p, err := f.resolve("remove", name, false)
	if err != nil {
		return err
	}
	if p == "/" {
		return &fs.PathError{Op: "remove", Path: "/", Err: syscall.EBUSY}
	}
	return f.wrap("remove", Clean("/", name), f.root.Remove(rel(p)))
}

// RemoveAll removes name and everything under it; links are removed, never
// followed.
func (f *FS) RemoveAll(name string) error {
	p, err := f.resolve("remove", name, false)
	if err != nil {
		return err
	}
	if p == "/" {
		return &fs.PathError{Op: "remove", Path: "/", Err: syscall.EBUSY}
	}
	return f.wrap("remove", Clean("/", name), f.root.RemoveAll(rel(p)))
}

// Rename moves oldname to newname.
func (f *FS) Rename(oldname, newname string) error {
	op, err := f.resolve("rename", oldname, false)
	if err != nil {
		return err
	}
	np, err := f.resolve("rename", newname, false)
	if err != nil {
		return err
	}
	if op == "/" || np == "/" {
		return &fs.PathError{Op: "rename", Path: Clean("/", oldname), Err: syscall.EBUSY}
	}
	return f.wrap("rename", Clean("/", oldname), f.root.Rename(rel(op), rel(np)))
}

// Symlink creates name as a symbolic link holding target as written. The
// target is only ever interpreted inside the node.
func (f *FS) Symlink(target, name string) error {
	if strings.IndexByte(target, 0) >= 0 {
		return &fs.PathError{Op: "symlink", Path: name, Err: syscall.EINVAL}
	}
	p, err := f.resolve("symlink", name, false)
	if err != nil {
		return err
	}
	return f.wrap("symlink", Clean("/", name), f.root.Symlink(target, rel(p)))
}

// Readlink returns the target of the symbolic link name.
func (f *FS) Readlink(name string) (string, error) {
	p, err := f.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	t, err := f.root.Readlink(rel(p))
	return t, f.wrap("readlink", Clean("/", name), err)
}

// Link creates newname as a hard link to oldname.
func (f *FS) Link(oldname, newname string) error {
	op, err := f.resolve("link", oldname, true)
	if err != nil {
		return err
	}
	np, err := f.resolve("link", newname, false)
	if err != nil {
		return err
	}
	return f.wrap("link", Clean("/", newname), f.root.Link(rel(op), rel(np)))
}

// Chmod changes the permission bits of name, following symbolic links.
func (f *FS) Chmod(name string, mode fs.FileMode) error {
	p, err := f.resolve("chmod", name, true)
	if err != nil {
		return err
	}
	return f.wrap("chmod", Clean("/", name), f.root.Chmod(rel(p), mode))
}

// Chtimes changes the access and modification times of name.
func (f *FS) Chtimes(name string, atime, mtime time.Time) error {
	p, err := f.resolve("chtimes", name, true)
	if err != nil {
		return err
	}
	return f.wrap("chtimes", Clean("/", name), f.root.Chtimes(rel(p), atime, mtime))
}

// RealPath returns the canonical node path of name: every symbolic link
// followed, name required to exist.
func (f *FS) RealPath(name string) (string, error) {
	p, err := f.resolve("realpath", name, true)
	if err != nil {
		return "", err
	}
	if _, err := f.root.Lstat(rel(p)); err != nil {
		return "", f.wrap("realpath", Clean("/", name), err)
	}
	return p, nil
}
