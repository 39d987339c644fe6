package shell

import (
	"crypto/rand"
	"io"
	"io/fs"
	"path"
	"syscall"
	"time"
)

// The device files a node offers. They are served by the lab, never opened on
// the controller, whatever the node's /dev holds.
const (
	devNull    = "/dev/null"
	devZero    = "/dev/zero"
	devRandom  = "/dev/random"
	devURandom = "/dev/urandom"
	devStdin   = "/dev/stdin"
	devStdout  = "/dev/stdout"
	devStderr  = "/dev/stderr"
	devTTY     = "/dev/tty"
)

// isDevice reports whether the clean node path p is a device the lab serves.
func isDevice(p string) bool {
	switch p {
	case devNull, devZero, devRandom, devURandom, devStdin, devStdout, devStderr, devTTY,
		"/dev/fd/0", "/dev/fd/1", "/dev/fd/2", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2":
		return true
	}
	return false
}

// stdio is the standard streams a device may stand for.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// openDevice opens the device p (see isDevice) over the given streams.
func openDevice(p string, s stdio) (io.ReadWriteCloser, error) {
	switch p {
	case devNull:
		return nullDevice{}, nil
	case devZero:
		return zeroDevice{}, nil
	case devRandom, devURandom:
		return randomDevice{}, nil
	case devStdin, "/dev/fd/0", "/proc/self/fd/0":
		return streamDevice{r: s.in}, nil
	case devStdout, "/dev/fd/1", "/proc/self/fd/1":
		return streamDevice{w: s.out}, nil
	case devStderr, "/dev/fd/2", "/proc/self/fd/2":
		return streamDevice{w: s.err}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.ENXIO}
}

type nullDevice struct{}

func (nullDevice) Read([]byte) (int, error)    { return 0, io.EOF }
func (nullDevice) Write(p []byte) (int, error) { return len(p), nil }
func (nullDevice) Close() error                { return nil }

type zeroDevice struct{}

func (zeroDevice) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
func (zeroDevice) Write(p []byte) (int, error) { return len(p), nil }
func (zeroDevice) Close() error                { return nil }

type randomDevice struct{}

func (randomDevice) Read(p []byte) (int, error)  { return rand.Read(p) }
func (randomDevice) Write(p []byte) (int, error) { return len(p), nil }
func (randomDevice) Close() error                { return nil }

// streamDevice is /dev/stdin, /dev/stdout or /dev/stderr; closing it leaves
// the stream open.
type streamDevice struct {
	r io.Reader
	w io.Writer
}

func (d streamDevice) Read(p []byte) (int, error) {
	if d.r == nil {
		return 0, io.EOF
	}
	return d.r.Read(p)
}

func (d streamDevice) Write(p []byte) (int, error) {
	if d.w == nil {
		return 0, syscall.EBADF
	}
	return d.w.Write(p)
}

func (streamDevice) Close() error { return nil }

// deviceInfo describes a device file for stat and test.
type deviceInfo struct{ name string }

func (d deviceInfo) Name() string { return path.Base(d.name) }
func (deviceInfo) Size() int64    { return 0 }
func (deviceInfo) Mode() fs.FileMode {
	return fs.ModeDevice | fs.ModeCharDevice | 0o666
}
func (deviceInfo) ModTime() time.Time { return time.Time{} }
func (deviceInfo) IsDir() bool        { return false }
func (deviceInfo) Sys() any           { return &syscall.Stat_t{} }
