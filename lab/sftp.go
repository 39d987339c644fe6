package lab

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/pkg/sftp"
	"github.com/runbookhq/runbook/lab/shell"
)

// sftpFS serves sftp requests on a node's confined file tree: every path
// goes through shell.FS, exactly as the node's commands do.
type sftpFS struct{ fs *shell.FS }

func sftpHandlers(fsys *shell.FS) sftp.Handlers {
	h := &sftpFS{fs: fsys}
	return sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
}

func cleanPath(p string) string { return path.Clean("/" + p) }

// Fileread opens a file for reading (Get).
func (h *sftpFS) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	f, err := h.fs.Open(cleanPath(r.Filepath))
	if err != nil {
		return nil, err
	}
	return f, nil
}

func openFlags(r *sftp.Request) int {
	pf := r.Pflags()
	flag := 0
	switch {
	case pf.Read && pf.Write:
		flag = os.O_RDWR
	case pf.Write:
		flag = os.O_WRONLY
	default:
		flag = os.O_RDONLY
	}
	if pf.Creat {
		flag |= os.O_CREATE
	}
	if pf.Trunc {
		flag |= os.O_TRUNC
	}
	if pf.Excl {
		flag |= os.O_EXCL
	}
	return flag
}

func createMode(r *sftp.Request) fs.FileMode {
	if r.AttrFlags().Permissions {
		return r.Attributes().FileMode().Perm()
	}
	return 0o644
}

// Filewrite opens a file for writing (Put).
func (h *sftpFS) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	flag := openFlags(r)
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		flag |= os.O_WRONLY
	}
	f, err := h.fs.OpenFile(cleanPath(r.Filepath), flag, createMode(r))
	if err != nil {
		return nil, err
	}
	return f, nil
}

// OpenFile opens a file for reading and writing.
func (h *sftpFS) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	f, err := h.fs.OpenFile(cleanPath(r.Filepath), openFlags(r), createMode(r))
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Filecmd changes the file tree: Setstat, Rename, Rmdir, Mkdir, Link,
// Symlink, Remove.
func (h *sftpFS) Filecmd(r *sftp.Request) error {
	p := cleanPath(r.Filepath)
	switch r.Method {
	case "Setstat":
		return h.setstat(p, r)
	case "Rename":
		if _, err := h.fs.Lstat(cleanPath(r.Target)); err == nil {
			return os.ErrExist // SFTP rename does not replace
		}
		return h.fs.Rename(p, cleanPath(r.Target))
	case "PosixRename":
		return h.fs.Rename(p, cleanPath(r.Target))
	case "Rmdir":
		info, err := h.fs.Lstat(p)
		if err != nil {
			return err
		}
		if !info.IsDir() {
			return errors.New("not a directory")
		}
		return h.fs.Remove(p)
	case "Remove":
		info, err := h.fs.Lstat(p)
		if err != nil {
			return err
		}
		if info.IsDir() {
			return errors.New("is a directory")
		}
		return h.fs.Remove(p)
	case "Mkdir":
		return h.fs.Mkdir(p, 0o755)
	case "Link":
		return h.fs.Link(p, cleanPath(r.Target))
	case "Symlink":
		// Filepath is the link target as written, Target the new link.
		return h.fs.Symlink(r.Filepath, cleanPath(r.Target))
	}
	return sftp.ErrSSHFxOpUnsupported
}

// PosixRename implements sftp.PosixRenameFileCmder.
func (h *sftpFS) PosixRename(r *sftp.Request) error {
	return h.fs.Rename(cleanPath(r.Filepath), cleanPath(r.Target))
}

func (h *sftpFS) setstat(p string, r *sftp.Request) error {
	flags, attrs := r.AttrFlags(), r.Attributes()
	if flags.Size {
		f, err := h.fs.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		err = f.Truncate(int64(attrs.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if flags.Permissions {
		m := attrs.FileMode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if err := h.fs.Chmod(p, m); err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		if err := h.fs.Chtimes(p, attrs.AccessTime(), attrs.ModTime()); err != nil {
			return err
		}
	}
	// Owners are not kept: the lab runs as root.
	return nil
}

// rootOwned reports every file as root's.
type rootOwned struct{ fs.FileInfo }

func (rootOwned) Uid() uint32 { return 0 }
func (rootOwned) Gid() uint32 { return 0 }
func (rootOwned) Sys() any    { return nil }

type listing []os.FileInfo

// ListAt implements sftp.ListerAt.
func (l listing) ListAt(out []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[offset:])
	if n < len(out) || offset+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

// Filelist lists a directory or describes a file (List, Stat).
func (h *sftpFS) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	p := cleanPath(r.Filepath)
	switch r.Method {
	case "List":
		entries, err := h.fs.ReadDir(p)
		if err != nil {
			return nil, err
		}
		out := make(listing, 0, len(entries))
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				continue
			}
			out = append(out, rootOwned{info})
		}
		return out, nil
	case "Stat":
		info, err := h.fs.Stat(p)
		if err != nil {
			return nil, err
		}
		return listing{rootOwned{info}}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// Lstat implements sftp.LstatFileLister.
func (h *sftpFS) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	info, err := h.fs.Lstat(cleanPath(r.Filepath))
	if err != nil {
		return nil, err
	}
	return listing{rootOwned{info}}, nil
}

// Readlink implements sftp.ReadlinkFileLister.
func (h *sftpFS) Readlink(p string) (string, error) { return h.fs.Readlink(cleanPath(p)) }

// RealPath implements sftp.RealPathFileLister: paths are node paths,
// relative ones from root's home.
func (h *sftpFS) RealPath(p string) (string, error) {
	if !path.IsAbs(p) {
		p = path.Join(sftpHome, p)
	}
	return cleanPath(p), nil
}

// sftpHome is where relative sftp paths start.
const sftpHome = "/root"
