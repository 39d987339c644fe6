package shell

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"

	"mvdan.cc/sh/v3/interp"
)

// session holds the handlers of one interpreter run.
type session struct {
	m     *Machine
	fs    *FS
	funcs map[string]bool
	calls atomic.Uint64
	umask *shellUmask
}

// maxGoFrames bounds the interpreter's Go stack: mvdan.cc/sh has no limit of
// its own on function recursion, and a Go stack overflow would end the whole
// lab process, every node with it.
const maxGoFrames = 25000

var errTooDeep = errors.New("maximum function nesting level exceeded")

// Names of the lab's own versions of builtins that would otherwise look at
// the controller's file system (PATH searches, pwd -P). A NUL byte keeps them
// out of reach of scripts.
const (
	internalType    = "\x00type"
	internalCommand = "\x00command"
	internalPwd     = "\x00pwd"
	internalKill    = "\x00kill"
	internalUmask   = "\x00umask"
	internalDetach  = "\x00detach"
	sourceMarker    = "\x00source:"
)

// call is the interpreter's CallHandler: it guards recursion and routes the
// builtins that search the controller's PATH to the lab's own versions.
func (s *session) call(ctx context.Context, args []string) ([]string, error) {
	// Unwinding the stack costs its depth, so look every few calls only.
	if s.calls.Add(1)%16 == 0 {
		var pc [1]uintptr
		if runtime.Callers(maxGoFrames, pc[:]) > 0 {
			return nil, errTooDeep
		}
	}
	// "builtin type", "command source", ... reach the same builtins.
	for len(args) > 1 && (args[0] == "builtin" || args[0] == "command") && sensitiveBuiltin(args[1]) {
		args = args[1:]
	}
	switch args[0] {
	case "type":
		return append([]string{internalType}, args[1:]...), nil
	case "command":
		if len(args) > 1 && strings.HasPrefix(args[1], "-") && strings.ContainsAny(args[1], "vV") {
			return append([]string{internalCommand}, args[1:]...), nil
		}
	case "pwd":
		return append([]string{internalPwd}, args[1:]...), nil
	case "trap":
		return trapArgs(args), nil
	case "kill":
		return append([]string{internalKill}, args[1:]...), nil
	case "umask":
		return append([]string{internalUmask}, args[1:]...), nil
	case "source", ".":
		if len(args) > 1 {
			hc := interp.HandlerCtx(ctx)
			out := append([]string(nil), args...)
			out[1] = sourceMarker + s.sourcePath(hc, args[1])
			return out, nil
		}
	}
	return args, nil
}

func sensitiveBuiltin(name string) bool {
	switch name {
	case "type", "command", "pwd", "source", ".", "builtin", "trap", "kill", "umask":
		return true
	}
	return false
}

// sourcePath finds the file `source NAME` reads: NAME itself when it has a
// slash, else the first match in the node's PATH, else NAME in the current
// directory (as bash does outside POSIX mode).
func (s *session) sourcePath(hc interp.HandlerContext, name string) string {
	if !strings.Contains(name, "/") {
		for _, dir := range strings.Split(hc.Env.Get("PATH").String(), ":") {
			if dir == "" {
				dir = "."
			}
			p := join(hc.Dir, dir+"/"+name)
			if info, err := s.fs.Stat(p); err == nil && info.Mode().IsRegular() {
				return p
			}
		}
	}
	return join(hc.Dir, name)
}

// open is the interpreter's OpenHandler (redirections and source).
func (s *session) open(ctx context.Context, name string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	hc := interp.HandlerCtx(ctx)
	name = strings.TrimPrefix(name, sourceMarker)
	p := join(hc.Dir, name)
	if dev := Clean("/", p); isDevice(dev) {
		return openDevice(dev, stdio{in: hc.Stdin, out: hc.Stdout, err: hc.Stderr})
	}
	if flag&os.O_CREATE != 0 {
		perm = 0o666 // as bash creates files, less the umask
	}
	f, err := s.fs.WithUmask(s.umask.get()).OpenFile(p, flag, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// stat is the interpreter's StatHandler (test, cd, globbing).
func (s *session) stat(ctx context.Context, name string, follow bool) (fs.FileInfo, error) {
	hc := interp.HandlerCtx(ctx)
	p := join(hc.Dir, name)
	if dev := Clean("/", p); isDevice(dev) {
		return deviceInfo{name: dev}, nil
	}
	if follow {
		return s.fs.Stat(p)
	}
	return s.fs.Lstat(p)
}

// readDir is the interpreter's ReadDirHandler2 (globbing).
func (s *session) readDir(ctx context.Context, name string) ([]fs.DirEntry, error) {
	hc := interp.HandlerCtx(ctx)
	return s.fs.ReadDir(join(hc.Dir, name))
}

// access is the interpreter's AccessHandler: the lab runs as root, who may
// read and write anything and execute what has an execute bit.
func (s *session) access(ctx context.Context, name string, mode interp.AccessMode) error {
	hc := interp.HandlerCtx(ctx)
	p := join(hc.Dir, name)
	if isDevice(Clean("/", p)) {
		return nil
	}
	info, err := s.fs.Stat(p)
	if err != nil {
		return err
	}
	if mode&interp.AccessExec != 0 && !info.IsDir() && info.Mode().Perm()&0o111 == 0 {
		return &fs.PathError{Op: "access", Path: p, Err: syscall.EACCES}
	}
	return nil
}

// exec is the interpreter's ExecHandler: every program is simulated.
func (s *session) exec(ctx context.Context, args []string) error {
	hc := interp.HandlerCtx(ctx)
	c := &Call{
		Ctx:     ctx,
		Machine: s.m,
		Args:    args,
		Stdin:   hc.Stdin,
		Stdout:  hc.Stdout,
		Stderr:  hc.Stderr,
		Dir:     hc.Dir,
		Env: func(name string) string {
			if vr := hc.Env.Get(name); vr.Exported {
				return vr.String()
			}
			return ""
		},
		Environ: func() []string { return exported(hc.Env) },
		umask:   s.umask,
	}
	if c.Stdin == nil {
		c.Stdin = strings.NewReader("")
	}
	var code int
	switch args[0] {
	case internalType:
		code = s.typeBuiltin(c, hc)
	case internalCommand:
		code = s.commandV(c, hc)
	case internalPwd:
		code = s.pwd(c, hc)
	case internalKill:
		code = killBuiltin(c)
	case internalUmask:
		code = umaskBuiltin(c)
	case internalDetach:
		detach(c, args[1:], nil)
	default:
		code = Exec(c)
	}
	if code == 0 {
		return nil
	}
	return interp.ExitStatus(uint8(code))
}
