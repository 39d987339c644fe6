package shell

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/runbookhq/runbook/internal/ctxio"
)

// utilities are this package's programs, by name; Machine.Programs shadow them.
var utilities = map[string]Program{}

// register adds utilities; each file of the package registers its own.
func register(m map[string]Program) {
	for k, v := range m {
		utilities[k] = v
	}
}

// Utilities lists the names of the utilities this package provides.
func Utilities() []string {
	names := make([]string, 0, len(utilities))
	for k := range utilities {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// name is the program's name as shown in messages.
func (c *Call) name() string { return path.Base(c.Args[0]) }

// errf prints "NAME: message" on stderr.
func (c *Call) errf(format string, args ...any) {
	fmt.Fprintf(c.Stderr, "%s: %s\n", c.name(), fmt.Sprintf(format, args...))
}

// fail prints "NAME: message" and returns status 1.
func (c *Call) fail(format string, args ...any) int {
	c.errf(format, args...)
	return 1
}

// fileErr prints "NAME: FILE: reason" and returns status 1.
func (c *Call) fileErr(file string, err error) int {
	c.errf("%s: %s", file, errText(err))
	return 1
}

// fsys is the node's file tree.
func (c *Call) fsys() *FS {
	if c.umask != nil {
		return c.Machine.FS().WithUmask(c.umask.get())
	}
	return c.Machine.FS()
}

// abs makes a path of the command line an absolute node path; ".." is
// left for FS to resolve after symbolic links.
func (c *Call) abs(p string) string { return join(c.Dir, p) }

// env looks up an exported variable.
func (c *Call) env(name string) string {
	if c.Env == nil {
		return ""
	}
	return c.Env(name)
}

// open opens an input operand: "-" is stdin, devices are served by the lab,
// anything else is a node file.
func (c *Call) open(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(c.Stdin), nil
	}
	p := c.abs(name)
	if dev := Clean("/", p); isDevice(dev) {
		d, err := openDevice(dev, stdio{in: c.Stdin, out: c.Stdout, err: c.Stderr})
		if err != nil {
			return nil, err
		}
		// ends a read loop once the command is cancelled, even on an
		// endless device such as /dev/zero
		return struct {
			io.Reader
			io.Closer
		}{ctxio.Reader(c.Ctx, d), d}, nil
	}
	f, err := c.fsys().Open(p)
	if err != nil {
		return nil, err
	}
	if info, err := f.Stat(); err == nil && info.IsDir() {
		f.Close()
		return nil, &fs.PathError{Op: "read", Path: p, Err: syscall.EISDIR}
	}
	return f, nil
}

// create opens an output operand for writing (truncating, or appending).
func (c *Call) create(name string, appendTo bool) (io.WriteCloser, error) {
	if name == "-" {
		return nopWriteCloser{c.Stdout}, nil
	}
	p := c.abs(name)
	if dev := Clean("/", p); isDevice(dev) {
		return openDevice(dev, stdio{in: c.Stdin, out: c.Stdout, err: c.Stderr})
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := c.fsys().OpenFile(p, flag, 0o666)
	if err != nil {
		return nil, err
	}
	return f, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// eachInput calls fn for each operand (stdin when there is none), reporting
// unreadable operands; it returns 1 when one failed.
func (c *Call) eachInput(files []string, fn func(name string, r io.Reader) error) int {
	if len(files) == 0 {
		files = []string{"-"}
	}
	status := 0
	for _, name := range files {
		r, err := c.open(name)
		if err != nil {
			status = c.fileErr(name, err)
			continue
		}
		err = fn(name, r)
		r.Close()
		if err != nil {
			if isWriteErr(err) {
				return 1
			}
			status = c.fileErr(name, err)
		}
	}
	return status
}

// writeErr marks a failure to write the output (the reader went away).
type writeErr struct{ err error }

func (e writeErr) Error() string { return e.err.Error() }
func (e writeErr) Unwrap() error { return e.err }

func isWriteErr(err error) bool {
	var we writeErr
	return errors.As(err, &we)
}

// errText words an error as GNU coreutils do.
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOENT:
			return "No such file or directory"
		case syscall.EACCES, syscall.EPERM:
			return "Permission denied"
		case syscall.EISDIR:
			return "Is a directory"
		case syscall.ENOTDIR:
			return "Not a directory"
		case syscall.EEXIST:
			return "File exists"
		case syscall.ENOTEMPTY:
			return "Directory not empty"
		case syscall.ELOOP:
			return "Too many levels of symbolic links"
		case syscall.EINVAL:
			return "Invalid argument"
		case syscall.EBUSY:
			return "Device or resource busy"
		case syscall.EXDEV:
			return "Invalid cross-device link"
		}
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// sortEntries sorts directory entries by name.
func sortEntries(entries []fs.DirEntry) {
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}

// Bounds on what one utility holds in memory, so that one node's command
// cannot exhaust the controller (all nodes share its memory).
const (
	maxBuffered = 256 << 20 // whole inputs read at once (sort, tail, tr, ...)
	maxLine     = 64 << 20  // one line
)

var (
	errTooLarge    = errors.New("input larger than the lab allows (256 MiB)")
	errLineTooLong = errors.New("line longer than the lab allows (64 MiB)")
)

// readAll reads r to its end, up to maxBuffered bytes.
func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBuffered+1))
	if err == nil && len(data) > maxBuffered {
		return nil, errTooLarge
	}
	return data, err
}

// readLine reads one line with its newline (without one at the end of the
// input), up to maxLine bytes.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return "", errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return string(buf), err
	}
}
