// Package transport defines how runbook reaches a host: one narrow interface,
// context first, used alike by the engine, the step kinds and the tests. The
// ssh subpackage implements it over OpenSSH-compatible servers (real hosts and
// the lab); the local implementation in this package runs on the controller.
package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// ErrUnreachable marks an error that cut the host off: the connection could
// not be made, or it dropped while a command ran. The engine records such a
// step as unreachable, never as ok. Test with errors.Is.
var ErrUnreachable = errors.New("unreachable")

// ErrSessionRefused marks an error where the host, still connected, would
// not open one more session (sshd's MaxSessions, say): nothing ran, and the
// same call may succeed once another session of the connection has ended.
// Test with errors.Is.
var ErrSessionRefused = errors.New("the server refused a new session")

// Unreachable wraps err so that errors.Is(err, ErrUnreachable) holds.
func Unreachable(host string, err error) error {
	return &unreachableError{host: host, err: err}
}

type unreachableError struct {
	host string
	err  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("%s: unreachable: %v", e.host, e.err)
}
func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

// Command is one command to run on a host. Exactly one of Shell and Argv is set.
type Command struct {
	// Shell is a script run by /bin/sh -c on the host.
	Shell string
	// Argv runs a program without a shell; each argument is quoted for the
	// remote side so that it arrives as written.
	Argv []string
	// Env is exported to the command (after become, so sudo does not strip
	// it). Its values never appear in a command line on the host: they
	// travel on the command's standard input, or the driver's.
	Env map[string]string
	// Stdin, when set, is copied to the command's standard input.
	Stdin io.Reader
	// Become runs the command through sudo as BecomeUser (root when empty).
	Become     bool
	BecomeUser string
	// Sensitive says the command text holds a secret: the implementation must
	// keep it out of every process list (e.g. send the script on stdin to
	// `sh -s` rather than in the exec request). Stdin must then be nil.
	Sensitive bool
	// Inline marks Shell as runbook's own short script (taking the host's
	// lock and gathering its facts, releasing the lock), which a driver
	// may evaluate in the subshell it runs every command in, as it is,
	// rather than start /bin/sh -c for it: one shell start less on the host
	// each time. A step's script is never Inline: it gets a shell of its
	// own, as /bin/sh -c runs it. Without a driver, or with Become or Env,
	// it is run as any Shell command.
	Inline bool
	// Timeout bounds the command; zero means only ctx bounds it. When it
	// expires the remote process is signalled and Run returns an error
	// wrapping context.DeadlineExceeded.
	Timeout time.Duration
	// Stdout and Stderr receive the output as it streams; nil discards it.
	Stdout io.Writer
	Stderr io.Writer
}

// Result is what a command that ran to its end left behind.
type Result struct {
	ExitCode int
	Duration time.Duration
}

// Facts are what runbook learns about a host when it connects.
type Facts struct {
	Hostname   string `json:"hostname"`
	OSID       string `json:"os_id"`
	OSVersion  string `json:"os_version_id"`
	OSCodename string `json:"os_codename"`
	Kernel     string `json:"kernel"`
	Arch       string `json:"arch"`
	BootID     string `json:"boot_id"`
}

// FileInfo is what Stat reports about a remote file.
type FileInfo struct {
	Size  int64
	Mode  fs.FileMode
	IsDir bool
}

// Transport reaches one host. Implementations are safe for concurrent use by
// several goroutines (run_once and delegate_to may share a host).
type Transport interface {
	// Run runs cmd and waits for it. A non-zero exit status is not an error:
	// it is Result.ExitCode. An error means the command could not run to its
	// end: ErrUnreachable when the connection failed or dropped, the context's
	// error (wrapped) when ctx ended or cmd.Timeout expired, in which case the
	// remote process has been signalled.
	Run(ctx context.Context, cmd Command) (Result, error)
	// Upload writes r to path on the host with mode, as the login user,
	// replacing any file there.
	Upload(ctx context.Context, path string, r io.Reader, mode fs.FileMode) error
	// Download copies the file at path on the host to w.
	Download(ctx context.Context, path string, w io.Writer) error
	// Stat reports the file at path; errors.Is(err, fs.ErrNotExist) when absent.
	Stat(ctx context.Context, path string) (FileInfo, error)
	// Facts gathers the host's facts afresh (hostname, os-release, kernel,
	// arch, boot id).
	Facts(ctx context.Context) (Facts, error)
	// Close releases the connection. The Transport must not be used after.
	Close() error
}
