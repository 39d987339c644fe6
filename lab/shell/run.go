package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Option adjusts one Run.
type Option func(*runConfig)

type runConfig struct {
	dir    string
	env    map[string]string
	name   string
	params []string
	flags  []string
	// fullEnv replaces the environment (defaults and Machine.Env included).
	fullEnv bool
	// umask, when set, is the mask inherited from the calling shell.
	umask *shellUmask
}

// WithDir sets the working directory (a node path; "/root" by default).
func WithDir(dir string) Option { return func(c *runConfig) { c.dir = dir } }

// WithEnv adds variables to the environment, over Machine.Env.
func WithEnv(env map[string]string) Option { return func(c *runConfig) { c.env = env } }

// WithName sets $0 and the name used in error messages ("bash" by default).
func WithName(name string) Option { return func(c *runConfig) { c.name = name } }

// WithParams sets the positional parameters $1, $2, ...
func WithParams(params ...string) Option { return func(c *runConfig) { c.params = params } }

// Run runs script on machine m as root and returns its exit status. Every
// file the script touches and every program it runs stays inside the node:
// files through m's os.Root (see FS), programs from m.Programs and this
// package's utilities; nothing runs on the controller. A syntax error exits 2;
// a cancelled ctx stops the script and exits 130.
func Run(ctx context.Context, m *Machine, script string, stdin io.Reader, stdout, stderr io.Writer, opts ...Option) int {
	cfg := runConfig{name: "bash"}
	for _, o := range opts {
		o(&cfg)
	}
	stdout, stderr = orDiscard(stdout), orDiscard(stderr)
	// sh scripts are parsed as bash too: mvdan.cc/sh's POSIX mode has no
	// export, readonly or local, which dash scripts use all the time.
	file, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(script), cfg.name)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cfg.name, err)
		return 2
	}
	return runFile(ctx, m, file, stdin, stdout, stderr, cfg)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func runFile(ctx context.Context, m *Machine, file *syntax.File, stdin io.Reader, stdout, stderr io.Writer, cfg runConfig) int {
	if m == nil || m.Root == nil {
		fmt.Fprintf(stderr, "%s: lab node has no file tree\n", cfg.name)
		return 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	in, closeIn, err := stdinFile(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "%s: stdin: %v\n", cfg.name, err)
		return 1
	}
	defer closeIn()
	// A cancelled command must not stay blocked reading its input.
	go func() {
		<-ctx.Done()
		closeIn()
	}()
	// Background jobs and pipelines write concurrently.
	stdout, stderr = lockWriter(stdout), lockWriter(stderr)

	aliasFDs(file)
	detachBackground(file)
	quoteEscapes(file)
	s := &session{m: m, fs: m.FS(), funcs: declaredFuncs(file), umask: newShellUmask()}
	if cfg.umask != nil {
		s.umask.set(cfg.umask.get()) // a copy: the child's umask stays its own
	}
	env := newNodeEnv(s.fs, defaultEnv, m.Env, cfg.env)
	if cfg.fullEnv {
		env = newNodeEnv(s.fs, cfg.env)
	}
	runOpts := []interp.RunnerOption{
		interp.Env(env),
		interp.StdIO(in, stdout, stderr),
		interp.CallHandler(s.call),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return s.exec }),
		interp.OpenHandler(s.open),
		interp.StatHandler(s.stat),
		interp.ReadDirHandler2(s.readDir),
		interp.AccessHandler(s.access),
	}
	runOpts = append(runOpts, cfg.shellFlags()...)
	if cfg.params != nil {
		runOpts = append(runOpts, interp.Params(append([]string{"--"}, cfg.params...)...))
	}
	r, err := interp.New(runOpts...)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cfg.name, err)
		return 1
	}
	r.Dir = startDir(s.fs, cfg.dir, env.vars["HOME"])
	env.resetTmp = true
	r.Reset()
	env.resetTmp = false

	err = r.Run(ctx, file)
	return exitCode(ctx, err, cfg.name, stderr)
}

// exitCode maps the interpreter's result to an exit status.
func exitCode(ctx context.Context, err error, name string, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var st interp.ExitStatus
	if errors.As(err, &st) {
		return int(st)
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 130
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}

// startDir picks the working directory: dir if it is a directory of the
// node, else home, else "/".
func startDir(fsys *FS, dir, home string) string {
	for _, d := range []string{dir, home} {
		if d == "" {
			continue
		}
		d = Clean("/", d)
		if info, err := fsys.Stat(d); err == nil && info.IsDir() {
			return d
		}
	}
	return "/"
}

// stdinFile turns stdin into the *os.File the interpreter wants, with a pipe
// that is closed when the run ends (which also stops the copy).
func stdinFile(stdin io.Reader) (*os.File, func(), error) {
	switch r := stdin.(type) {
	case nil:
		return nil, func() {}, nil
	case *os.File:
		return r, func() {}, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	go func() {
		_, _ = io.Copy(pw, stdin)
		pw.Close()
	}()
	var once sync.Once
	return pr, func() { once.Do(func() { pr.Close() }) }, nil
}

// lockedWriter serialises writes to one stream.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func lockWriter(w io.Writer) io.Writer {
	if lw, ok := w.(*lockedWriter); ok {
		return lw
	}
	if f, ok := w.(*os.File); ok {
		return f
	}
	return &lockedWriter{w: w}
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// declaredFuncs lists the functions a script declares, for type and command -v.
func declaredFuncs(file *syntax.File) map[string]bool {
	funcs := map[string]bool{}
	syntax.Walk(file, func(n syntax.Node) bool {
		if fd, ok := n.(*syntax.FuncDecl); ok && fd.Name != nil {
			funcs[fd.Name.Value] = true
		}
		return true
	})
	return funcs
}
