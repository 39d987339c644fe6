package sim

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// rel turns an absolute path of the node into a name inside its root.
func rel(p string) string {
	c := path.Clean("/" + p)
	if c == "/" {
		return "."
	}
	return c[1:]
}

// readRootFile reads a file of the node.
func readRootFile(root *os.Root, p string) ([]byte, error) {
	return root.ReadFile(rel(p))
}

// writeRootFile writes a file of the node, creating its parent directories.
func writeRootFile(root *os.Root, p string, data []byte, perm fs.FileMode) error {
	if dir := path.Dir(path.Clean("/" + p)); dir != "/" {
		if err := root.MkdirAll(rel(dir), 0o755); err != nil {
			return err
		}
	}
	if perm&0o200 == 0 {
		// A read-only file (a boot id, the kernel's release) is replaced,
		// not rewritten: only root may open it for writing.
		if err := root.Remove(rel(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return root.WriteFile(rel(p), data, perm)
}

// rootFileExists reports whether a path of the node exists.
func rootFileExists(root *os.Root, p string) bool {
	_, err := root.Stat(rel(p))
	return err == nil
}

// removeRootPath removes a path of the node and what it holds; a missing
// path is no error.
func removeRootPath(root *os.Root, p string) error {
	err := root.RemoveAll(rel(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// listRootDir returns the names of the regular files (and symlinks) of a
// directory of the node, sorted; a missing directory is empty.
func listRootDir(root *os.Root, dir string) ([]string, error) {
	f, err := root.Open(rel(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// clearRootDir removes everything inside a directory of the node, keeping
// the directory itself.
func clearRootDir(root *os.Root, dir string) error {
	f, err := root.Open(rel(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, removeRootPath(root, strings.TrimSuffix(dir, "/")+"/"+e.Name()))
	}
	return errors.Join(errs...)
}

// rootWriter writes many files into a node's root, opening each directory
// once (a path walk inside an os.Root costs a system call per component).
type rootWriter struct {
	root *os.Root
	dirs map[string]*os.Root
}

func newRootWriter(root *os.Root) *rootWriter {
	return &rootWriter{root: root, dirs: map[string]*os.Root{}}
}

// write writes a file, creating its directory.
func (rw *rootWriter) write(p string, data []byte, perm fs.FileMode) error {
	clean := path.Clean("/" + p)
	dir, base := path.Split(clean)
	d := rw.dirs[dir]
	if d == nil {
		if err := rw.root.MkdirAll(rel(dir), 0o755); err != nil {
			return err
		}
		sub, err := rw.root.OpenRoot(rel(dir))
		if err != nil {
			return err
		}
		rw.dirs[dir], d = sub, sub
	}
	return d.WriteFile(base, data, perm)
}

// close releases the directories.
func (rw *rootWriter) close() {
	for _, d := range rw.dirs {
		d.Close()
	}
}
